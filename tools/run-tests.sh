#!/bin/sh
# `npm test`, scheduled so that what measures time runs alone and the rest shares the two cores:
# 1. lint and typecheck of the whole workspace at once, then the unit and integration tests, two
#    projects at a time (each project's PostgreSQL tests work in schemas of their own);
# 2. the registry's end-to-end tests (floods, etcd replicas losing their quorum), alone;
# 3. devstack's timing-sensitive end-to-end files (chaos, failovers, npm start on its fixed ports,
#    breaker and rate-limit timing, the dashboard's 1 s budget), one at a time;
# 4. devstack's files that check behaviour only (libs/devstack/e2e-sharing.js), two at a time,
#    beside the bench's smoke run, which measures nothing.
# Every phase runs, each says how long it took, and every failed test is listed again at the end,
# where a log's tail shows it.
set -u
started=$(date +%s)
phase_started=$started
phase_times=""
phase_done() {
  now=$(date +%s)
  phase_times="${phase_times}  $1: $((now - phase_started)) s
"
  echo "== npm test: $1 took $((now - phase_started)) s"
  phase_started=$now
}

node tools/print-failed-tests.js --clear
# The protos (generated code, buf lint), then one TypeScript program and one ESLint run over every
# project, side by side (tsconfig.workspace.json): the projects' own typecheck and lint targets
# check the same files, but each would load the shared libraries again.
nx run-many -t generate lint -p proto --outputStyle=stream
protos=$?
tsc --noEmit -p tsconfig.workspace.json &
typecheck_pid=$!
eslint apps/*/src libs/*/src bench/src
lint=$?
wait "$typecheck_pid"
typecheck=$?
[ "$protos" -eq 0 ] && [ "$lint" -eq 0 ] && [ "$typecheck" -eq 0 ]
checks=$?
phase_done "lint and typecheck"
nx run-many -t test --parallel=2 --outputStyle=stream
unit=$?
phase_done "unit and integration tests"
# Every build once, so the phases that run side by side need no task of their own first.
nx run-many -t build --outputStyle=stream
built=$?
phase_done "build"
nx run registry:e2e --outputStyle=stream
registry=$?
phase_done "registry e2e"
nx run devstack:e2e-alone --outputStyle=stream
alone=$?
phase_done "devstack e2e, one file at a time"
nx run-many -t e2e -p bench --excludeTaskDependencies --outputStyle=stream &
bench_pid=$!
nx run-many -t e2e-shared -p devstack --excludeTaskDependencies --outputStyle=stream
shared=$?
wait "$bench_pid"
bench=$?
phase_done "devstack e2e two at a time, beside the bench smoke"
node tools/print-failed-tests.js
printf '== npm test phases:\n%s  total: %s s\n' "$phase_times" "$(($(date +%s) - started))"
[ "$checks" -eq 0 ] && [ "$unit" -eq 0 ] && [ "$built" -eq 0 ] && [ "$registry" -eq 0 ] && [ "$alone" -eq 0 ] && [ "$shared" -eq 0 ] && [ "$bench" -eq 0 ]
