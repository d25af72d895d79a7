import { registryV1 } from '@switchyard/proto';
import { defineService, PermissionDeniedError, systemClock, UnauthenticatedError, type CallContext, type Clock, type ServerStreamContext, type ServiceRegistration } from '@switchyard/runtime';
import { tokenAccess, type Caller, type RegistryAccess } from './registry-access';
import { DEFAULT_REGISTRY_LIMITS, type RegistryLimits } from './registry-limits';
import { WatchDelivery } from './watch-delivery';
import { WatchPeerLimit } from './watch-peer-limit';
import type { InstanceRecord, RegistryStore, StoreEvent } from './registry-store';
import { parseDeregisterRequest, parseHeartbeatRequest, parseRegisterRequest, requireServiceName } from './request-validation';

export interface RegistryServiceOptions {
  store: RegistryStore;
  /** Who may register which service, renew leases and read. Default: everyone may do everything. */
  access?: RegistryAccess;
  /** Aborting it ends every open Watch stream (with OK), e.g. when the registry shuts down. */
  shutdownSignal?: AbortSignal;
  /**
   * For this long after start, Watch holds back its first snapshot. A registry that restarted
   * empty would otherwise tell every client that no instances exist, and their calls would fail,
   * before the instances had re-registered on their next heartbeat. Default 0; main.ts uses one
   * heartbeat interval plus a margin.
   */
  watchWarmUpMs?: number;
  /** Times the warm-up and stalled watchers. Default the system's; tests pass a manual one. */
  clock?: Clock;
  /** Field limits of Register. Default DEFAULT_REGISTRY_LIMITS (the instance caps are the store's). */
  limits?: RegistryLimits;
  /** Open Watch streams per peer host. Default 64 (REGISTRY_MAX_WATCHES_PER_PEER). */
  maxWatchesPerPeer?: number;
  /** How long a Watch stream's buffer may stay full before it is dropped. Default 15000 (REGISTRY_WATCH_STALL_MS). */
  watchStallMs?: number;
}

export const DEFAULT_MAX_WATCHES_PER_PEER = 64;
export const DEFAULT_WATCH_STALL_MS = 15_000;

const { InstanceState, WatchEventType } = registryV1;

function toDuration(ms: number): { seconds: number; nanos: number } {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

function toInstance(record: InstanceRecord): registryV1.Instance {
  return {
    instanceId: record.instanceId,
    serviceName: record.serviceName,
    address: record.address,
    version: record.version,
    metadata: { ...record.metadata },
    state: record.state === 'DRAINING' ? InstanceState.INSTANCE_STATE_DRAINING : InstanceState.INSTANCE_STATE_SERVING,
    zone: record.zone,
    registerTime: new Date(record.registeredAt),
    leaseExpireTime: new Date(record.leaseExpiresAt),
  };
}

function toWatchResponse(event: StoreEvent): registryV1.WatchResponse {
  switch (event.type) {
    case 'snapshot':
      return { type: WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT, instances: event.instances.map(toInstance) };
    case 'upsert':
      return { type: WatchEventType.WATCH_EVENT_TYPE_UPSERT, instances: [toInstance(event.instance)] };
    case 'remove':
      return { type: WatchEventType.WATCH_EVENT_TYPE_REMOVE, instances: [toInstance(event.instance)] };
  }
}

/**
 * Ends open Watch streams: each waits for its call's signal or the shutdown signal, whichever comes
 * first. One listener on the shutdown signal for all of them (not one per stream: a hundred
 * watchers would trip Node's MaxListenersExceededWarning).
 */
class WatchEndings {
  private readonly open = new Set<() => void>();

  constructor(private readonly shutdownSignal: AbortSignal | undefined) {
    shutdownSignal?.addEventListener('abort', () => {
      for (const end of [...this.open]) end();
    }, { once: true });
  }

  get shuttingDown(): boolean {
    return this.shutdownSignal?.aborted === true;
  }

  /** Resolves when `callSignal` aborts or the registry shuts down. */
  until(callSignal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (callSignal.aborted || this.shuttingDown) return resolve();
      const end = () => {
        callSignal.removeEventListener('abort', end);
        this.open.delete(end);
        resolve();
      };
      callSignal.addEventListener('abort', end);
      this.open.add(end);
    });
  }
}

/** The RegistryService handlers over a store: the transport face of the registry, nothing more. */
export function createRegistryService(options: RegistryServiceOptions): ServiceRegistration {
  const { store, access = tokenAccess({}), clock = systemClock, limits = DEFAULT_REGISTRY_LIMITS } = options;
  const watchStallMs = options.watchStallMs ?? DEFAULT_WATCH_STALL_MS;
  const watchesPerPeer = new WatchPeerLimit(options.maxWatchesPerPeer ?? DEFAULT_MAX_WATCHES_PER_PEER);
  const warmUpEndsAt = clock.now() + (options.watchWarmUpMs ?? 0);
  const endings = new WatchEndings(options.shutdownSignal);
  // Every watcher of a service gets the same change: convert it once, not once per watcher.
  const responses = new WeakMap<StoreEvent, registryV1.WatchResponse>();
  const watchResponse = (event: StoreEvent) => {
    let response = responses.get(event);
    if (!response) responses.set(event, (response = toWatchResponse(event)));
    return response;
  };
  const callerOf = (ctx: CallContext): Caller => access({ metadata: ctx.metadata, peer: ctx.peer, peerIdentity: ctx.peerIdentity });
  const refuse = (caller: Caller, what: string) =>
    caller.authenticated
      ? new PermissionDeniedError(`${caller.description} may not ${what}`)
      : new UnauthenticatedError(`this registry requires a token to ${what}: send metadata "authorization: Bearer <REGISTRY_TOKEN>"`);
  const requireRenew = (ctx: CallContext) => {
    const caller = callerOf(ctx);
    if (!caller.mayRenew) throw refuse(caller, 'renew or remove leases');
  };
  const requireRead = (ctx: CallContext) => {
    const caller = callerOf(ctx);
    if (!caller.mayRead) throw refuse(caller, 'read the registry (REGISTRY_READ_ACCESS)');
  };

  return defineService('switchyard.registry.v1.RegistryService', registryV1.RegistryServiceService, {
    async register(request, ctx) {
      const caller = callerOf(ctx);
      if (!caller.authenticated && !caller.mayRenew) throw refuse(caller, 'register');
      const input = parseRegisterRequest(request, limits);
      if (!caller.mayRegister(input.serviceName)) throw refuse(caller, `register service ${input.serviceName}`);
      const instance = await store.register(input);
      return {
        instance: toInstance(instance),
        leaseTtl: toDuration(store.leaseTtlMs),
        heartbeatInterval: toDuration(store.heartbeatIntervalMs),
        leaseSecret: instance.leaseSecret,
      };
    },

    async heartbeat(request, ctx) {
      requireRenew(ctx);
      const { instanceId, leaseSecret, state } = parseHeartbeatRequest(request);
      const instance = await store.heartbeat(instanceId, leaseSecret, state);
      return { leaseExpireTime: new Date(instance.leaseExpiresAt) };
    },

    async deregister(request, ctx) {
      requireRenew(ctx);
      const { instanceId, leaseSecret } = parseDeregisterRequest(request);
      await store.deregister(instanceId, leaseSecret);
      return {};
    },

    async resolve(request, ctx) {
      requireRead(ctx);
      requireServiceName(request.serviceName);
      return { instances: (await store.resolve(request.serviceName)).map(toInstance) };
    },

    async listServices(_request, ctx) {
      requireRead(ctx);
      return { services: await store.listServices() };
    },

    async watch(request, ctx) {
      requireRead(ctx);
      requireServiceName(request.serviceName);
      // The slot is held until the transport is done with the stream, not just this handler: a
      // stream whose client stopped reading holds its buffers until the client reads or leaves.
      ctx.onClosed(watchesPerPeer.acquire(ctx.peer));
      await watchService(request.serviceName, ctx);
    },
  });

  /** Streams one service's snapshot and changes until the caller leaves, the registry stops or the stream stalls. */
  async function watchService(serviceName: string, ctx: ServerStreamContext<registryV1.WatchResponse>): Promise<void> {
    const warmUpLeft = warmUpEndsAt - clock.now();
    if (warmUpLeft > 0) {
      let cancel: (() => void) | undefined;
      await Promise.race([new Promise<void>((resolve) => (cancel = clock.schedule(warmUpLeft, resolve))), endings.until(ctx.signal)]);
      cancel?.();
      if (ctx.signal.aborted || endings.shuttingDown) return;
    }
    // What this watcher has been told, by id: the snapshot that replaces events skipped while
    // its buffer was full. References to the store's records, not copies.
    const seen = new Map<string, InstanceRecord>();
    let stalled: Error | undefined;
    const stall = new AbortController();
    const delivery = new WatchDelivery({
      stream: ctx,
      snapshot: () => toWatchResponse({ type: 'snapshot', instances: [...seen.values()] }),
      stallTimeoutMs: watchStallMs,
      clock,
      onStalled: (error) => {
        stalled = error;
        stall.abort();
      },
    });
    // The store calls back with the snapshot first (at once in memory; once read from etcd), then
    // with every change.
    const unsubscribe = store.watch(serviceName, (event) => {
      if (event.type === 'snapshot') {
        seen.clear();
        for (const instance of event.instances) seen.set(instance.instanceId, instance);
      } else if (event.type === 'upsert') seen.set(event.instance.instanceId, event.instance);
      else seen.delete(event.instance.instanceId);
      if (!ctx.signal.aborted) delivery.deliver(watchResponse(event));
    });
    try {
      await endings.until(AbortSignal.any([ctx.signal, stall.signal]));
    } finally {
      unsubscribe();
      delivery.close();
    }
    if (stalled) throw stalled;
  }
}
