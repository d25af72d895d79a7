import { randomUUID } from 'node:crypto';
import { NotFoundError } from '@switchyard/runtime';
import type { InstanceRecord, InstanceState, RegisterInput, RegistryStore, ServiceCount, StoreEvent } from './registry-store';

export interface LeaseTableOptions {
  /** Clock in ms since the epoch. Default `Date.now`; tests pass a fake one. */
  now?: () => number;
  /** Id of a new instance. Default `crypto.randomUUID`. */
  newId?: () => string;
  /** How long a lease lives without a heartbeat. Default 6000 (three missed beats). */
  leaseTtlMs?: number;
  /** How often instances are asked to heartbeat. Default 2000. */
  heartbeatIntervalMs?: number;
}

export const DEFAULT_LEASE_TTL_MS = 6000;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 2000;

type Listener = (event: StoreEvent) => void;

/**
 * The in-memory registry store: instances with leases that heartbeats renew. An expired lease is
 * invisible at once (resolve, heartbeat) and removed, with a REMOVE event, by the next sweep().
 * One instance per (service, address): registering an address again replaces the old entry,
 * so a restarted process does not leave a ghost of itself behind for a whole TTL.
 */
export class LeaseTable implements RegistryStore {
  readonly leaseTtlMs: number;
  readonly heartbeatIntervalMs: number;
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly instances = new Map<string, InstanceRecord>();
  /**
   * Instance ids by service, then by address: Register finds the entry an address replaces, and
   * Resolve and Watch read one service, without a scan of every instance (10,000 of them made
   * registering a fleet quadratic).
   */
  private readonly idsByService = new Map<string, Map<string, string>>();
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(options: LeaseTableOptions = {}) {
    this.now = options.now ?? Date.now;
    this.newId = options.newId ?? randomUUID;
    this.leaseTtlMs = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    if (this.heartbeatIntervalMs >= this.leaseTtlMs) {
      throw new Error(`heartbeat interval (${this.heartbeatIntervalMs} ms) must be shorter than the lease TTL (${this.leaseTtlMs} ms)`);
    }
  }

  register(input: RegisterInput): InstanceRecord {
    const now = this.now();
    const replaced = this.idsByService.get(input.serviceName)?.get(input.address);
    if (replaced !== undefined) this.remove(this.instances.get(replaced)!);
    const instance: InstanceRecord = {
      instanceId: this.newId(),
      serviceName: input.serviceName,
      address: input.address,
      version: input.version,
      metadata: { ...input.metadata },
      zone: input.zone ?? '',
      state: input.state ?? 'SERVING',
      registeredAt: now,
      leaseExpiresAt: now + this.leaseTtlMs,
    };
    this.instances.set(instance.instanceId, instance);
    let ids = this.idsByService.get(instance.serviceName);
    if (!ids) this.idsByService.set(instance.serviceName, (ids = new Map()));
    ids.set(instance.address, instance.instanceId);
    this.emit(instance.serviceName, { type: 'upsert', instance });
    return instance;
  }

  heartbeat(instanceId: string, state?: InstanceState): InstanceRecord {
    const current = this.live(instanceId);
    if (!current) throw new NotFoundError('instance', instanceId);
    const renewed: InstanceRecord = { ...current, state: state ?? current.state, leaseExpiresAt: this.now() + this.leaseTtlMs };
    this.instances.set(instanceId, renewed);
    // A renewal alone is not news to watchers; a state change is.
    if (renewed.state !== current.state) this.emit(renewed.serviceName, { type: 'upsert', instance: renewed });
    return renewed;
  }

  deregister(instanceId: string): void {
    const instance = this.instances.get(instanceId);
    if (instance) this.remove(instance);
  }

  resolve(serviceName: string): InstanceRecord[] {
    const now = this.now();
    const live: InstanceRecord[] = [];
    for (const id of this.idsByService.get(serviceName)?.values() ?? []) {
      const instance = this.instances.get(id)!;
      if (instance.leaseExpiresAt > now) live.push(instance);
    }
    return live;
  }

  listServices(): ServiceCount[] {
    const now = this.now();
    const counts: Array<[string, number]> = [];
    for (const [serviceName, ids] of this.idsByService) {
      let live = 0;
      for (const id of ids.values()) if (this.instances.get(id)!.leaseExpiresAt > now) live += 1;
      if (live > 0) counts.push([serviceName, live]);
    }
    return counts
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([serviceName, instanceCount]) => ({ serviceName, instanceCount }));
  }

  /** Removes every expired lease (telling watchers) and returns what it removed. */
  sweep(): InstanceRecord[] {
    const now = this.now();
    const expired: InstanceRecord[] = [];
    for (const instance of this.instances.values()) if (instance.leaseExpiresAt <= now) expired.push(instance);
    for (const instance of expired) this.remove(instance);
    return expired;
  }

  watch(serviceName: string, listener: Listener): () => void {
    let listeners = this.listeners.get(serviceName);
    if (!listeners) this.listeners.set(serviceName, (listeners = new Set()));
    listeners.add(listener);
    listener({ type: 'snapshot', instances: this.resolve(serviceName) });
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.listeners.get(serviceName) === listeners) this.listeners.delete(serviceName);
    };
  }

  private live(instanceId: string): InstanceRecord | undefined {
    const instance = this.instances.get(instanceId);
    if (instance && instance.leaseExpiresAt <= this.now()) {
      this.remove(instance);
      return undefined;
    }
    return instance;
  }

  private remove(instance: InstanceRecord): void {
    this.instances.delete(instance.instanceId);
    const ids = this.idsByService.get(instance.serviceName);
    if (ids?.get(instance.address) === instance.instanceId) {
      ids.delete(instance.address);
      if (ids.size === 0) this.idsByService.delete(instance.serviceName);
    }
    this.emit(instance.serviceName, { type: 'remove', instance });
  }

  private emit(serviceName: string, event: StoreEvent): void {
    for (const listener of [...(this.listeners.get(serviceName) ?? [])]) listener(event);
  }
}
