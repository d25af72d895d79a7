import { credentials, type ChannelCredentials, type ChannelOptions, type Client, type Interceptor } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ServerLimits } from '../config/server-limits-config';
import type { RpcMetrics } from '../metrics/rpc-metrics';
import { BackupBudget, DEFAULT_BACKUP_BUDGET } from './backup-budget';
import { withChannelUnaryCalls, type ClientConstructor } from './channel-unary-client';
import { allowedKeepaliveTimeMs, clientLimitOptions } from './client-limits';
import { deadlineInterceptor } from './deadline-interceptor';
import { loggingInterceptor } from './logging-interceptor';
import { retryInterceptor, type RetryPolicy } from './retry-interceptor';
import type { RetryPolicyConfig } from './retry-policy-config';
import { DEFAULT_RETRY_THROTTLING, RetryThrottle } from './retry-throttle';
import { StreamResetPacing, type StreamResetPacingOptions } from './stream-reset-pacing';
import { tracingInterceptorBeforeRetries } from './tracing-interceptor';

export interface ClientFactoryOptions {
  logger: Logger;
  /** Deadline of calls whose caller set none. */
  defaultDeadlineMs: number;
  /** Paths of methods safe to repeat (see idempotentMethodPaths); others retry only with a request_id. */
  idempotentMethods: ReadonlySet<string>;
  /** Retry policy of every method (DEFAULT_RETRY_POLICY where unset). */
  retry?: Partial<Omit<RetryPolicy, 'mayRetry'>>;
  /**
   * Overrides by service and method, hedging (idempotent methods only), throttling with one
   * token bucket per target, and backup attempts (see parseRetryPolicy, RETRY_POLICY). Default:
   * every method follows `retry`, throttled by DEFAULT_RETRY_THROTTLING, and a call of an
   * idempotent method still unanswered after its learned delay (DEFAULT_BACKUP_DELAY) gets a
   * backup attempt, within DEFAULT_BACKUP_BUDGET per target.
   */
  retryPolicy?: RetryPolicyConfig;
  /** The limits the servers called enforce (GRPC_MAX_*): message sizes and ping pacing follow them. Default DEFAULT_SERVER_LIMITS. */
  serverLimits?: ServerLimits;
  channelOptions?: ChannelOptions;
  /** How clients dial (see channelCredentials for mutual TLS). Default: plaintext. */
  credentials?: ChannelCredentials;
  /**
   * The app's own interceptors (metrics, headers to pass on, a breaker), outermost first. They run
   * once per call, inside the call's span and deadline and outside the retries, so they see the
   * call as its caller does: one outcome, whatever the attempts.
   */
  interceptors?: Interceptor[];
  /** Counts attempts beyond each call's first (rpc_client_retries_total). */
  metrics?: RpcMetrics;
  /** How many outrun attempts each target may have cancelled (StreamResetPacing). Default DEFAULT_STREAM_RESET_PACING. */
  streamResetPacing?: StreamResetPacingOptions;
}

/** An idempotency key makes a create safe to send twice: the server returns the first result. */
function carriesIdempotencyKey(request: unknown): boolean {
  const requestId = (request as { requestId?: unknown } | null)?.requestId;
  return typeof requestId === 'string' && requestId.length > 0;
}

/**
 * Creates each client once per (service, target) and reuses it. Targets are `registry:///<service>`
 * (after registerRegistryResolver) or `dns:///host:port`. The interceptor chain, outermost first:
 * tracing, deadline, the app's own (`interceptors`), retry, logging, so one span covers every
 * attempt and every attempt respects the same deadline.
 */
export function createClientFactory(options: ClientFactoryOptions) {
  // Keyed by the class itself: every generated client class is named ServiceClientImpl.
  const clients = new Map<ClientConstructor<Client>, Map<string, Client>>();
  const { retryThrottling = DEFAULT_RETRY_THROTTLING, backupAttempts = {}, ...policies } = options.retryPolicy ?? {};
  const deadline = deadlineInterceptor({ defaultTimeoutMs: options.defaultDeadlineMs });
  const logging = loggingInterceptor(options.logger);
  // One chain per target: its retry interceptor holds the target's throttle, shared by every
  // client (and so every method) on that target.
  const chains = new Map<string, Interceptor[]>();
  const interceptorsFor = (target: string): Interceptor[] => {
    let chain = chains.get(target);
    if (!chain) {
      const retry = retryInterceptor({
        ...options.retry,
        policies,
        throttle: retryThrottling ? new RetryThrottle(retryThrottling) : undefined,
        mayRetry: (path, request) => options.idempotentMethods.has(path) || carriesIdempotencyKey(request),
        // Hedged attempts run at once: an idempotency key does not make that safe, the proto must.
        mayHedge: (path) => options.idempotentMethods.has(path),
        // A backup for a call stuck on a hung instance, within one budget per target.
        onExtraAttempt: options.metrics ? (path) => options.metrics!.countRetry(path) : undefined,
        backups: backupAttempts ? { budget: new BackupBudget({ ...DEFAULT_BACKUP_BUDGET, ...backupAttempts.budget }), delay: backupAttempts.delay } : undefined,
        // So that the servers behind it never take its cancelled backups for a rapid-reset attack.
        resets: new StreamResetPacing(options.streamResetPacing),
      });
      chains.set(target, (chain = [tracingInterceptorBeforeRetries, deadline, ...(options.interceptors ?? []), retry, logging]));
    }
    return chain;
  };
  const channelOptions: ChannelOptions = {
    ...clientLimitOptions(options.serverLimits),
    // Channelz bookkeeping costs time on every call and nothing here reads it.
    'grpc.enable_channelz': 0,
    // Pings find a hung peer (SIGSTOP, a dead host with no RST) in about 2 s instead of the TCP
    // timeout, even with no calls to it; calls on that connection then fail UNAVAILABLE and are
    // retried elsewhere. Under load, backup attempts find it sooner (retrying-call.ts).
    'grpc.keepalive_time_ms': allowedKeepaliveTimeMs(1_000, options.serverLimits),
    'grpc.keepalive_timeout_ms': 1_000,
    'grpc.keepalive_permit_without_calls': 1,
    ...options.channelOptions,
  };
  const channelCredentials = options.credentials ?? credentials.createInsecure();
  return {
    get<C extends Client>(ClientClass: ClientConstructor<C>, target: string): C {
      let byTarget = clients.get(ClientClass);
      if (!byTarget) clients.set(ClientClass, (byTarget = new Map()));
      let client = byTarget.get(target);
      if (!client) {
        const ChannelUnaryClient = withChannelUnaryCalls(ClientClass, interceptorsFor(target));
        client = new ChannelUnaryClient(target, channelCredentials, channelOptions);
        byTarget.set(target, client);
      }
      return client as C;
    },
    close(): void {
      for (const byTarget of clients.values()) for (const client of byTarget.values()) client.close();
      clients.clear();
      chains.clear();
    },
  };
}

export type ClientFactory = ReturnType<typeof createClientFactory>;
