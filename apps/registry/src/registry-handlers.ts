import type { Metadata } from '@grpc/grpc-js';
import { registryV1 } from '@switchyard/proto';
import { defineService, systemClock, type Clock, type ServiceRegistration } from '@switchyard/runtime';
import { requireBearerToken } from './bearer-token';
import type { InstanceRecord, RegistryStore, StoreEvent } from './registry-store';
import { parseDeregisterRequest, parseHeartbeatRequest, parseRegisterRequest, requireServiceName } from './request-validation';

export interface RegistryServiceOptions {
  store: RegistryStore;
  /** When set, Register, Heartbeat and Deregister need `authorization: Bearer <token>`; reads stay open. */
  token?: string;
  /** Aborting it ends every open Watch stream (with OK), e.g. when the registry shuts down. */
  shutdownSignal?: AbortSignal;
  /**
   * For this long after start, Watch holds back its first snapshot. A registry that restarted
   * empty would otherwise tell every client that no instances exist, and their calls would fail,
   * before the instances had re-registered on their next heartbeat. Default 0; main.ts uses one
   * heartbeat interval plus a margin.
   */
  watchWarmUpMs?: number;
  /** Times the warm-up. Default the system's; tests pass a manual one. */
  clock?: Clock;
}

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
  const { store, token, clock = systemClock } = options;
  const warmUpEndsAt = clock.now() + (options.watchWarmUpMs ?? 0);
  const endings = new WatchEndings(options.shutdownSignal);
  // Every watcher of a service gets the same change: convert it once, not once per watcher.
  const responses = new WeakMap<StoreEvent, registryV1.WatchResponse>();
  const watchResponse = (event: StoreEvent) => {
    let response = responses.get(event);
    if (!response) responses.set(event, (response = toWatchResponse(event)));
    return response;
  };
  const authorize = (metadata: Metadata) => {
    if (token !== undefined && token !== '') requireBearerToken(metadata, token);
  };

  return defineService('switchyard.registry.v1.RegistryService', registryV1.RegistryServiceService, {
    async register(request, ctx) {
      authorize(ctx.metadata);
      const instance = await store.register(parseRegisterRequest(request));
      return {
        instance: toInstance(instance),
        leaseTtl: toDuration(store.leaseTtlMs),
        heartbeatInterval: toDuration(store.heartbeatIntervalMs),
        leaseSecret: instance.leaseSecret,
      };
    },

    async heartbeat(request, ctx) {
      authorize(ctx.metadata);
      const { instanceId, leaseSecret, state } = parseHeartbeatRequest(request);
      const instance = await store.heartbeat(instanceId, leaseSecret, state);
      return { leaseExpireTime: new Date(instance.leaseExpiresAt) };
    },

    async deregister(request, ctx) {
      authorize(ctx.metadata);
      const { instanceId, leaseSecret } = parseDeregisterRequest(request);
      await store.deregister(instanceId, leaseSecret);
      return {};
    },

    async resolve(request) {
      requireServiceName(request.serviceName);
      return { instances: (await store.resolve(request.serviceName)).map(toInstance) };
    },

    async listServices() {
      return { services: await store.listServices() };
    },

    async watch(request, ctx) {
      requireServiceName(request.serviceName);
      const warmUpLeft = warmUpEndsAt - clock.now();
      if (warmUpLeft > 0) {
        let cancel: (() => void) | undefined;
        await Promise.race([new Promise<void>((resolve) => (cancel = clock.schedule(warmUpLeft, resolve))), endings.until(ctx.signal)]);
        cancel?.();
        if (ctx.signal.aborted || endings.shuttingDown) return;
      }
      // The store calls back with the snapshot first, synchronously, then with every change.
      const unsubscribe = store.watch(request.serviceName, (event) => {
        if (!ctx.signal.aborted) ctx.send(watchResponse(event));
      });
      try {
        await endings.until(ctx.signal);
      } finally {
        unsubscribe();
      }
    },
  });
}
