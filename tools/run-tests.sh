#!/bin/sh
# `npm test`: lint, typecheck and unit tests two tasks at a time (CPU-bound, nothing timed); then
# devstack's end-to-end tests, which measure failovers and timings: the files that check only
# behaviour two at a time, every other one alone (libs/devstack/e2e-sharing.js); then the other
# projects' end-to-end tests (the registry's floods and etcd replicas, the bench's smoke run), one
# project at a time. Every phase runs, and every failed test is listed again at the end, where a
# log's tail shows it.
set -u
node tools/print-failed-tests.js --clear
nx run-many -t lint typecheck test --parallel=2 --outputStyle=stream
checks=$?
nx run devstack:e2e --outputStyle=stream
devstack=$?
nx run-many -t e2e --exclude devstack --parallel=1 --outputStyle=stream
rest=$?
node tools/print-failed-tests.js
[ "$checks" -eq 0 ] && [ "$devstack" -eq 0 ] && [ "$rest" -eq 0 ]
