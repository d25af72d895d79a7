import type { CorePinning } from '../core-pinning';

/** What the harness hands a row scenario. */
export interface RowScenarioSettings {
  workspaceRoot: string;
  /** Where the built scripts are (dist/bench). */
  binDir: string;
  pinning: CorePinning;
  warmupMs: number;
  durationMs: number;
  smoke: boolean;
  /** The processes under test run with --cpu-prof into this directory when set. */
  cpuProfileDir?: string;
  onProgress(line: string): void;
}

/** A bound on one of a row's values, e.g. `{ value: 'p99Ms', atMost: 20 }`. */
export interface RowTarget {
  value: string;
  atLeast?: number;
  atMost?: number;
}

/** One measured line of a row scenario's table. */
export interface MeasuredRow {
  name: string;
  description: string;
  /** Keyed by the scenario's column keys; a row may leave columns empty. */
  values: Record<string, number>;
  targets: RowTarget[];
  notes?: string[];
}

/** A column of the table: the key of a row value, its heading, and the decimals it is shown with. */
export interface RowColumn {
  key: string;
  label: string;
  digits?: number;
}

export interface RowScenarioMeasurement {
  columns: RowColumn[];
  rows: MeasuredRow[];
  /** Said once under the table: how it was measured. */
  notes: string[];
}

/**
 * A scenario measured against absolute targets rather than as variants over a baseline: it runs
 * its own processes and returns its own rows (e.g. `registry`: heartbeats/s, Watch propagation,
 * memory per instance, expiry). The report judges each row's targets and prints the rows as a
 * table of their own.
 */
export interface RowScenario {
  name: string;
  description: string;
  run(settings: RowScenarioSettings): Promise<RowScenarioMeasurement>;
}
