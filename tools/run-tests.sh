#!/bin/sh
# `npm test`, scheduled so that what measures time runs alone and the rest shares the two cores:
# 1. lint and typecheck, two tasks at a time (CPU-bound, nothing timed); then the unit and
#    integration tests one project at a time (user's and order's share a PostgreSQL database,
#    and several time failovers);
# 2. the registry's end-to-end tests (floods, etcd replicas losing their quorum), alone;
# 3. devstack's timing-sensitive end-to-end files (chaos, failovers, npm start on its fixed ports,
#    breaker and rate-limit timing, the dashboard's 1 s budget), one at a time;
# 4. devstack's files that check behaviour only (libs/devstack/e2e-sharing.js), two at a time,
#    beside the bench's smoke run, which measures nothing.
# Every phase runs, and every failed test is listed again at the end, where a log's tail shows it.
set -u
node tools/print-failed-tests.js --clear
nx run-many -t lint typecheck --parallel=2 --outputStyle=stream
checks=$?
nx run-many -t test --parallel=1 --outputStyle=stream
unit=$?
# Every build once, so the phases that run side by side need no task of their own first.
nx run-many -t build --outputStyle=stream
built=$?
nx run registry:e2e --outputStyle=stream
registry=$?
nx run devstack:e2e-alone --outputStyle=stream
alone=$?
nx run-many -t e2e -p bench --excludeTaskDependencies --outputStyle=stream &
bench_pid=$!
nx run-many -t e2e-shared -p devstack --excludeTaskDependencies --outputStyle=stream
shared=$?
wait "$bench_pid"
bench=$?
node tools/print-failed-tests.js
[ "$checks" -eq 0 ] && [ "$unit" -eq 0 ] && [ "$built" -eq 0 ] && [ "$registry" -eq 0 ] && [ "$alone" -eq 0 ] && [ "$shared" -eq 0 ] && [ "$bench" -eq 0 ]
