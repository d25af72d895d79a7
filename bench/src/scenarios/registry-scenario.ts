import { composeNodeOptions } from '@switchyard/testing';
import { measureRegistry, type HeartbeatWindow, type RegistryMeasurement } from '../registry-load/measure-registry';
import type { GcPauses, LatencySummary } from '../registry-load/registry-messages';
import type { MeasuredRow, RowColumn, RowScenario, RowScenarioSettings } from './row-scenario';
import { SWITCHYARD_SERVER_ENV, TRACING_10_PERCENT } from './switchyard-environment';

/** The registry's lease settings: its defaults in a full run, shorter in a smoke run so expiry takes a second. */
const LEASES = {
  full: { LEASE_TTL_MS: 6000, HEARTBEAT_INTERVAL_MS: 2000, EVICTION_SWEEP_MS: 250 },
  smoke: { LEASE_TTL_MS: 1000, HEARTBEAT_INTERVAL_MS: 300, EVICTION_SWEEP_MS: 100 },
};
const INSTANCE_COUNTS = { full: [1000, 10_000], smoke: [200] };
const WATCHERS = { full: 100, smoke: 20 };
const PROPAGATION_ROUNDS = { full: 50, smoke: 5 };
const EXPIRING = { full: 50, smoke: 10 };
const SERVICES = 100;
const CONNECTIONS = 16;
const CAPACITY_IN_FLIGHT = 64;
const TOKEN = 'bench-registry-token';

/** The registry's targets: absolute bounds, not ratios. */
const HEARTBEATS_PER_SECOND_AT_LEAST = 2000;
const HEARTBEAT_P99_MS_AT_MOST = 20;
const PROPAGATION_P99_MS_AT_MOST = 50;
const HEAP_BYTES_PER_INSTANCE_AT_MOST = 2048;

const COLUMNS: RowColumn[] = [
  { key: 'instances', label: 'instances' },
  { key: 'samples', label: 'samples' },
  { key: 'perSecond', label: 'per s' },
  { key: 'errors', label: 'errors / missing' },
  { key: 'p50Ms', label: 'p50 ms', digits: 2 },
  { key: 'p99Ms', label: 'p99 ms', digits: 2 },
  { key: 'maxMs', label: 'max ms', digits: 1 },
  { key: 'cpuUsPerOp', label: 'registry CPU us/heartbeat' },
  { key: 'heapKbPerOp', label: 'registry heap KB/heartbeat', digits: 1 },
  { key: 'heapBytesPerInstance', label: 'heap B/instance' },
  { key: 'rssBytesPerInstance', label: 'RSS B/instance' },
];

const round = (value: number, digits = 0) => Math.round(value * 10 ** digits) / 10 ** digits;
const count = (n: number) => n.toLocaleString('en-US');

function heartbeatValues(m: RegistryMeasurement, window: HeartbeatWindow): Record<string, number> {
  const { result } = window;
  const calls = Math.max(result.calls, 1);
  return {
    instances: m.instances,
    samples: result.calls,
    perSecond: round(result.calls / (result.elapsedMs / 1000)),
    errors: result.errors,
    p50Ms: result.p50Us / 1000,
    p99Ms: result.p99Us / 1000,
    maxMs: result.maxUs / 1000,
    cpuUsPerOp: round(window.registryCpuUs / calls, 1),
    heapKbPerOp: window.registryHeapAllocatedBytes / calls / 1024,
  };
}

const gcNote = (whose: string, gc: GcPauses) =>
  `${whose} GC ${count(gc.gcPauses)} ${gc.gcPauses === 1 ? 'pause' : 'pauses'}, ${count(gc.gcPauseTotalMs)} ms in all, longest ${gc.gcPauseMaxMs} ms` +
  (gc.fullGcPauses > 0 ? ` (${count(gc.fullGcPauses)} full, longest ${gc.fullGcPauseMaxMs} ms)` : ' (none full)');

/** The registry's event-loop delay, both processes' GC pauses, what failed by status, and (open loop) heartbeats due but never sent. */
function windowNotes({ result, registryLoopDelay, registryGc, fleetGc }: HeartbeatWindow): string[] {
  const loop = `registry event-loop delay p99 ${registryLoopDelay.loopDelayP99Ms} ms, max ${registryLoopDelay.loopDelayMaxMs} ms`;
  const gc = `${gcNote('registry', registryGc)}; ${gcNote("the simulated instances' process", fleetGc)}`;
  const failures = Object.entries(result.errorsByStatus).map(([status, n]) => `${count(n)} ${status}`);
  return [loop, gc, ...(failures.length > 0 ? [`errors: ${failures.join(', ')}`] : []), ...(result.behind ? [`${count(result.behind)} heartbeats due but not sent in the window`] : [])];
}

function latencyValues(m: RegistryMeasurement, summary: LatencySummary): Record<string, number> {
  return { instances: m.instances, samples: summary.samples, errors: summary.missing, p50Ms: summary.p50Ms, p99Ms: summary.p99Ms, maxMs: summary.maxMs };
}

function rowsOf(m: RegistryMeasurement, leases: (typeof LEASES)['full'], watchers: number, expiring: number): MeasuredRow[] {
  const n = count(m.instances);
  const offered = (m.instances * 1000) / m.heartbeatIntervalMs;
  const expiryBoundMs = leases.LEASE_TTL_MS + leases.HEARTBEAT_INTERVAL_MS;
  const heapGrowth = m.memoryAfter.heapUsedBytes - m.memoryBefore.heapUsedBytes;
  const rssGrowth = m.memoryAfter.rssBytes - m.memoryBefore.rssBytes;
  return [
    {
      name: `${n} instances: heartbeats every ${m.heartbeatIntervalMs / 1000} s`,
      description:
        `each instance heartbeats once per interval (the one Register answers with), spread evenly: ${count(round(offered))}/s due, latency from the due time; ` +
        'measured before the Watch rounds, not during them',
      values: heartbeatValues(m, m.heartbeats),
      targets: [
        ...(offered >= HEARTBEATS_PER_SECOND_AT_LEAST ? [{ value: 'perSecond', atLeast: HEARTBEATS_PER_SECOND_AT_LEAST }] : []),
        { value: 'p99Ms', atMost: HEARTBEAT_P99_MS_AT_MOST },
      ],
      notes: [`registered in ${(m.registerMs / 1000).toFixed(1)} s`, ...windowNotes(m.heartbeats)],
    },
    {
      name: `${n} instances: heartbeat capacity`,
      description: `closed loop, ${CAPACITY_IN_FLIGHT} heartbeats in flight: how many per second the registry answers at most`,
      values: heartbeatValues(m, m.capacity),
      targets: [{ value: 'perSecond', atLeast: HEARTBEATS_PER_SECOND_AT_LEAST }],
      notes: windowNotes(m.capacity),
    },
    {
      name: `${n} instances: Watch propagation`,
      description: `Register sent -> UPSERT at each of ${watchers} watchers (own connections), one instance at a time, while the fleet heartbeats (unmeasured)`,
      values: latencyValues(m, m.propagation),
      targets: [{ value: 'p99Ms', atMost: PROPAGATION_P99_MS_AT_MOST }],
    },
    {
      name: `${n} instances: expiry`,
      description:
        `${expiring} instances heartbeat and then stop: last heartbeat sent -> REMOVE at the last of the ${watchers} watchers; ` +
        `bound TTL ${leases.LEASE_TTL_MS} ms + one interval ${leases.HEARTBEAT_INTERVAL_MS} ms (sweep every ${leases.EVICTION_SWEEP_MS} ms)`,
      values: latencyValues(m, m.expiry),
      targets: [{ value: 'maxMs', atMost: expiryBoundMs }],
    },
    {
      name: `${n} instances: memory per instance`,
      description: 'growth of the registry heap (after two full GCs) and RSS from before registering to after, over the instances registered',
      values: {
        instances: m.instances,
        heapBytesPerInstance: round(heapGrowth / m.instances),
        rssBytesPerInstance: round(rssGrowth / m.instances),
      },
      targets: [{ value: 'heapBytesPerInstance', atMost: HEAP_BYTES_PER_INSTANCE_AT_MOST }],
      notes: [`heap ${round(m.memoryBefore.heapUsedBytes / 2 ** 20, 1)} -> ${round(m.memoryAfter.heapUsedBytes / 2 ** 20, 1)} MB, RSS ${round(m.memoryBefore.rssBytes / 2 ** 20, 1)} -> ${round(m.memoryAfter.rssBytes / 2 ** 20, 1)} MB`],
    },
  ];
}

/**
 * The built registry (dist/apps/registry) under 1,000 and 10,000 simulated instances, a fresh
 * registry for each count: heartbeats/s and their latency, the most it answers, Watch propagation
 * to 100 watchers, lease expiry, and memory per registered instance.
 */
export const registryScenario: RowScenario = {
  name: 'registry',
  description: 'the built registry under simulated instances: heartbeats/s, Watch propagation, expiry, memory per instance',
  async run(settings: RowScenarioSettings) {
    const size = settings.smoke ? 'smoke' : 'full';
    const leases = LEASES[size];
    const watchers = WATCHERS[size];
    const expiring = EXPIRING[size];
    const rounds = PROPAGATION_ROUNDS[size];
    const nodeOptions = composeNodeOptions(settings.workspaceRoot, 'registry');
    const rows: MeasuredRow[] = [];
    for (const instances of INSTANCE_COUNTS[size]) {
      const measured = await measureRegistry({
        workspaceRoot: settings.workspaceRoot,
        binDir: settings.binDir,
        pinning: settings.pinning,
        env: {
          ...SWITCHYARD_SERVER_ENV,
          ...TRACING_10_PERCENT,
          ...nodeOptions,
          REGISTRY_TOKEN: TOKEN,
          // The fleet is larger than the default caps, and every watcher comes from this one host.
          REGISTRY_MAX_INSTANCES: String(2 * Math.max(...INSTANCE_COUNTS.full)),
          REGISTRY_MAX_WATCHES_PER_PEER: String(2 * WATCHERS.full),
          LEASE_TTL_MS: String(leases.LEASE_TTL_MS),
          HEARTBEAT_INTERVAL_MS: String(leases.HEARTBEAT_INTERVAL_MS),
          EVICTION_SWEEP_MS: String(leases.EVICTION_SWEEP_MS),
        },
        token: TOKEN,
        leaseTtlMs: leases.LEASE_TTL_MS,
        heartbeatIntervalMs: leases.HEARTBEAT_INTERVAL_MS,
        fleet: { instances, services: SERVICES, connections: CONNECTIONS, registerConcurrency: 64 },
        probe: {
          watchers,
          service: 'probe',
          propagationRounds: rounds,
          // The rounds spread over most of the heartbeat window.
          roundGapMs: Math.max(20, Math.round((settings.durationMs * 0.6) / rounds)),
          expiring,
          beatsBeforeStop: 1,
        },
        warmupMs: settings.warmupMs,
        durationMs: settings.durationMs,
        capacity: { durationMs: Math.max(500, settings.durationMs / 2), mode: { kind: 'closed', concurrency: CAPACITY_IN_FLIGHT } },
        cpuProfileDir: settings.cpuProfileDir,
        onProgress: settings.onProgress,
      });
      rows.push(...rowsOf(measured, leases, watchers, expiring));
    }
    return {
      columns: COLUMNS,
      rows,
      notes: [
        `the registry is the built app (dist/apps/registry/main.js) with its normal environment: token, LOG_LEVEL=info, tracing sampled at 10% without an exporter, ` +
          `LEASE_TTL_MS=${leases.LEASE_TTL_MS}, HEARTBEAT_INTERVAL_MS=${leases.HEARTBEAT_INTERVAL_MS}, EVICTION_SWEEP_MS=${leases.EVICTION_SWEEP_MS}` +
          `${nodeOptions.NODE_OPTIONS ? `, NODE_OPTIONS=${nodeOptions.NODE_OPTIONS} (docker-compose.yml's)` : ''}; a fresh one for each instance count`,
        `the simulated instances (${SERVICES} services, sharing ${CONNECTIONS} connections; Register through grpc-js, heartbeats through a lean http2 gRPC client so one core keeps up) and the ${watchers} watchers run in two processes of their own, on the load generator's CPUs`,
        'memory per instance: the registry runs in a host process started with --expose-gc, which reads process.memoryUsage() after two full GCs before and after registering the instances ' +
          '(connections open, code paths warmed up by 50 instances registered and deregistered first); heap growth is what the store keeps per instance, RSS growth also holds freed space the heap has not returned',
        `registry CPU us/heartbeat: the registry process's CPU time over the window, per heartbeat answered; registry heap KB/heartbeat: what the registry allocated on the V8 heap over the window (the heap now, plus what each garbage collection freed), per heartbeat answered`,
      ],
    };
  },
};
