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
    for (const existing of this.instances.values()) {
      if (existing.serviceName === input.serviceName && existing.address === input.address) this.remove(existing);
    }
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
    return [...this.instances.values()].filter((i) => i.serviceName === serviceName && i.leaseExpiresAt > now);
  }

  listServices(): ServiceCount[] {
    const now = this.now();
    const counts = new Map<string, number>();
    for (const instance of this.instances.values()) {
      if (instance.leaseExpiresAt > now) counts.set(instance.serviceName, (counts.get(instance.serviceName) ?? 0) + 1);
    }
    return [...counts.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([serviceName, instanceCount]) => ({ serviceName, instanceCount }));
  }

  /** Removes every expired lease (telling watchers) and returns what it removed. */
  sweep(): InstanceRecord[] {
    const now = this.now();
    const expired = [...this.instances.values()].filter((i) => i.leaseExpiresAt <= now);
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
    this.emit(instance.serviceName, { type: 'remove', instance });
  }

  private emit(serviceName: string, event: StoreEvent): void {
    for (const listener of [...(this.listeners.get(serviceName) ?? [])]) listener(event);
  }
}
