import { status as Status, type ChannelCredentials, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { registryV1 } from '@switchyard/proto';
import type { Logger } from 'pino';
import { reconnectDelayMs, type BackoffOptions } from './reconnect-backoff';
import { createRegistryClient, registryMetadata } from './registry-client';

/** The part of the registry client a watcher uses. */
export type WatchClient = Pick<registryV1.RegistryServiceClient, 'watch' | 'close'>;

export interface RegistryWatcherOptions {
  /** host:port of the registry. */
  registryAddress: string;
  serviceName: string;
  token?: string;
  /** Credentials of the registry client it makes itself. Default: plaintext. */
  credentials?: ChannelCredentials;
  logger?: Logger;
  /** Registry client to watch through. Default: one of its own, closed by close(). */
  client?: WatchClient;
  /** Pause before reconnecting. Default 100 ms doubling to 5000 ms, jittered. */
  reconnectBackoff?: BackoffOptions;
  /**
   * Each Watch stream ends after this long and is opened again at once (a deadline on every
   * call, and a periodic full snapshot). Default 300000 (5 min).
   */
  streamLifetimeMs?: number;
}

export type InstancesListener = (instances: registryV1.Instance[]) => void;
export type WatchErrorListener = (error: Error) => void;

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 100, maxMs: 5000 };

/**
 * Follows one service in the registry over the Watch stream and keeps its instances. Listeners get
 * the full list on every change. When the registry is unreachable the last snapshot stays (calls
 * between running services go on) and the watcher reconnects with backoff; the registry's next
 * snapshot then replaces it. Starts at construction; close() ends it.
 */
export class RegistryWatcher {
  readonly serviceName: string;
  readonly registryAddress: string;
  private readonly client: WatchClient;
  private readonly ownsClient: boolean;
  private readonly backoff: BackoffOptions;
  private readonly listeners = new Set<InstancesListener>();
  private readonly errorListeners = new Set<WatchErrorListener>();
  private current: Map<string, registryV1.Instance> | undefined;
  private stream: ClientReadableStream<registryV1.WatchResponse> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;
  private lastError: Error | undefined;

  constructor(private readonly options: RegistryWatcherOptions) {
    this.serviceName = options.serviceName;
    this.registryAddress = options.registryAddress;
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? createRegistryClient(options.registryAddress, options.credentials);
    this.backoff = options.reconnectBackoff ?? DEFAULT_BACKOFF;
    this.connect();
  }

  /** The instances of the last snapshot and the changes since; undefined until the first snapshot. */
  instances(): registryV1.Instance[] | undefined {
    return this.current && [...this.current.values()];
  }

  /** Why the watch is down, while it is (cleared by the next snapshot). */
  error(): Error | undefined {
    return this.lastError;
  }

  /** Called with the full list on every change. Returns unsubscribe. */
  subscribe(listener: InstancesListener, onError?: WatchErrorListener): () => void {
    this.listeners.add(listener);
    if (onError) this.errorListeners.add(onError);
    return () => {
      this.listeners.delete(listener);
      if (onError) this.errorListeners.delete(onError);
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.stream?.cancel();
    this.stream = undefined;
    this.listeners.clear();
    this.errorListeners.clear();
    if (this.ownsClient) this.client.close();
  }

  private connect(): void {
    if (this.closed) return;
    const lifetimeMs = this.options.streamLifetimeMs ?? 300_000;
    const stream = this.client.watch({ serviceName: this.serviceName }, registryMetadata(this.options.token), {
      deadline: new Date(Date.now() + lifetimeMs),
    });
    this.stream = stream;
    let snapshotSeen = false;
    stream.on('data', (response: registryV1.WatchResponse) => {
      if (this.stream !== stream) return;
      if (response.type === registryV1.WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT) {
        if (this.failures > 0) this.options.logger?.info({ service_name: this.serviceName, registry_address: this.registryAddress }, 'registry watch resumed');
        snapshotSeen = true;
        this.failures = 0;
        this.lastError = undefined;
      }
      if (this.apply(response)) this.notify();
    });
    const ended = (error: ServiceError | undefined) => {
      if (this.stream !== stream || this.closed) return;
      this.stream = undefined;
      // A stream that delivered a snapshot and then ended normally (its lifetime, a registry
      // shutting down cleanly) reconnects after the shortest pause; a failing one backs off.
      const reconnectNow = snapshotSeen && (!error || error.code === Status.DEADLINE_EXCEEDED);
      if (!reconnectNow) this.noteFailure(error ?? new Error('the registry ended the watch before its snapshot'));
      const delay = reconnectDelayMs(reconnectNow ? 1 : this.failures, this.backoff);
      this.timer = setTimeout(() => this.connect(), delay);
      this.timer.unref();
    };
    // grpc-js ends a stream with 'end' on OK and with 'error' on any other status (ours included).
    stream.on('error', (error: ServiceError) => ended(error));
    stream.on('end', () => ended(undefined));
  }

  private noteFailure(error: Error): void {
    this.failures += 1;
    this.lastError = error;
    const fields = { service_name: this.serviceName, registry_address: this.registryAddress, err: error, attempt: this.failures };
    if (this.failures === 1) {
      this.options.logger?.warn(fields, `registry watch lost; keeping the last known instances of '${this.serviceName}' and reconnecting`);
    } else {
      this.options.logger?.debug(fields, 'registry watch still down');
    }
    for (const listener of [...this.errorListeners]) listener(error);
  }

  /** Applies one event; returns whether the instance list changed. */
  private apply(response: registryV1.WatchResponse): boolean {
    switch (response.type) {
      case registryV1.WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT:
        this.current = new Map(response.instances.map((instance) => [instance.instanceId, instance]));
        return true;
      case registryV1.WatchEventType.WATCH_EVENT_TYPE_UPSERT:
        if (!this.current) return false; // the registry always sends its snapshot first
        for (const instance of response.instances) this.current.set(instance.instanceId, instance);
        return response.instances.length > 0;
      case registryV1.WatchEventType.WATCH_EVENT_TYPE_REMOVE: {
        let changed = false;
        for (const instance of response.instances) changed = this.current?.delete(instance.instanceId) === true || changed;
        return changed;
      }
      default:
        return false;
    }
  }

  private notify(): void {
    const instances = this.instances() ?? [];
    for (const listener of [...this.listeners]) listener(instances);
  }
}
