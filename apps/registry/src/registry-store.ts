// The registry's storage contract. The in-memory LeaseTable implements it; EtcdStore (leases and
// watches in etcd) replaces it for several stateless registry replicas. Results may be promises so
// that a remote store fits the same shape; the handlers always await them.

export type InstanceState = 'SERVING' | 'DRAINING';

/** One registered, live instance of a service. */
export interface InstanceRecord {
  readonly instanceId: string;
  readonly serviceName: string;
  /** What clients dial, host:port. */
  readonly address: string;
  readonly version: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly zone: string;
  readonly state: InstanceState;
  /** ms since the epoch */
  readonly registeredAt: number;
  /** ms since the epoch; the instance is gone at or after this time unless it heartbeats. */
  readonly leaseExpiresAt: number;
}

/** What Register stores, already validated. */
export interface RegisterInput {
  serviceName: string;
  address: string;
  version: string;
  metadata?: Record<string, string>;
  zone?: string;
  /** Default SERVING. */
  state?: InstanceState;
  /** The secret of the live lease at this address, if the caller holds it: it replaces that lease. */
  leaseSecret?: string;
}

/** The record a store keeps for a new registration: `input` with its defaults filled in. */
export function newInstanceRecord(input: RegisterInput, instanceId: string, registeredAt: number, leaseExpiresAt: number): InstanceRecord {
  return {
    instanceId,
    serviceName: input.serviceName,
    address: input.address,
    version: input.version,
    metadata: { ...input.metadata },
    zone: input.zone ?? '',
    state: input.state ?? 'SERVING',
    registeredAt,
    leaseExpiresAt,
  };
}

/** A new lease: the instance and the secret that Heartbeat and Deregister need. Only Register sees the secret. */
export interface RegisteredInstance extends InstanceRecord {
  readonly leaseSecret: string;
}

export interface ServiceCount {
  serviceName: string;
  instanceCount: number;
}

/** What a watcher of one service sees: a snapshot first, then each change. */
export type StoreEvent =
  | { type: 'snapshot'; instances: InstanceRecord[] }
  | { type: 'upsert'; instance: InstanceRecord }
  | { type: 'remove'; instance: InstanceRecord };

type Awaitable<T> = T | Promise<T>;

export interface RegistryStore {
  /** Lease length and the heartbeat interval the registry asks of its instances. */
  readonly leaseTtlMs: number;
  readonly heartbeatIntervalMs: number;
  /**
   * Adds an instance with a new lease secret. Throws AlreadyExistsError when another live lease
   * holds the address (unless `input.leaseSecret` is its secret), ResourceExhaustedError at a cap.
   */
  register(input: RegisterInput): Awaitable<RegisteredInstance>;
  /**
   * Renews the lease (and changes the state when given); throws NotFoundError for unknown or
   * expired ids, PermissionDeniedError when `leaseSecret` is not the lease's.
   */
  heartbeat(instanceId: string, leaseSecret: string, state?: InstanceState): Awaitable<InstanceRecord>;
  /** Removes the instance; unknown ids are fine (deregistering twice is not an error), a wrong secret is not. */
  deregister(instanceId: string, leaseSecret: string): Awaitable<void>;
  /** The live instances of one service. */
  resolve(serviceName: string): Awaitable<InstanceRecord[]>;
  /** Every service with at least one live instance, by name. */
  listServices(): Awaitable<ServiceCount[]>;
  /**
   * Calls `listener` with a snapshot of the service first (at once, or as soon as a remote store
   * has read it), then with every change; returns unsubscribe. A remote store may send a fresh
   * snapshot later, after it lost changes (the listener replaces what it knew).
   */
  watch(serviceName: string, listener: (event: StoreEvent) => void): () => void;
}
