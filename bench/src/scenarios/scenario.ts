import type { ClientSpec, ServerSpec } from '../bench-messages';

/** A bound on a variant's ratio to the baseline of the same run (the targets). */
export interface Target {
  metric: 'throughput' | 'serverCpuPerCall' | 'p99';
  atLeast?: number;
  atMost?: number;
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
}

export interface VariantStack {
  client: ClientSpec;
  /** Environment of the load generator. */
  clientEnv?: Record<string, string>;
  /** Said in the report, e.g. how the channel resolves. */
  notes?: string[];
}

export interface Variant {
  name: string;
  description: string;
  targets?: Target[];
  start(launcher: StackLauncher): Promise<VariantStack>;
}

/** A workload measured on several stacks in one run; the first variant is the baseline. */
export interface Scenario {
  name: string;
  description: string;
  variants: Variant[];
}
