import { status as Status, type ChannelCredentials, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { registryV1 } from '@switchyard/proto';
import type { Logger } from 'pino';
import { reconnectDelayMs, type BackoffOptions } from './reconnect-backoff';
import { createRegistryClient, registryMetadata } from './registry-client';
import { RegistryEndpoints } from './registry-endpoints';

/** The part of the registry client a watcher uses. */
export type WatchClient = Pick<registryV1.RegistryServiceClient, 'watch' | 'close'>;

export interface RegistryWatcherOptions {
  /** The registries (host:port or explicit targets), in order; a failed watch reconnects to the next. */
  registryAddresses: readonly string[];
  serviceName: string;
  token?: string;
  /** Credentials of the registry client it makes itself. Default: plaintext. */
  credentials?: ChannelCredentials;
  logger?: Logger;
  /** Makes the client to watch one address through. Default: one of its own per address, closed by close(). */
  connect?: (address: string) => WatchClient;
  /** Pause before reconnecting. Default 100 ms doubling to 5000 ms, jittered. */
  reconnectBackoff?: BackoffOptions;
  /**
   * Each Watch stream ends after this long and is opened again at once (a deadline on every
   * call, and a periodic full snapshot). Default 300000 (5 min).
   */
  streamLifetimeMs?: number;
  /**
   * After moving to another registry, how long an empty first snapshot from it may wait for the
   * service's instances to register there before it replaces the instances known from the last
   * one (registries with stores of their own learn of each instance only at its next heartbeat).
   * Default 6000 (a lease's life at the default heartbeat: every live instance has beaten by then).
   */
  failoverGraceMs?: number;
}

export type InstancesListener = (instances: registryV1.Instance[]) => void;
export type WatchErrorListener = (error: Error) => void;

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 100, maxMs: 5000 };
const DEFAULT_FAILOVER_GRACE_MS = 6000;

/**
 * Follows one service in the registry over the Watch stream and keeps its instances. Listeners get
 * the full list on every change. When the registry is unreachable the last snapshot stays (calls
 * between running services go on) and the watcher reconnects with backoff; the registry's next
 * snapshot then replaces it. With several registries, a watch that fails moves on to the next
 * one (see RegistryEndpoints), whose first snapshot replaces the list (an empty one only after
 * failoverGraceMs). Starts at construction; close() ends it.
 */
export class RegistryWatcher {
  readonly serviceName: string;
  private readonly registries: RegistryEndpoints<WatchClient>;
  private readonly backoff: BackoffOptions;
  private readonly listeners = new Set<InstancesListener>();
  private readonly errorListeners = new Set<WatchErrorListener>();
  /** The registry's view, from `viewFrom`'s snapshot and the changes since. */
  private current: Map<string, registryV1.Instance> | undefined;
  private viewFrom: string | undefined;
  /** The last registry's instances, served while a newly reached one has none yet (failoverGraceMs). */
  private held: Map<string, registryV1.Instance> | undefined;
  private heldTimer: NodeJS.Timeout | undefined;
  private stream: ClientReadableStream<registryV1.WatchResponse> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;
  private lastError: Error | undefined;

  constructor(private readonly options: RegistryWatcherOptions) {
    this.serviceName = options.serviceName;
    this.registries = new RegistryEndpoints<WatchClient>({
      addresses: options.registryAddresses,
      connect: options.connect ?? ((address) => createRegistryClient(address, options.credentials)),
      ownsClients: options.connect === undefined,
      logger: options.logger,
      logFields: { service_name: options.serviceName },
    });
    this.backoff = options.reconnectBackoff ?? DEFAULT_BACKOFF;
    this.connect();
  }

  /** The registry watched now (or reconnected to next, while the watch is down). */
  get registryAddress(): string {
    return this.registries.address;
  }

  /** The instances of the last snapshot and the changes since; undefined until the first snapshot. */
  instances(): registryV1.Instance[] | undefined {
    const view = this.held ?? this.current;
    return view && [...view.values()];
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
    clearTimeout(this.heldTimer);
    this.stream?.cancel();
    this.stream = undefined;
    this.listeners.clear();
    this.errorListeners.clear();
    this.registries.close();
  }

  private connect(): void {
    if (this.closed) return;
    const lifetimeMs = this.options.streamLifetimeMs ?? 300_000;
    const address = this.registries.address;
    const stream = this.registries.client.watch({ serviceName: this.serviceName }, registryMetadata(this.options.token), {
      deadline: new Date(Date.now() + lifetimeMs),
    });
    this.stream = stream;
    let snapshotSeen = false;
    stream.on('data', (response: registryV1.WatchResponse) => {
      if (this.stream !== stream) return;
      if (response.type === registryV1.WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT) {
        if (this.failures > 0) this.options.logger?.info({ service_name: this.serviceName, registry_address: address }, 'registry watch resumed');
        snapshotSeen = true;
        this.failures = 0;
        this.lastError = undefined;
        this.registries.settled();
        if (this.applySnapshot(address, response.instances)) this.notify();
        return;
      }
      if (this.apply(response)) this.notify();
    });
    const ended = (error: ServiceError | undefined) => {
      if (this.stream !== stream || this.closed) return;
      this.stream = undefined;
      // A stream that delivered a snapshot and then ended normally (its lifetime, a registry
      // shutting down cleanly) reconnects after the shortest pause; a failing one backs off.
      const reconnectNow = snapshotSeen && (!error || error.code === Status.DEADLINE_EXCEEDED);
      if (!reconnectNow) this.noteFailure(address, error ?? new Error('the registry ended the watch before its snapshot'));
      const delay = reconnectDelayMs(reconnectNow ? 1 : this.failures, this.backoff);
      this.timer = setTimeout(() => this.connect(), delay);
      this.timer.unref();
    };
    // grpc-js ends a stream with 'end' on OK and with 'error' on any other status (ours included).
    stream.on('error', (error: ServiceError) => ended(error));
    stream.on('end', () => ended(undefined));
  }

  private noteFailure(address: string, error: Error): void {
    this.failures += 1;
    this.lastError = error;
    const fields = { service_name: this.serviceName, registry_address: address, err: error, attempt: this.failures };
    // With several registries the next one is tried (the move is logged there); the last snapshot stays meanwhile.
    if (this.registries.moveOn(address, 'watch', error)) {
      this.options.logger?.debug(fields, `registry watch lost; keeping the last known instances of '${this.serviceName}' meanwhile`);
    } else if (this.failures === 1) {
      this.options.logger?.warn(fields, `registry watch lost; keeping the last known instances of '${this.serviceName}' and reconnecting`);
    } else {
      this.options.logger?.debug(fields, 'registry watch still down');
    }
    for (const listener of [...this.errorListeners]) listener(error);
  }

  /**
   * Takes a registry's snapshot as the view; returns whether the instance list changed. An empty
   * snapshot from a registry other than the last one does not wipe the instances known from it
   * at once: those stay until an instance registers there or failoverGraceMs passes.
   */
  private applySnapshot(address: string, instances: registryV1.Instance[]): boolean {
    const previous = this.held ?? this.current;
    const switched = this.viewFrom !== undefined && this.viewFrom !== address;
    this.current = new Map(instances.map((instance) => [instance.instanceId, instance]));
    this.viewFrom = address;
    if (instances.length > 0 || !previous || previous.size === 0) {
      this.release();
      return true;
    }
    if (this.held) return false; // still waiting, now on this registry
    if (!switched) return true;
    this.held = previous;
    this.options.logger?.info(
      { service_name: this.serviceName, registry_address: address, grace_ms: this.options.failoverGraceMs ?? DEFAULT_FAILOVER_GRACE_MS },
      `the registry at ${address} knows no instance of '${this.serviceName}' yet; keeping the last known ones until they register there`,
    );
    this.heldTimer = setTimeout(() => {
      if (this.release()) this.notify();
    }, this.options.failoverGraceMs ?? DEFAULT_FAILOVER_GRACE_MS);
    this.heldTimer.unref();
    return false;
  }

  /** Stops serving held instances; returns whether it was. */
  private release(): boolean {
    clearTimeout(this.heldTimer);
    if (!this.held) return false;
    this.held = undefined;
    return true;
  }

  /** Applies one change event; returns whether the instance list changed. */
  private apply(response: registryV1.WatchResponse): boolean {
    switch (response.type) {
      case registryV1.WatchEventType.WATCH_EVENT_TYPE_UPSERT:
        if (!this.current) return false; // the registry always sends its snapshot first
        for (const instance of response.instances) this.current.set(instance.instanceId, instance);
        // The first instance to register at the new registry ends the wait for it.
        if (this.held) return this.current.size > 0 && this.release();
        return response.instances.length > 0;
      case registryV1.WatchEventType.WATCH_EVENT_TYPE_REMOVE: {
        let changed = false;
        for (const instance of response.instances) changed = this.current?.delete(instance.instanceId) === true || changed;
        return changed && !this.held;
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
