#!/bin/sh
# `npm test`: lint, typecheck and unit tests two tasks at a time (CPU-bound, nothing timed), then
# the end-to-end tests one at a time (they start processes and measure failovers, which a task
# beside them would disturb). Both phases always run, and every failed test is listed again at
# the end, where a log's tail shows it.
set -u
node tools/print-failed-tests.js --clear
nx run-many -t lint typecheck test --parallel=2 --outputStyle=stream
checks=$?
nx run-many -t e2e --parallel=1 --outputStyle=stream
e2e=$?
node tools/print-failed-tests.js
[ "$checks" -eq 0 ] && [ "$e2e" -eq 0 ]
