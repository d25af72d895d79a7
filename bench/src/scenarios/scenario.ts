import type { ClientSpec, LoadMode, ServerSpec, SpanReport, WindowResult } from '../bench-messages';

/** Targets on a variant's ratio to the baseline of the same run. */
export type RatioMetric = 'throughput' | 'serverCpuPerCall' | 'p99';
/** Targets on a measured value itself: the p50 in ms, or one of the variant's own `metrics`. */
export type AbsoluteMetric = 'p50Ms' | `metrics.${string}`;

/** A bound on a variant's ratio to the baseline, or on an absolute value. */
export interface Target {
  metric: RatioMetric | AbsoluteMetric;
  atLeast?: number;
  atMost?: number;
}

/** What a variant reports after its stack has stopped (e.g. spans counted at a receiver). */
export interface AfterStopReport {
  /** Added to the variant's `metrics`; targets name them `metrics.<name>`. */
  metrics?: Record<string, number>;
  notes?: string[];
}

/** What a variant uses to bring its stack up; the harness stops all of it afterwards. */
export interface StackLauncher {
  workspaceRoot: string;
  /**
   * Starts a server child (pinned to the server CPUs) and waits for it to listen. `answersCalls`
   * marks the process the calls land on: its RSS is the one in the table.
   */
  startServer(name: string, spec: ServerSpec, options: { env?: Record<string, string>; answersCalls?: boolean }): Promise<{ port: number }>;
  freePort(): Promise<number>;
  /**
   * Runs `hook` after the load generator and every server of the variant have stopped (and so
   * flushed), also when the variant failed: for cleanup, and for measurements taken at the end.
   * `window` is the measured window, undefined when the variant failed before it ended; `spans`
   * what each process that exports spans counted of its own (servers and load generator).
   */
  afterStop(hook: (window: WindowResult | undefined, spans: SpanReport[]) => Promise<AfterStopReport | void>): void;
  /**
   * Runs `hooks.start` as the measured window starts, and `hooks.end` once it has ended and every
   * server's CPU time has been sampled, while the stack is still up: for what the stack itself
   * counts (e.g. an app's Prometheus metrics). What `end` reports joins the variant's metrics.
   */
  duringWindow(hooks: WindowHooks): void;
}

export interface WindowHooks {
  start(): Promise<void>;
  end(window: WindowResult): Promise<AfterStopReport | void>;
}

export interface VariantStack {
  client: ClientSpec;
  /** Environment of the load generator. */
  clientEnv?: Record<string, string>;
  /** Said in the report, e.g. how the channel resolves. */
  notes?: string[];
  /** This variant's load instead of the command line's, e.g. a light load for a latency target. */
  mode?: LoadMode;
}

export interface Variant {
  name: string;
  description: string;
  targets?: Target[];
  /** False: left out of `--smoke` runs (a row that adds no harness path of its own, or needs an outside service). */
  inSmoke?: boolean;
  start(launcher: StackLauncher): Promise<VariantStack>;
}

/** A workload measured on several stacks in one run; the first variant is the baseline. */
export interface Scenario {
  name: string;
  description: string;
  variants: Variant[];
  /** Why the scenario cannot run on this machine (a tool it needs is missing); it throws instead where the tool is required. */
  unavailable?(): string | undefined;
}
