import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** Seconds; from a cached read (0.5 ms) to a call that ran into the default 5 s deadline and past it. */
export const RPC_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const RPC_LABELS = ['rpc_system', 'rpc_service', 'rpc_method', 'rpc_grpc_status_code'] as const;

/** Label values of one method, split from its path once and reused on every call. */
export interface MethodLabels {
  rpc_system: 'grpc';
  rpc_service: string;
  rpc_method: string;
}

/**
 * One app's Prometheus registry: process metrics and the RPC metrics of the OpenTelemetry
 * semantic conventions in Prometheus naming. Apps add their own (breaker, registry) to `registry`.
 */
export class RpcMetrics {
  readonly registry = new Registry();
  readonly serverDuration: Histogram<(typeof RPC_LABELS)[number]>;
  readonly clientDuration: Histogram<(typeof RPC_LABELS)[number]>;
  readonly retries: Counter<'rpc_system' | 'rpc_service' | 'rpc_method'>;
  readonly ejections: Counter<'target'>;
  private readonly labelsByPath = new Map<string, MethodLabels>();
  // Per path, the full label set of each status code (0-16): no object built per call.
  private readonly callLabelsByPath = new Map<string, Record<(typeof RPC_LABELS)[number], string | number>[]>();

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.serverDuration = new Histogram({ name: 'rpc_server_duration_seconds', help: 'Duration of incoming calls, by method and status code.', labelNames: RPC_LABELS, buckets: RPC_DURATION_BUCKETS, registers });
    this.clientDuration = new Histogram({ name: 'rpc_client_duration_seconds', help: 'Duration of outgoing calls as their caller sees them (all attempts), by method and status code.', labelNames: RPC_LABELS, buckets: RPC_DURATION_BUCKETS, registers });
    this.retries = new Counter({ name: 'rpc_client_retries_total', help: 'Attempts of outgoing calls beyond the first (retries, hedges, backups).', labelNames: ['rpc_system', 'rpc_service', 'rpc_method'], registers });
    this.ejections = new Counter({ name: 'rpc_client_outlier_ejections_total', help: 'Instances taken out of rotation by outlier detection, by address.', labelNames: ['target'], registers });
  }

  /** `/pkg.Service/Method` as labels, computed once per path. */
  methodLabels(path: string): MethodLabels {
    let labels = this.labelsByPath.get(path);
    if (!labels) {
      const slash = path.lastIndexOf('/');
      labels = Object.freeze({ rpc_system: 'grpc' as const, rpc_service: path.slice(1, slash), rpc_method: path.slice(slash + 1) });
      this.labelsByPath.set(path, labels);
    }
    return labels;
  }

  /** The labels of a call of `path` that ended with `code`, built once per pair. */
  callLabels(path: string, code: number): Record<(typeof RPC_LABELS)[number], string | number> {
    let byCode = this.callLabelsByPath.get(path);
    if (!byCode) this.callLabelsByPath.set(path, (byCode = []));
    return (byCode[code] ??= Object.freeze({ ...this.methodLabels(path), rpc_grpc_status_code: code }));
  }

  /** A retry, hedge or backup attempt of `path`. */
  countRetry(path: string): void {
    this.retries.inc(this.methodLabels(path));
  }

  countEjection(target: string): void {
    this.ejections.inc({ target });
  }
}
