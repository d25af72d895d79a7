import { randomUUID } from 'node:crypto';
import { AlreadyExistsError, NotFoundError, PermissionDeniedError, ResourceExhaustedError } from '@switchyard/runtime';
import { leaseSecretDigest, matchesLeaseSecret, newLeaseSecret } from './lease-secret';
import { newInstanceRecord, type InstanceRecord, type InstanceState, type RegisterInput, type RegisteredInstance, type RegistryStore, type ServiceCount, type StoreEvent } from './registry-store';

export interface LeaseTableOptions {
  /** Clock in ms since the epoch. Default `Date.now`; tests pass a fake one. */
  now?: () => number;
  /** Id of a new instance. Default `crypto.randomUUID`. */
  newId?: () => string;
  /** How long a lease lives without a heartbeat. Default 6000 (three missed beats). */
  leaseTtlMs?: number;
  /** How often instances are asked to heartbeat. Default 2000. */
  heartbeatIntervalMs?: number;
  /** A new lease secret. Default 32 random bytes, base64url. */
  newSecret?: () => string;
  /** Live instances of all services together. Default 10000 (REGISTRY_MAX_INSTANCES). */
  maxInstances?: number;
  /** Live instances of one service. Default 256 (REGISTRY_MAX_INSTANCES_PER_SERVICE). */
  maxInstancesPerService?: number;
}

export const DEFAULT_LEASE_TTL_MS = 6000;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 2000;
export const DEFAULT_MAX_INSTANCES = 10_000;
export const DEFAULT_MAX_INSTANCES_PER_SERVICE = 256;

type Listener = (event: StoreEvent) => void;

/**
 * The in-memory registry store: instances with leases that heartbeats renew. An expired lease is
 * invisible at once (resolve, heartbeat) and removed, with a REMOVE event, by the next sweep().
 * One instance per (service, address), owned by whoever holds its lease secret: an address held by
 * a live lease is refused to anyone else, and the holder (a restarted process presenting its old
 * secret) replaces its old entry at once instead of leaving a ghost of itself for a whole TTL.
 */
export class LeaseTable implements RegistryStore {
  readonly leaseTtlMs: number;
  readonly heartbeatIntervalMs: number;
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly newSecret: () => string;
  private readonly maxInstances: number;
  private readonly maxInstancesPerService: number;
  /** SHA-256 of each instance's lease secret, by instance id; never in a record, so never in a response. */
  private readonly secretDigests = new Map<string, Buffer>();
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
    this.newSecret = options.newSecret ?? newLeaseSecret;
    this.maxInstances = options.maxInstances ?? DEFAULT_MAX_INSTANCES;
    this.maxInstancesPerService = options.maxInstancesPerService ?? DEFAULT_MAX_INSTANCES_PER_SERVICE;
    this.leaseTtlMs = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    if (this.heartbeatIntervalMs >= this.leaseTtlMs) {
      throw new Error(`heartbeat interval (${this.heartbeatIntervalMs} ms) must be shorter than the lease TTL (${this.leaseTtlMs} ms)`);
    }
  }

  register(input: RegisterInput): RegisteredInstance {
    const heldBy = this.idsByService.get(input.serviceName)?.get(input.address);
    const holder = heldBy === undefined ? undefined : this.live(heldBy);
    if (holder && !matchesLeaseSecret(this.secretDigests.get(holder.instanceId)!, input.leaseSecret)) {
      throw new AlreadyExistsError(
        `address ${input.address} is held by a live instance of ${input.serviceName}; present its lease_secret, or wait until its lease expires (at most ${this.leaseTtlMs} ms)`,
      );
    }
    if (!holder) this.checkRoomFor(input.serviceName);
    else this.remove(holder);
    const now = this.now();
    const instanceId = this.newId();
    const leaseSecret = this.newSecret();
    const instance = newInstanceRecord(input, instanceId, now, now + this.leaseTtlMs);
    this.instances.set(instance.instanceId, instance);
    this.secretDigests.set(instance.instanceId, leaseSecretDigest(leaseSecret));
    let ids = this.idsByService.get(instance.serviceName);
    if (!ids) this.idsByService.set(instance.serviceName, (ids = new Map()));
    ids.set(instance.address, instance.instanceId);
    this.emit(instance.serviceName, { type: 'upsert', instance });
    return { ...instance, leaseSecret };
  }

  heartbeat(instanceId: string, leaseSecret: string, state?: InstanceState): InstanceRecord {
    const current = this.live(instanceId);
    if (!current) throw new NotFoundError('instance', instanceId);
    this.requireSecret(current, leaseSecret);
    const renewed: InstanceRecord = { ...current, state: state ?? current.state, leaseExpiresAt: this.now() + this.leaseTtlMs };
    this.instances.set(instanceId, renewed);
    // A renewal alone is not news to watchers; a state change is.
    if (renewed.state !== current.state) this.emit(renewed.serviceName, { type: 'upsert', instance: renewed });
    return renewed;
  }

  deregister(instanceId: string, leaseSecret: string): void {
    const instance = this.live(instanceId);
    if (!instance) return;
    this.requireSecret(instance, leaseSecret);
    this.remove(instance);
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

  private requireSecret(instance: InstanceRecord, leaseSecret: string): void {
    if (!matchesLeaseSecret(this.secretDigests.get(instance.instanceId)!, leaseSecret)) {
      throw new PermissionDeniedError(
        `instance "${instance.instanceId}" belongs to another lease: send the lease_secret its Register returned`,
      );
    }
  }

  /** Throws ResourceExhaustedError when one more instance of `serviceName` would pass a cap. */
  private checkRoomFor(serviceName: string): void {
    const full = () =>
      this.instances.size >= this.maxInstances || (this.idsByService.get(serviceName)?.size ?? 0) >= this.maxInstancesPerService;
    // Expired leases still count until swept; sweep before refusing anyone.
    if (full()) this.sweep();
    if (this.instances.size >= this.maxInstances) {
      throw new ResourceExhaustedError(`the registry holds its limit of ${this.maxInstances} instances (REGISTRY_MAX_INSTANCES)`);
    }
    if ((this.idsByService.get(serviceName)?.size ?? 0) >= this.maxInstancesPerService) {
      throw new ResourceExhaustedError(
        `service ${serviceName} has its limit of ${this.maxInstancesPerService} instances (REGISTRY_MAX_INSTANCES_PER_SERVICE)`,
      );
    }
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
    this.secretDigests.delete(instance.instanceId);
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
