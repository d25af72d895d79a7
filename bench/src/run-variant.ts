import { join } from 'node:path';
import { freePort } from '@switchyard/testing';
import type { GeneratorToHarness, HarnessToServer, LoadMode, ProcessUsage, ServerToHarness, SpanReport, WindowResult } from './bench-messages';
import { BenchChild } from './child-process';
import type { CorePinning } from './core-pinning';
import type { AfterStopReport, Scenario, StackLauncher, Variant, WindowHooks } from './scenarios/scenario';
import { fixtureUserIds } from './user-fixture';

export interface RunSettings {
  workspaceRoot: string;
  /** Where the built scripts are (dist/bench). */
  binDir: string;
  pinning: CorePinning;
  mode: LoadMode;
  warmupMs: number;
  durationMs: number;
  /** Servers run with --cpu-prof into this directory when set. */
  cpuProfileDir?: string;
  onProgress(line: string): void;
}

export interface ProcessMeasurement {
  name: string;
  pid: number | undefined;
  answersCalls: boolean;
  /** CPU time (user + system) over the measured window, microseconds. */
  cpuUs: number;
  /** V8 heap bytes allocated over the measured window. */
  heapAllocatedBytes: number;
  rssMb: number;
}

/** One variant's measured window. */
export interface VariantMeasurement extends Omit<WindowResult, 'clientCpuUs' | 'clientHeapAllocatedBytes'> {
  scenario: string;
  variant: string;
  description: string;
  notes: string[];
  throughput: number;
  /** CPU of every server process of the variant over the window, per call answered. */
  serverCpuUsPerCall: number;
  /** V8 heap bytes every server process of the variant allocated over the window, per call answered: what its young-generation collections work through. */
  serverHeapBytesPerCall: number;
  /** CPU of the load generator (the client stack) per call. */
  clientCpuUsPerCall: number;
  /** V8 heap bytes the load generator allocated per call; absent for h2load. */
  clientHeapBytesPerCall?: number;
  /** RSS of the process the calls land on, at the end of the window. */
  serverRssMb: number;
  processes: ProcessMeasurement[];
  /** The load this variant ran under (the command line's unless the variant sets its own). */
  mode: LoadMode;
  /** The variant's own measurements (AfterStopReport.metrics), e.g. spans dropped. */
  metrics: Record<string, number>;
}

type ServerChild = BenchChild<HarnessToServer, ServerToHarness>;
type GeneratorChild = BenchChild<never, GeneratorToHarness>;

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

function sampleUsage(server: ServerChild): Promise<ProcessUsage> {
  const reply = server.next('usage', 5000);
  server.send({ type: 'usage' });
  return reply;
}

/** node --cpu-prof flags when profiling, one `<scenario>-<variant>-<process>.cpuprofile` per process. */
function profileFlags(settings: RunSettings, name: string): string[] {
  if (!settings.cpuProfileDir) return [];
  return ['--cpu-prof', `--cpu-prof-dir=${settings.cpuProfileDir}`, `--cpu-prof-name=${name.replace(/[^\w-]+/g, '-')}.cpuprofile`];
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Brings a variant's stack up, runs the load generator against it, measures, and stops it all. */
export async function runVariant(scenario: Scenario, variant: Variant, settings: RunSettings): Promise<VariantMeasurement> {
  const label = `${scenario.name}/${variant.name}`;
  const servers: Array<{ name: string; child: ServerChild; answersCalls: boolean }> = [];
  let generator: GeneratorChild | undefined;
  const afterStopHooks: Array<(window: WindowResult | undefined, spans: SpanReport[]) => Promise<AfterStopReport | void>> = [];
  const windowHooks: WindowHooks[] = [];
  let measuredWindow: WindowResult | undefined;
  const spanReports: SpanReport[] = [];
  // A process's `stopped` message carries its span counts, final once it has flushed.
  const keepSpanReport = (stopped: Promise<{ spans?: SpanReport }>) =>
    stopped.then(
      (message) => void (message.spans && spanReports.push(message.spans)),
      () => undefined,
    );
  let generatorStopped: Promise<void> | undefined;
  const launcher: StackLauncher = {
    afterStop: (hook) => afterStopHooks.push(hook),
    duringWindow: (hooks) => windowHooks.push(hooks),
    workspaceRoot: settings.workspaceRoot,
    freePort,
    async startServer(name, spec, options) {
      settings.onProgress(`${label}: starting ${name}`);
      const child: ServerChild = new BenchChild(name, {
        script: join(settings.binDir, 'server-child.js'),
        spec,
        env: options.env,
        cpus: settings.pinning.servers,
        nodeFlags: profileFlags(settings, `${scenario.name}-${variant.name}-${name}`),
      });
      servers.push({ name, child, answersCalls: options.answersCalls ?? false });
      const { port } = await child.next('ready', START_TIMEOUT_MS);
      return { port };
    },
  };
  let measurement: VariantMeasurement;
  let hookFailure: unknown;
  try {
    const stack = await variant.start(launcher);
    const mode = stack.mode ?? settings.mode;
    generator = new BenchChild<never, GeneratorToHarness>('load generator', {
      script: join(settings.binDir, 'load-generator.js'),
      spec: { client: stack.client, mode, warmupMs: settings.warmupMs, durationMs: settings.durationMs, userIds: fixtureUserIds() },
      env: stack.clientEnv,
      cpus: settings.pinning.generator,
      nodeFlags: profileFlags(settings, `${scenario.name}-${variant.name}-load-generator`),
    });
    const seconds = settings.durationMs / 1000;
    generator.on('progress', (p) =>
      settings.onProgress(
        `${label}: ${(p.elapsedMs / 1000).toFixed(0)}/${seconds} s, ${p.calls.toLocaleString('en-US')} calls, ` +
          `${Math.round(p.calls / (p.elapsedMs / 1000)).toLocaleString('en-US')}/s, ${p.errors} errors`,
      ),
    );
    const windowStarted = generator.next('window-start', START_TIMEOUT_MS + settings.warmupMs + 30_000);
    const windowEnded = generator.next('window-end', START_TIMEOUT_MS + settings.warmupMs + settings.durationMs + 60_000);
    windowEnded.catch(() => undefined);
    generatorStopped = keepSpanReport(generator.next('stopped', START_TIMEOUT_MS + settings.warmupMs + settings.durationMs + 60_000));
    await generator.next('ready', START_TIMEOUT_MS + 5000);
    settings.onProgress(`${label}: warming up for ${settings.warmupMs / 1000} s`);
    await windowStarted;
    const [before] = await Promise.all([Promise.all(servers.map((server) => sampleUsage(server.child))), Promise.all(windowHooks.map((hooks) => hooks.start()))]);
    const { result } = await windowEnded;
    measuredWindow = result;
    const after = await Promise.all(servers.map((server) => sampleUsage(server.child)));

    const processes: ProcessMeasurement[] = servers.map((server, i) => ({
      name: server.name,
      pid: server.child.pid,
      answersCalls: server.answersCalls,
      cpuUs: after[i].userUs + after[i].systemUs - (before[i].userUs + before[i].systemUs),
      heapAllocatedBytes: after[i].heapAllocatedBytes - before[i].heapAllocatedBytes,
      rssMb: round(after[i].rssBytes / 2 ** 20, 1),
    }));
    const calls = Math.max(result.calls, 1);
    const serverCpuUs = processes.reduce((sum, p) => sum + p.cpuUs, 0);
    const { clientCpuUs, clientHeapAllocatedBytes, ...window } = result;
    measurement = {
      scenario: scenario.name,
      variant: variant.name,
      description: variant.description,
      notes: [...(stack.notes ?? [])],
      ...window,
      throughput: round(result.calls / (settings.durationMs / 1000), 1),
      serverCpuUsPerCall: round(serverCpuUs / calls, 1),
      serverHeapBytesPerCall: round(processes.reduce((sum, p) => sum + p.heapAllocatedBytes, 0) / calls, 0),
      clientCpuUsPerCall: round(clientCpuUs / calls, 1),
      ...(clientHeapAllocatedBytes !== undefined ? { clientHeapBytesPerCall: round(clientHeapAllocatedBytes / calls, 0) } : {}),
      serverRssMb: processes.find((p) => p.answersCalls)?.rssMb ?? 0,
      processes,
      mode,
      metrics: {},
    };
    for (const hooks of windowHooks) {
      const report = await hooks.end(result);
      Object.assign(measurement.metrics, report?.metrics);
      measurement.notes.push(...(report?.notes ?? []));
    }
  } finally {
    if (generator) await generator.waitForExit(STOP_TIMEOUT_MS);
    await generatorStopped;
    for (const server of servers.reverse()) {
      const stopped = keepSpanReport(server.child.next('stopped', STOP_TIMEOUT_MS));
      server.child.send({ type: 'stop' });
      await server.child.waitForExit(STOP_TIMEOUT_MS);
      await stopped;
    }
    // Every hook runs (they clean up); the first one's failure fails the variant.
    for (const hook of afterStopHooks.reverse()) {
      try {
        const report = await hook(measuredWindow, spanReports);
        if (report && measuredWindow) {
          Object.assign(measurement!.metrics, report.metrics);
          measurement!.notes.push(...(report.notes ?? []));
        }
      } catch (error) {
        hookFailure ??= error;
      }
    }
  }
  if (hookFailure !== undefined) throw hookFailure;
  return measurement;
}
