import type { InstanceRecord, InstanceState, RegistryStore, StoreEvent } from '../registry-store';

/** One instance as the dashboard shows it: what the registry knows, and when it last heard from it. */
export interface FleetInstance {
  instanceId: string;
  serviceName: string;
  address: string;
  version: string;
  zone: string;
  state: InstanceState;
  metadata: Record<string, string>;
  /** ms since the epoch */
  registeredAt: number;
  /** ms since the epoch: the lease's last renewal (its expiry less one TTL). */
  lastHeartbeatAt: number;
}

/** What a subscriber of the feed sees: everything first, then each change. `now` is the registry's clock, so pages can show ages without trusting their own. */
export type FleetEvent =
  | { type: 'snapshot'; now: number; instances: FleetInstance[] }
  | { type: 'upsert'; now: number; instance: FleetInstance }
  | { type: 'remove'; now: number; instanceId: string }
  | { type: 'heartbeats'; now: number; lastHeartbeatAt: Record<string, number> };

export interface FleetFeedOptions {
  store: RegistryStore;
  /**
   * How often the feed lists services (to find ones registered at another replica of a shared
   * store) and reads lease renewals, which the store does not announce. Default 1000.
   */
  refreshIntervalMs?: number;
  /** Clock in ms since the epoch. Default Date.now. */
  now?: () => number;
  /** Called with errors of the periodic refresh (a remote store that is down); the feed keeps going. */
  onError?: (error: unknown) => void;
}

export const DEFAULT_REFRESH_INTERVAL_MS = 1000;

type Listener = (event: FleetEvent) => void;

/**
 * Every service's instances in one stream, for the dashboard: one store Watch per service, shared
 * by all of the dashboard's viewers, so a hundred open pages cost the store no more than one.
 * New services are found at once through notice() (main.ts calls it on each Register) and, for
 * registrations at other replicas, by listing services every refresh.
 */
export class FleetFeed {
  private readonly store: RegistryStore;
  private readonly now: () => number;
  private readonly instances = new Map<string, FleetInstance>();
  private readonly unwatch = new Map<string, () => void>();
  private readonly listeners = new Set<Listener>();
  private readonly timer: NodeJS.Timeout;
  private refreshing = false;
  private stopped = false;

  constructor(private readonly options: FleetFeedOptions) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => void this.refresh(), options.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS);
    this.timer.unref();
    void this.refresh();
  }

  /** Starts watching `serviceName` if the feed does not yet. */
  notice(serviceName: string): void {
    if (this.stopped || this.unwatch.has(serviceName)) return;
    this.unwatch.set(serviceName, this.store.watch(serviceName, (event) => this.apply(serviceName, event)));
  }

  /** Every live instance known now, by service then address. */
  snapshot(): FleetInstance[] {
    return [...this.instances.values()].sort((a, b) => compare(a.serviceName, b.serviceName) || compare(a.address, b.address));
  }

  /** Calls `listener` with a snapshot at once, then with each change; returns unsubscribe. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    listener({ type: 'snapshot', now: this.now(), instances: this.snapshot() });
    // Renewals are not tracked while nobody looks: bring the first viewer's ages up to date now.
    if (this.listeners.size === 1) void this.refresh();
    return () => void this.listeners.delete(listener);
  }

  /** How often instances heartbeat, for pages that flag late ones. */
  get heartbeatIntervalMs(): number {
    return this.store.heartbeatIntervalMs;
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const unwatch of this.unwatch.values()) unwatch();
    this.unwatch.clear();
    this.listeners.clear();
  }

  private apply(serviceName: string, event: StoreEvent): void {
    switch (event.type) {
      case 'snapshot': {
        const live = new Set(event.instances.map((instance) => instance.instanceId));
        for (const instance of [...this.instances.values()]) {
          if (instance.serviceName === serviceName && !live.has(instance.instanceId)) this.removeInstance(instance.instanceId);
        }
        for (const instance of event.instances) this.upsert(instance);
        return;
      }
      case 'upsert':
        return this.upsert(event.instance);
      case 'remove':
        return this.removeInstance(event.instance.instanceId);
    }
  }

  private upsert(record: InstanceRecord): void {
    const instance = this.toFleetInstance(record);
    this.instances.set(instance.instanceId, instance);
    this.emit({ type: 'upsert', now: this.now(), instance });
  }

  private removeInstance(instanceId: string): void {
    if (!this.instances.delete(instanceId)) return;
    this.emit({ type: 'remove', now: this.now(), instanceId });
  }

  private toFleetInstance(record: InstanceRecord): FleetInstance {
    return {
      instanceId: record.instanceId,
      serviceName: record.serviceName,
      address: record.address,
      version: record.version,
      zone: record.zone,
      state: record.state,
      metadata: { ...record.metadata },
      registeredAt: record.registeredAt,
      lastHeartbeatAt: record.leaseExpiresAt - this.store.leaseTtlMs,
    };
  }

  private emit(event: FleetEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }

  /** Finds new services, drops the watches of empty ones, and reports lease renewals to subscribers. */
  private async refresh(): Promise<void> {
    if (this.refreshing || this.stopped) return;
    this.refreshing = true;
    try {
      const listed = new Set((await this.store.listServices()).map((service) => service.serviceName));
      for (const serviceName of listed) this.notice(serviceName);
      const shown = new Set([...this.instances.values()].map((instance) => instance.serviceName));
      for (const [serviceName, unwatch] of [...this.unwatch]) {
        if (!listed.has(serviceName) && !shown.has(serviceName)) {
          unwatch();
          this.unwatch.delete(serviceName);
        }
      }
      if (this.listeners.size > 0) await this.reportHeartbeats(listed);
    } catch (error) {
      this.options.onError?.(error);
    } finally {
      this.refreshing = false;
    }
  }

  private async reportHeartbeats(services: Set<string>): Promise<void> {
    const renewed: Record<string, number> = {};
    let any = false;
    for (const serviceName of services) {
      for (const record of await this.store.resolve(serviceName)) {
        const known = this.instances.get(record.instanceId);
        const lastHeartbeatAt = record.leaseExpiresAt - this.store.leaseTtlMs;
        if (!known || known.lastHeartbeatAt === lastHeartbeatAt) continue;
        this.instances.set(record.instanceId, { ...known, lastHeartbeatAt });
        renewed[record.instanceId] = lastHeartbeatAt;
        any = true;
      }
    }
    if (any && !this.stopped) this.emit({ type: 'heartbeats', now: this.now(), lastHeartbeatAt: renewed });
  }
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
