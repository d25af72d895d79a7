import { credentials, type ChannelOptions, type Client, type Interceptor } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { deadlineInterceptor } from './deadline-interceptor';
import { loggingInterceptor } from './logging-interceptor';
import { retryInterceptor, type RetryPolicy } from './retry-interceptor';
import { tracingInterceptor } from './tracing-interceptor';

export interface ClientFactoryOptions {
  logger: Logger;
  /** Deadline of calls whose caller set none. */
  defaultDeadlineMs: number;
  /** Paths of methods safe to repeat (see idempotentMethodPaths); others retry only with a request_id. */
  idempotentMethods: ReadonlySet<string>;
  retry?: Partial<Omit<RetryPolicy, 'mayRetry'>>;
  channelOptions?: ChannelOptions;
}

type ClientConstructor<C extends Client> = new (address: string, creds: ReturnType<typeof credentials.createInsecure>, options?: Record<string, unknown>) => C;

/** An idempotency key makes a create safe to send twice: the server returns the first result. */
function carriesIdempotencyKey(request: unknown): boolean {
  const requestId = (request as { requestId?: unknown } | null)?.requestId;
  return typeof requestId === 'string' && requestId.length > 0;
}

/**
 * Creates each client once per (service, target) and reuses it. Targets are `registry:///<service>`
 * (after registerRegistryResolver) or `dns:///host:port`. The interceptor chain, outermost first:
 * tracing, deadline, retry, logging, so one span covers every attempt and every attempt respects
 * the same deadline.
 */
export function createClientFactory(options: ClientFactoryOptions) {
  const clients = new Map<string, Client>();
  const interceptors: Interceptor[] = [
    tracingInterceptor,
    deadlineInterceptor({ defaultTimeoutMs: options.defaultDeadlineMs }),
    retryInterceptor({
      ...options.retry,
      mayRetry: (path, request) => options.idempotentMethods.has(path) || carriesIdempotencyKey(request),
    }),
    loggingInterceptor(options.logger),
  ];
  const channelOptions: ChannelOptions = {
    // Channelz bookkeeping costs time on every call and nothing here reads it.
    'grpc.enable_channelz': 0,
    // Pings find a hung peer (SIGSTOP, a dead host with no RST) in about 2 s instead of the TCP
    // timeout; calls on that connection then fail UNAVAILABLE and are retried elsewhere.
    'grpc.keepalive_time_ms': 1_000,
    'grpc.keepalive_timeout_ms': 1_000,
    'grpc.keepalive_permit_without_calls': 1,
    ...options.channelOptions,
  };
  return {
    get<C extends Client>(ClientClass: ClientConstructor<C>, target: string): C {
      const key = `${ClientClass.name}|${target}`;
      let client = clients.get(key);
      if (!client) {
        client = new ClientClass(target, credentials.createInsecure(), { ...channelOptions, interceptors });
        clients.set(key, client);
      }
      return client as C;
    },
    close(): void {
      for (const client of clients.values()) client.close();
      clients.clear();
    },
  };
}

export type ClientFactory = ReturnType<typeof createClientFactory>;
