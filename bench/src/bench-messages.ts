import type { SpanCounts } from '@switchyard/runtime';
import type { PeerClientSpec } from './clients/create-peer-caller';
import type { PeerServerSpec } from './servers/start-peer-server';

// What the harness and its child processes say to each other over Node's IPC channel. Every
// message is plain JSON; each child's argv carries its one JSON spec, its environment the rest
// (GRPC_PORT, REGISTRY_ADDRESS, LOG_LEVEL, OTEL_TRACES_SAMPLER...), as for the apps.

/** Which server a server child runs. */
export type ServerSpec =
  /** A bare grpc-js server: the generated definition and the fixture handler, nothing else. */
  | { kind: 'baseline-user' }
  /** The full Switchyard server stack (startService) around the same handler. */
  | { kind: 'switchyard-user'; register: boolean }
  /** A built app (`dist/apps/<app>/main.js`) listening on `port`, e.g. the registry. */
  | { kind: 'app'; main: string; port: number }
  /** A service of a peer stack (bench/peers: Moleculer or NestJS). */
  | PeerServerSpec;

/** Which client the load generator calls through. */
export type ClientSpec =
  | { kind: 'baseline-user'; target: string }
  | { kind: 'switchyard-user'; target: string }
  /**
   * The Switchyard client against the built apps, whose users were seeded through the API: each
   * fixture id the load generator asks for maps onto one of `userIds` (the seeded users' ids).
   * `CreateOrder` places a new order (one item, a request id of its own) for that user.
   */
  | { kind: 'switchyard-app'; call: 'GetUser' | 'GetUserWithOrders' | 'ListOrders' | 'CreateOrder'; target: string; userIds: string[]; authorization?: string }
  /**
   * GET `<baseUrl>/v1/users/{id}` on the gateway's HTTP/JSON face over keep-alive HTTP/1.1, the
   * fixture ids mapped onto `userIds` as for `switchyard-app`; `authorization` sent on every call.
   */
  | { kind: 'http-app'; baseUrl: string; userIds: string[]; authorization?: string }
  /** A peer stack's own client (Moleculer ServiceBroker.call, Nest ClientGrpc). */
  | PeerClientSpec
  /**
   * h2load (nghttp2's C load generator) sending the one unary request `requestBase64` (gRPC-framed)
   * to `path` at `target` (host:port), over one connection: the server's cost alone.
   */
  | { kind: 'h2load'; target: string; path: string; requestBase64: string };

/**
 * How calls are paced. Closed loop: `concurrency` callers each send the next call when the last
 * one answers. Open loop: calls are due at a fixed rate, and each latency counts from the time
 * the call was due, so a stalled server shows up in the percentiles (no coordinated omission).
 */
export type LoadMode = { kind: 'closed'; concurrency: number } | { kind: 'open'; ratePerSecond: number; maxInFlight: number };

export interface LoadPlan {
  client: ClientSpec;
  mode: LoadMode;
  warmupMs: number;
  durationMs: number;
  /** User ids the calls cycle through (all exist in the fixture store). */
  userIds: string[];
}

export interface ProcessUsage {
  /** process.cpuUsage() of the child, microseconds. */
  userUs: number;
  systemUs: number;
  rssBytes: number;
  /** V8 heap bytes allocated since the process started measuring (HeapAllocationMeter). */
  heapAllocatedBytes: number;
}

export interface WindowResult {
  /** Calls answered within the measured window. */
  calls: number;
  errors: number;
  /** Failed calls by gRPC status name. */
  errorsByStatus: Record<string, number>;
  elapsedMs: number;
  /** Latencies in microseconds, HdrHistogram compressed base64 (decodeFromCompressedBase64). */
  histogram: string;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  /** CPU time of the load generator over the window. */
  clientCpuUs: number;
  /** V8 heap bytes the load generator allocated over the window; a Node load generator's only (h2load is none). */
  clientHeapAllocatedBytes?: number;
  /** Open loop only: calls that were due but not sent before the window ended. */
  behind?: number;
}

/** A process's own count of its spans (Telemetry.spanCounts), under the service.name its spans carry. */
export interface SpanReport {
  service: string;
  counts: SpanCounts;
}

export type ServerToHarness =
  | { type: 'ready'; port: number }
  /** Sent once stopped (spans flushed), just before exit; `spans` when the server exports them. */
  | { type: 'stopped'; spans?: SpanReport }
  | ({ type: 'usage' } & ProcessUsage)
  | { type: 'failed'; message: string };

export type HarnessToServer = { type: 'usage' } | { type: 'stop' };

export type GeneratorToHarness =
  | { type: 'ready' }
  | { type: 'window-start' }
  | { type: 'progress'; elapsedMs: number; calls: number; errors: number }
  | { type: 'window-end'; result: WindowResult }
  /** Sent once the client stack has closed (spans flushed); `spans` when it exports them. */
  | { type: 'stopped'; spans?: SpanReport }
  | { type: 'failed'; message: string };
