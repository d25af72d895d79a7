import type { LoadMode, ProcessUsage, WindowResult } from '../bench-messages';

// What the registry scenario's harness and its three kinds of child process say over IPC: the
// registry host (the built registry app), the instance fleet (simulated instances heartbeating)
// and the watch probe (100 watchers timing Register -> UPSERT and lease expiry -> REMOVE).

/** The built registry app in a host process that can also report its GC'd heap. */
export interface RegistryHostSpec {
  /** dist/apps/registry/main.js */
  main: string;
  /** GRPC_PORT the app listens on (also in its environment). */
  port: number;
}

/** process.memoryUsage() of the registry right after two full GCs. */
export interface RegistryMemory {
  heapUsedBytes: number;
  rssBytes: number;
  externalBytes: number;
}

/** The registry's event-loop delay since the last `usage` (perf_hooks.monitorEventLoopDelay): its own stalls, apart from the network's and the clients'. */
export interface LoopDelay {
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

/** The registry's garbage-collection pauses since the last `usage` (perf_hooks 'gc' entries), which its event-loop delay includes. */
export interface GcPauses {
  gcPauses: number;
  gcPauseTotalMs: number;
  gcPauseMaxMs: number;
  /** Of those, the full (mark-compact) collections. */
  fullGcPauses: number;
  fullGcPauseMaxMs: number;
}

export type HarnessToHost = { type: 'usage' } | { type: 'memory' } | { type: 'stop' };

export type HostToHarness =
  | { type: 'ready'; port: number }
  | ({ type: 'usage'; gc: GcPauses } & ProcessUsage & LoopDelay)
  | ({ type: 'memory' } & RegistryMemory)
  | { type: 'failed'; message: string };

export interface FleetSpec {
  /** host:port of the registry. */
  target: string;
  /** REGISTRY_TOKEN, sent as `authorization: Bearer <token>`. */
  token: string;
  instances: number;
  /** The instances are spread over this many services, `fleet-0`, `fleet-1`... */
  services: number;
  /** Separate HTTP/2 connections the instances share (a real fleet has one per instance). */
  connections: number;
  /** Instances registered at once. */
  registerConcurrency: number;
}

export type HarnessToFleet =
  /** Register every instance, then heartbeat each once per interval until told to stop. */
  | { type: 'register' }
  /** Measure the heartbeats over a window; `mode` replaces the per-interval pacing meanwhile (capacity). */
  | { type: 'window'; durationMs: number; mode?: LoadMode }
  | { type: 'stop' };

export type FleetToHarness =
  /** Connected, and every call path warmed up by a few instances registered and deregistered again. */
  | { type: 'warmed' }
  | { type: 'registered'; elapsedMs: number; heartbeatIntervalMs: number }
  | { type: 'window-start' }
  | { type: 'progress'; elapsedMs: number; calls: number; errors: number }
  /** `gc`: the fleet's own GC pauses over the window, which delay the heartbeats due meanwhile as the registry's would. */
  | { type: 'window-end'; result: WindowResult; mode: LoadMode; gc: GcPauses }
  | { type: 'failed'; message: string };

export interface ProbeSpec {
  target: string;
  token: string;
  /** Watch streams on `service`, each on its own connection. */
  watchers: number;
  service: string;
  /** Instances registered one after another, each timed until every watcher saw it. */
  propagationRounds: number;
  /** Pause between two rounds. */
  roundGapMs: number;
  /** Instances registered, heartbeating `beatsBeforeStop` times, then left to expire. */
  expiring: number;
  beatsBeforeStop: number;
  heartbeatIntervalMs: number;
  leaseTtlMs: number;
}

/** Latency samples in ms, summarized. */
export interface LatencySummary {
  samples: number;
  /** Expected samples that never arrived (a watcher that missed an event). */
  missing: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export type HarnessToProbe = { type: 'run' } | { type: 'stop' };

export type ProbeToHarness =
  | { type: 'ready' }
  /**
   * propagation: Register sent -> each watcher's UPSERT, one sample per watcher and round.
   * expiry: last heartbeat sent -> the last watcher's REMOVE, one sample per expiring instance.
   */
  | { type: 'results'; propagation: LatencySummary; expiry: LatencySummary }
  | { type: 'failed'; message: string };
