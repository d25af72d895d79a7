import type { LoadMode } from './bench-messages';
import type { MachineInfo } from './machine-info';
import type { VariantMeasurement } from './run-variant';
import type { MeasuredRow, RowColumn, RowScenario, RowScenarioMeasurement, RowTarget } from './scenarios/row-scenario';
import type { RatioMetric, Scenario, Target } from './scenarios/scenario';

export interface TargetVerdict extends Target {
  /** The ratio to the baseline for a ratio metric, the measured value itself for an absolute one. */
  ratio: number;
  met: boolean;
}

export interface VariantResult extends VariantMeasurement {
  /** This variant over the scenario's baseline (the first variant) of the same run; 1 for the baseline. */
  vsBaseline: { throughput: number; serverCpuPerCall: number; clientCpuPerCall: number; p50: number; p99: number };
  targets: TargetVerdict[];
}

export interface ScenarioResult {
  scenario: string;
  description: string;
  baseline: string;
  variants: VariantResult[];
}

export interface BenchReport {
  startedAt: string;
  /** The command that reproduces this report. */
  command: string;
  machine: MachineInfo;
  pinning: string;
  /** `rounds`: each scenario's variants ran that many times in turn; rows are median rounds. */
  load: { mode: LoadMode; warmupSeconds: number; durationSeconds: number; smoke: boolean; rounds: number };
  scenarios: ScenarioResult[];
  /** Scenarios measured against absolute targets, each with its own table (e.g. registry). */
  rowScenarios: RowScenarioResult[];
  /** Scenarios chosen but not run, and why (a tool missing on this machine). */
  leftOut: Array<{ scenario: string; reason: string }>;
}

export interface RowTargetVerdict extends RowTarget {
  /** The row's value the target bounds (NaN when the row lacks it). */
  measured: number;
  met: boolean;
}

export interface RowResult extends Omit<MeasuredRow, 'targets' | 'notes'> {
  notes: string[];
  targets: RowTargetVerdict[];
}

export interface RowScenarioResult {
  scenario: string;
  description: string;
  columns: RowColumn[];
  rows: RowResult[];
  notes: string[];
}

function ratio(value: number, base: number): number {
  return base > 0 ? Math.round((value / base) * 1000) / 1000 : 0;
}

const RATIO_METRICS: readonly string[] = ['throughput', 'serverCpuPerCall', 'p99'] satisfies RatioMetric[];

function isRatioMetric(metric: Target['metric']): metric is RatioMetric {
  return RATIO_METRICS.includes(metric);
}

/** The value a target bounds: a ratio to the baseline, the p50 in ms, or one of the variant's metrics (NaN if absent). */
function targetValue(target: Target, m: VariantMeasurement, vsBaseline: Record<RatioMetric, number>): number {
  if (isRatioMetric(target.metric)) return vsBaseline[target.metric];
  if (target.metric === 'p50Ms') return Math.round(m.p50Us) / 1000;
  return m.metrics[target.metric.slice('metrics.'.length)] ?? Number.NaN;
}

/** Ratios to the scenario's baseline, and each target met or missed. */
export function compareToBaseline(scenario: Scenario, measured: VariantMeasurement[]): ScenarioResult {
  const [base] = measured;
  const variants = measured.map((m, i): VariantResult => {
    const vsBaseline = {
      throughput: ratio(m.throughput, base.throughput),
      serverCpuPerCall: ratio(m.serverCpuUsPerCall, base.serverCpuUsPerCall),
      clientCpuPerCall: ratio(m.clientCpuUsPerCall, base.clientCpuUsPerCall),
      p50: ratio(m.p50Us, base.p50Us),
      p99: ratio(m.p99Us, base.p99Us),
    };
    const targets = (scenario.variants[i].targets ?? []).map((target): TargetVerdict => {
      const value = targetValue(target, m, vsBaseline);
      const met = (target.atLeast === undefined || value >= target.atLeast) && (target.atMost === undefined || value <= target.atMost);
      return { ...target, ratio: value, met };
    });
    return { ...m, vsBaseline, targets };
  });
  return { scenario: scenario.name, description: scenario.description, baseline: base.variant, variants };
}

/** Each row's targets met or missed. */
export function judgeRows(scenario: RowScenario, measured: RowScenarioMeasurement): RowScenarioResult {
  const rows = measured.rows.map((row): RowResult => ({
    ...row,
    notes: row.notes ?? [],
    targets: row.targets.map((target): RowTargetVerdict => {
      const value = row.values[target.value] ?? Number.NaN;
      const met = (target.atLeast === undefined || value >= target.atLeast) && (target.atMost === undefined || value <= target.atMost);
      return { ...target, measured: value, met };
    }),
  }));
  return { scenario: scenario.name, description: scenario.description, columns: measured.columns, rows, notes: measured.notes };
}

const ms = (us: number) => (us / 1000).toFixed(us < 10_000 ? 2 : 1);
const count = (n: number) => Math.round(n).toLocaleString('en-US');
const times = (r: number) => `${r.toFixed(2)}x`;
const METRIC_LABEL: Record<RatioMetric, string> = { throughput: 'calls/s', serverCpuPerCall: 'CPU/call', p99: 'p99' };

function describeTarget(t: TargetVerdict): string {
  const bound = t.atLeast !== undefined ? `>= ${t.atLeast}` : `<= ${t.atMost}`;
  const measured = isRatioMetric(t.metric)
    ? `${METRIC_LABEL[t.metric]} ${times(t.ratio)}`
    : t.metric === 'p50Ms'
      ? `p50 ${t.ratio.toFixed(2)} ms`
      : `${t.metric.slice('metrics.'.length)} ${count(t.ratio)}`;
  return `${measured} (${bound}) ${t.met ? 'met' : '**missed**'}`;
}

function describeLoad(v: VariantResult, report: BenchReport): string[] {
  return JSON.stringify(v.mode) === JSON.stringify(report.load.mode) ? [] : [`load: ${describeMode(v.mode)}`];
}

function describeMetrics(v: VariantResult): string[] {
  const entries = Object.entries(v.metrics);
  return entries.length === 0 ? [] : [entries.map(([name, value]) => `${name} ${count(value)}`).join(', ')];
}

function describeMode(mode: LoadMode): string {
  return mode.kind === 'closed' ? `closed loop, ${mode.concurrency} concurrent caller${mode.concurrency === 1 ? '' : 's'}` : `open loop, ${count(mode.ratePerSecond)} calls/s due (latency from due time)`;
}

function formatValue(value: number | undefined, column: RowColumn | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '';
  const digits = column?.digits ?? 0;
  return digits === 0 ? count(value) : value.toFixed(digits);
}

function describeRowTarget(t: RowTargetVerdict, columns: RowColumn[]): string {
  const column = columns.find((c) => c.key === t.value);
  const bound = t.atLeast !== undefined ? `>= ${count(t.atLeast)}` : `<= ${count(t.atMost!)}`;
  return `${column?.label ?? t.value} ${formatValue(t.measured, column)} (${bound}) ${t.met ? 'met' : '**missed**'}`;
}

/** A row scenario's own table, then a note on each row and on the method. */
function renderRowScenario(s: RowScenarioResult): string[] {
  const lines = [
    '',
    `| scenario | measurement | ${s.columns.map((c) => c.label).join(' | ')} | targets |`,
    `|---|---|${s.columns.map(() => '--:|').join('')}---|`,
  ];
  for (const row of s.rows) {
    const cells = s.columns.map((c) => formatValue(row.values[c.key], c));
    lines.push(`| ${s.scenario} | ${row.name} | ${cells.join(' | ')} | ${row.targets.map((t) => describeRowTarget(t, s.columns)).join('; ')} |`);
  }
  lines.push('');
  for (const row of s.rows) lines.push(`- ${s.scenario}/${row.name}: ${[row.description, ...row.notes].join('; ')}.`);
  for (const note of s.notes) lines.push(`- ${s.scenario}: ${note}.`);
  return lines;
}

/** The report as Markdown: one header line on the machine and load, one table, notes on each variant; then each row scenario's table. */
export function renderMarkdown(report: BenchReport): string {
  const m = report.machine;
  const header = [
    `Machine: ${m.cpus} x ${m.model}, ${m.totalMemoryMb} MB, ${m.platform}, Node ${m.node}, commit ${m.gitCommit.slice(0, 12)}${m.gitCommit.endsWith('-dirty') ? '-dirty' : ''}`,
    `Load: ${describeMode(report.load.mode)}, ${report.load.durationSeconds} s measured after ${report.load.warmupSeconds} s warm-up${report.load.rounds > 1 ? `, ${report.load.rounds} rounds (median round per variant)` : ''}${report.load.smoke ? ' (smoke run: numbers mean nothing)' : ''}; ${report.pinning}`,
    `Command: \`${report.command}\``,
  ];
  const rowTables = [...report.rowScenarios.flatMap(renderRowScenario), ...report.leftOut.map((l) => `- ${l.scenario}: left out, ${l.reason}.`)];
  if (report.scenarios.length === 0) return `${[...header, ...rowTables].join('\n')}\n`;
  const lines = [
    ...header,
    '',
    '| scenario | variant | calls | errors | calls/s | p50 ms | p90 ms | p99 ms | p99.9 ms | server CPU us/call | server heap KB/call | client CPU us/call | client heap KB/call | server RSS MB | vs baseline: calls/s | CPU/call | p99 | targets |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const s of report.scenarios) {
    for (const v of s.variants) {
      const r = v.vsBaseline;
      lines.push(
        `| ${s.scenario} | ${v.variant} | ${count(v.calls)} | ${count(v.errors)} | ${count(v.throughput)} | ${ms(v.p50Us)} | ${ms(v.p90Us)} | ${ms(v.p99Us)} | ${ms(v.p999Us)} | ` +
          `${v.serverCpuUsPerCall.toFixed(0)} | ${(v.serverHeapBytesPerCall / 1024).toFixed(1)} | ${v.clientCpuUsPerCall.toFixed(0)} | ${v.clientHeapBytesPerCall === undefined ? '-' : (v.clientHeapBytesPerCall / 1024).toFixed(1)} | ${v.serverRssMb.toFixed(0)} | ${times(r.throughput)} | ${times(r.serverCpuPerCall)} | ${times(r.p99)} | ` +
          `${v.targets.map(describeTarget).join('; ') || (v.variant === s.baseline ? 'baseline' : '')} |`,
      );
    }
  }
  lines.push('');
  for (const s of report.scenarios) {
    for (const v of s.variants) lines.push(`- ${s.scenario}/${v.variant}: ${[v.description, ...v.notes, ...describeLoad(v, report), ...describeMetrics(v)].join('; ')}.`);
  }
  lines.push(
    "- server CPU us/call: CPU time (user + system) of all the variant's server processes over the window, per call; server heap KB/call: what those processes allocated on the V8 heap over the window, per call " +
      '(the heap now, plus what each garbage collection freed), which moves far less with the machine than CPU time; client heap KB/call: the same for the load generator (not measured for h2load); server RSS: the process answering the calls.',
  );
  lines.push(...rowTables);
  return `${lines.join('\n')}\n`;
}
