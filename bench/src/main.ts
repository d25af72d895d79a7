// The benchmark harness: `node dist/bench/main.js --help`. Runs each scenario's variants one after
// another (baseline first), each stack in its own server processes and the load in its own
// process, and prints a Markdown table (stdout) and optionally the same as JSON.
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { compareToBaseline, judgeRows, renderMarkdown, type BenchReport } from './bench-report';
import { parseBenchOptions, USAGE, UsageError } from './bench-options';
import { medianRound } from './median-round';
import { planCorePinning } from './core-pinning';
import { machineInfo } from './machine-info';
import { ProgressLine } from './progress-line';
import { runVariant } from './run-variant';
import type { Scenario } from './scenarios/scenario';
import { appsOrderScenario, appsUserScenario } from './scenarios/apps-scenario';
import { clientScenario } from './scenarios/client-scenario';
import { eventsPostgresScenario, eventsSqliteScenario } from './scenarios/events-scenario';
import { fanoutScenario } from './scenarios/fanout-scenario';
import { httpScenario } from './scenarios/http-scenario';
import { peersScenario } from './scenarios/peers-scenario';
import { registryScenario } from './scenarios/registry-scenario';
import { serverScenario } from './scenarios/server-scenario';
import type { RowScenario } from './scenarios/row-scenario';
import { tracingScenario } from './scenarios/tracing-scenario';
import { unaryScenario } from './scenarios/unary-scenario';

const SCENARIOS: readonly Scenario[] = [
  unaryScenario,
  clientScenario,
  fanoutScenario,
  httpScenario,
  tracingScenario,
  peersScenario,
  appsUserScenario,
  appsOrderScenario,
  eventsSqliteScenario,
  eventsPostgresScenario,
  serverScenario,
];

/** Scenarios with absolute targets and tables of their own; they run after the others. */
const ROW_SCENARIOS: readonly RowScenario[] = [registryScenario];

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const options = parseBenchOptions(
    argv,
    [...SCENARIOS, ...ROW_SCENARIOS].map((s) => s.name),
  );
  // dist/bench/main.js: the workspace root is two levels up.
  const binDir = __dirname;
  const workspaceRoot = resolve(binDir, '..', '..');
  const pinning = planCorePinning();
  if (options.cpuProfileDir) mkdirSync(options.cpuProfileDir, { recursive: true });
  const progress = new ProgressLine(process.stderr);
  const report: BenchReport = {
    startedAt: new Date().toISOString(),
    command: `npm run bench -- ${argv.join(' ')}`.trim(),
    machine: machineInfo(workspaceRoot),
    pinning: pinning.description,
    load: { mode: options.mode, warmupSeconds: options.warmupMs / 1000, durationSeconds: options.durationMs / 1000, smoke: options.smoke, rounds: options.rounds },
    scenarios: [],
    rowScenarios: [],
    leftOut: [],
  };
  progress.note(`bench: ${pinning.description}`);
  // What every scenario runs with, whatever its kind.
  const settings = {
    workspaceRoot,
    binDir,
    pinning,
    warmupMs: options.warmupMs,
    durationMs: options.durationMs,
    cpuProfileDir: options.cpuProfileDir && resolve(options.cpuProfileDir),
    onProgress: (line: string) => progress.update(line),
  };
  for (const chosen of SCENARIOS.filter((s) => options.scenarios.includes(s.name))) {
    const missing = chosen.unavailable?.();
    if (missing) {
      progress.note(`bench: ${chosen.name} left out: ${missing}`);
      report.leftOut.push({ scenario: chosen.name, reason: missing });
      continue;
    }
    const scenario = options.smoke ? { ...chosen, variants: chosen.variants.filter((variant) => variant.inSmoke !== false) } : chosen;
    // A scenario whose every row needs an outside service (events-postgres) has none in a smoke run.
    if (scenario.variants.length === 0) continue;
    const rounds = [];
    for (let round = 0; round < options.rounds; round += 1) {
      const measured = [];
      for (const variant of scenario.variants) measured.push(await runVariant(scenario, variant, { ...settings, mode: options.mode }));
      rounds.push(compareToBaseline(scenario, measured));
    }
    report.scenarios.push(medianRound(rounds));
  }
  for (const scenario of ROW_SCENARIOS.filter((s) => options.scenarios.includes(s.name))) {
    const measured = await scenario.run({ ...settings, smoke: options.smoke });
    report.rowScenarios.push(judgeRows(scenario, measured));
  }
  progress.clear();
  process.stdout.write(renderMarkdown(report));
  if (options.jsonPath) writeFileSync(options.jsonPath, `${JSON.stringify(report, null, 2)}\n`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`\n${error instanceof UsageError ? `${error.message}\n${USAGE}` : `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
