import { parseArgs } from 'node:util';
import type { LoadMode } from './bench-messages';

export interface BenchOptions {
  /** Scenario names to run, in order. */
  scenarios: string[];
  mode: LoadMode;
  durationMs: number;
  warmupMs: number;
  /** Where the JSON report goes, if anywhere. */
  jsonPath: string | undefined;
  smoke: boolean;
  /** Servers and load generator run with --cpu-prof, writing profiles here. */
  cpuProfileDir: string | undefined;
  /** Times each scenario's variants run, in turn; the median round is reported. */
  rounds: number;
}

export class UsageError extends Error {}

export const USAGE = `usage: node dist/bench/main.js [options]
  --scenario <name>     a scenario (unary, client, fanout, http, tracing, peers, apps-user, apps-order,
                        events-sqlite, events-postgres, server, registry),
                        a group (apps: every apps-*; events: every events-*), or all (default)
  --duration <s>        measured seconds per variant (default 6)
  --warmup <s>          unmeasured seconds first (default 20% of --duration, 1 to 3 s)
  --concurrency <n>     closed loop: concurrent callers (default 32)
  --rate <calls/s>      open loop instead: calls due per second, latency from the due time
  --max-in-flight <n>   open loop: outstanding calls at most (default 1000)
  --json <file>         also write the report as JSON
  --rounds <n>          run each scenario's variants n times in turn and report the median round (default 1)
  --smoke               every scenario for about a second: checks the harness, measures nothing
  --cpu-prof <dir>      run servers and load generator with node --cpu-prof, into <dir>`;

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`--${name} expects a positive number, got '${text}'`);
  return value;
}

export function parseBenchOptions(argv: string[], known: readonly string[]): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        scenario: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        concurrency: { type: 'string' },
        rate: { type: 'string' },
        'max-in-flight': { type: 'string' },
        json: { type: 'string' },
        smoke: { type: 'boolean', default: false },
        rounds: { type: 'string' },
        'cpu-prof': { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const scenario = values.scenario ?? 'all';
  const chosen = scenario === 'all' ? [...known] : known.filter((name) => name === scenario || name.startsWith(`${scenario}-`));
  if (chosen.length === 0) throw new UsageError(`unknown scenario '${scenario}'; known: ${known.join(', ')}, all`);
  const smoke = values.smoke ?? false;
  const durationS = smoke ? 1 : positive('duration', values.duration, 6);
  const warmupS = smoke ? 0.3 : values.warmup === '0' ? 0 : positive('warmup', values.warmup, Math.min(3, Math.max(1, durationS * 0.2)));
  const mode: LoadMode =
    values.rate !== undefined
      ? { kind: 'open', ratePerSecond: positive('rate', values.rate, 0), maxInFlight: Math.round(positive('max-in-flight', values['max-in-flight'], 1000)) }
      : { kind: 'closed', concurrency: Math.round(positive('concurrency', values.concurrency, 32)) };
  return Object.freeze({
    // A group's name (`apps`) chooses every scenario named after it (`apps-user`, `apps-order`).
    scenarios: chosen,
    mode,
    durationMs: Math.round(durationS * 1000),
    // Whole milliseconds: 20% of 6 s is 1.2000000000000002 s in floating point.
    warmupMs: Math.round(warmupS * 1000),
    jsonPath: values.json,
    smoke,
    cpuProfileDir: values['cpu-prof'],
    rounds: Math.max(1, Math.round(positive('rounds', values.rounds, 1))),
  });
}
