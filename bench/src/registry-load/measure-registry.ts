import { join } from 'node:path';
import { freePort } from '@switchyard/testing';
import type { LoadMode, ProcessUsage, WindowResult } from '../bench-messages';
import { BenchChild } from '../child-process';
import type { CorePinning } from '../core-pinning';
import type {
  FleetSpec,
  FleetToHarness,
  GcPauses,
  HarnessToFleet,
  HarnessToHost,
  HarnessToProbe,
  HostToHarness,
  LatencySummary,
  LoopDelay,
  ProbeSpec,
  ProbeToHarness,
  RegistryMemory,
} from './registry-messages';

export interface RegistryRunSettings {
  workspaceRoot: string;
  binDir: string;
  pinning: CorePinning;
  /** The registry's environment (REGISTRY_TOKEN, LEASE_TTL_MS, LOG_LEVEL...); GRPC_PORT is added. */
  env: Record<string, string>;
  token: string;
  leaseTtlMs: number;
  heartbeatIntervalMs: number;
  fleet: Omit<FleetSpec, 'target' | 'token'>;
  probe: Omit<ProbeSpec, 'target' | 'token' | 'leaseTtlMs' | 'heartbeatIntervalMs'>;
  /** Heartbeats go on unmeasured this long after registration and before the window. */
  warmupMs: number;
  durationMs: number;
  capacity: { durationMs: number; mode: LoadMode };
  cpuProfileDir?: string;
  onProgress(line: string): void;
}

/** A window of heartbeats, and the registry's CPU time over it. */
export interface HeartbeatWindow {
  result: WindowResult;
  mode: LoadMode;
  registryCpuUs: number;
  /** V8 heap bytes the registry allocated over the window. */
  registryHeapAllocatedBytes: number;
  /** The registry's event-loop delay over the window. */
  registryLoopDelay: LoopDelay;
  /** The registry's GC pauses over the window. */
  registryGc: GcPauses;
  /** The instance fleet's own GC pauses over the window: a heartbeat due during one is sent late. */
  fleetGc: GcPauses;
}

/** Everything measured at one instance count. */
export interface RegistryMeasurement {
  instances: number;
  registerMs: number;
  heartbeatIntervalMs: number;
  memoryBefore: RegistryMemory;
  memoryAfter: RegistryMemory;
  heartbeats: HeartbeatWindow;
  capacity: HeartbeatWindow;
  propagation: LatencySummary;
  expiry: LatencySummary;
}

type Host = BenchChild<HarnessToHost, HostToHarness>;
type Fleet = BenchChild<HarnessToFleet, FleetToHarness>;
type Probe = BenchChild<HarnessToProbe, ProbeToHarness>;

const START_TIMEOUT_MS = 30_000;
const REGISTER_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 10_000;

function ask<T extends 'usage' | 'memory'>(host: Host, type: T): Promise<Extract<HostToHarness, { type: T }>> {
  const reply = host.next(type, 10_000);
  host.send({ type } as HarnessToHost);
  return reply;
}

const cpuOf = (usage: ProcessUsage) => usage.userUs + usage.systemUs;

/** node --cpu-prof flags for one process when profiling. */
function profileFlags(settings: RegistryRunSettings, name: string): string[] {
  if (!settings.cpuProfileDir) return [];
  return ['--cpu-prof', `--cpu-prof-dir=${settings.cpuProfileDir}`, `--cpu-prof-name=registry-${settings.fleet.instances}-${name}.cpuprofile`];
}

/** Runs one window of the fleet's heartbeats, sampling the registry's CPU time at its start and end. */
async function heartbeatWindow(host: Host, fleet: Fleet, durationMs: number, mode?: LoadMode): Promise<HeartbeatWindow> {
  const started = fleet.next('window-start', 10_000);
  const ended = fleet.next('window-end', durationMs + 60_000);
  ended.catch(() => undefined);
  fleet.send({ type: 'window', durationMs, mode });
  await started;
  const before = await ask(host, 'usage');
  const { result, mode: ranUnder, gc: fleetGc } = await ended;
  const after = await ask(host, 'usage');
  return {
    result,
    mode: ranUnder,
    registryCpuUs: cpuOf(after) - cpuOf(before),
    registryHeapAllocatedBytes: after.heapAllocatedBytes - before.heapAllocatedBytes,
    registryLoopDelay: { loopDelayP99Ms: after.loopDelayP99Ms, loopDelayMaxMs: after.loopDelayMaxMs },
    registryGc: after.gc,
    fleetGc,
  };
}

/**
 * One instance count, on a fresh registry: the built app in a host process (pinned with the
 * servers), the fleet of simulated instances and the watch probe in their own processes (pinned
 * with the load generator). Memory is read before and after registering; then, one after the
 * other, the heartbeat window, Watch propagation and expiry (the fleet heartbeating throughout),
 * and a window at the registry's capacity.
 */
export async function measureRegistry(settings: RegistryRunSettings): Promise<RegistryMeasurement> {
  const label = `registry/${settings.fleet.instances.toLocaleString('en-US')} instances`;
  const progress = (what: string) => settings.onProgress(`${label}: ${what}`);
  const children: Array<BenchChild<{ type: string }, { type: string }>> = [];
  const spawn = <In extends { type: string }, Out extends { type: string }>(name: string, script: string, spec: unknown, cpus: string | undefined, nodeFlags: string[], env?: Record<string, string>) => {
    const child = new BenchChild<In, Out>(name, { script: join(settings.binDir, script), spec, env, cpus, nodeFlags });
    children.push(child as unknown as BenchChild<{ type: string }, { type: string }>);
    return child;
  };
  try {
    progress('starting the registry');
    const port = await freePort();
    const host: Host = spawn('registry', 'registry-load/registry-host.js', { main: join(settings.workspaceRoot, 'dist', 'apps', 'registry', 'main.js'), port }, settings.pinning.servers, [
      '--expose-gc',
      ...profileFlags(settings, 'registry'),
    ], { ...settings.env, GRPC_PORT: String(port) });
    await host.next('ready', START_TIMEOUT_MS);
    const target = `127.0.0.1:${port}`;

    const fleet: Fleet = spawn('instance fleet', 'registry-load/instance-fleet.js', { ...settings.fleet, target, token: settings.token } satisfies FleetSpec, settings.pinning.generator, profileFlags(settings, 'fleet'));
    fleet.on('progress', (p) => progress(`${(p.elapsedMs / 1000).toFixed(0)} s, ${p.calls.toLocaleString('en-US')} heartbeats, ${p.errors} errors`));
    await fleet.next('warmed', START_TIMEOUT_MS);
    const memoryBefore = await ask(host, 'memory');
    progress(`registering ${settings.fleet.instances.toLocaleString('en-US')} instances`);
    const registered = fleet.next('registered', REGISTER_TIMEOUT_MS);
    fleet.send({ type: 'register' });
    const { elapsedMs: registerMs, heartbeatIntervalMs } = await registered;
    const memoryAfter = await ask(host, 'memory');

    progress(`opening ${settings.probe.watchers} watchers`);
    const probe: Probe = spawn(
      'watch probe',
      'registry-load/watch-probe.js',
      { ...settings.probe, target, token: settings.token, leaseTtlMs: settings.leaseTtlMs, heartbeatIntervalMs: settings.heartbeatIntervalMs } satisfies ProbeSpec,
      settings.pinning.generator,
      profileFlags(settings, 'probe'),
    );
    await probe.next('ready', START_TIMEOUT_MS);
    if (settings.warmupMs > 0) {
      progress(`heartbeating for ${settings.warmupMs / 1000} s before measuring`);
      await new Promise((resolve) => setTimeout(resolve, settings.warmupMs));
    }

    // One measurement at a time: the fleet and the probe share the load generator's core, so with
    // both measuring, each one's latencies would hold the other's bursts (a Register's UPSERT read
    // on 100 connections at once). The fleet goes on heartbeating, unmeasured, during the probe.
    progress('heartbeats');
    const heartbeats = await heartbeatWindow(host, fleet, settings.durationMs);
    const probed = probe.next('results', settings.durationMs + settings.leaseTtlMs + 4 * settings.heartbeatIntervalMs + 60_000);
    probed.catch(() => undefined);
    progress('Watch propagation and expiry, the fleet still heartbeating');
    probe.send({ type: 'run' });
    const { propagation, expiry } = await probed;

    progress('heartbeats at capacity');
    const capacity = await heartbeatWindow(host, fleet, settings.capacity.durationMs, settings.capacity.mode);
    return { instances: settings.fleet.instances, registerMs, heartbeatIntervalMs, memoryBefore, memoryAfter, heartbeats, capacity, propagation, expiry };
  } finally {
    for (const child of children.reverse()) {
      child.send({ type: 'stop' });
      await child.waitForExit(STOP_TIMEOUT_MS);
    }
  }
}
