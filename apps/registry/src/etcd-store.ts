import { randomUUID } from 'node:crypto';
import { AlreadyExistsError, NotFoundError, PermissionDeniedError, ResourceExhaustedError } from '@switchyard/runtime';
import { EtcdLeaseInvalidError, type Etcd3, type IKeyValue, type IRequestOp } from 'etcd3';
import type { Logger } from 'pino';
import { DEFAULT_ETCD_PREFIX, EtcdKeyLayout } from './etcd-key-layout';
import { EtcdLeaseKeepAlive } from './etcd-lease-keepalive';
import { EtcdServiceWatches, parseInstanceRecord } from './etcd-service-watches';
import { asStoreError } from './etcd-unavailable';
import { leaseSecretDigest, matchesLeaseSecret, newLeaseSecret } from './lease-secret';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_LEASE_TTL_MS, DEFAULT_MAX_INSTANCES, DEFAULT_MAX_INSTANCES_PER_SERVICE } from './lease-table';
import { newInstanceRecord, type InstanceRecord, type InstanceState, type RegisterInput, type RegisteredInstance, type RegistryStore, type ServiceCount, type StoreEvent } from './registry-store';

export interface EtcdStoreOptions {
  /** A connected client (connectEtcd); the store does not close it. */
  client: Etcd3;
  /** How many etcd members the client knows: a renewal tries up to twice as many times. Default 3. */
  memberCount?: number;
  /** Prefix of every key. Default `/switchyard/registry/` (ETCD_PREFIX). */
  prefix?: string;
  /** Lease length; etcd counts in whole seconds, so it is rounded up (at least 1 s). Default 6000. */
  leaseTtlMs?: number;
  /** How often instances are asked to heartbeat. Default 2000. */
  heartbeatIntervalMs?: number;
  /** Live instances of all services together. Default 10000 (REGISTRY_MAX_INSTANCES). */
  maxInstances?: number;
  /** Live instances of one service. Default 256 (REGISTRY_MAX_INSTANCES_PER_SERVICE). */
  maxInstancesPerService?: number;
  /** Clock in ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Id of a new instance. Default `crypto.randomUUID`. */
  newId?: () => string;
  /** A new lease secret. Default 32 random bytes, base64url. */
  newSecret?: () => string;
  logger?: Logger;
}

/**
 * What the lease key holds: enough for any replica to check a secret, renew the lease and answer a
 * Heartbeat with one read. The record is a copy of the instance key's, rewritten with it.
 */
interface LeaseInfo {
  record: InstanceRecord;
  /** The etcd lease id (an int64, as a decimal string). */
  leaseId: string;
  /** SHA-256 of the lease secret, base64; never the secret. */
  secretSha256: string;
}

/** Register retries this often when another replica changes the same address between its read and its write. */
const REGISTER_ATTEMPTS = 5;

/**
 * The registry's store on etcd, for several stateless registry replicas (as go-zero and Kratos use
 * etcd): one etcd lease per instance, renewed by Heartbeat and expired by etcd, which deletes the
 * instance's keys; address ownership decided by etcd transactions, so it holds across replicas;
 * Watch fed by etcd watches. Any replica can serve any call. Keys: etcd-key-layout.ts.
 */
export class EtcdStore implements RegistryStore {
  readonly leaseTtlMs: number;
  readonly heartbeatIntervalMs: number;
  private readonly client: Etcd3;
  private readonly keys: EtcdKeyLayout;
  private readonly ttlSeconds: number;
  private readonly maxInstances: number;
  private readonly maxInstancesPerService: number;
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly newSecret: () => string;
  private readonly watches: EtcdServiceWatches;
  private readonly memberCount: number;
  private readonly keepAlives: EtcdLeaseKeepAlive;

  constructor(options: EtcdStoreOptions) {
    this.client = options.client;
    this.keys = new EtcdKeyLayout(options.prefix ?? DEFAULT_ETCD_PREFIX);
    this.leaseTtlMs = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    if (this.heartbeatIntervalMs >= this.leaseTtlMs) {
      throw new Error(`heartbeat interval (${this.heartbeatIntervalMs} ms) must be shorter than the lease TTL (${this.leaseTtlMs} ms)`);
    }
    this.ttlSeconds = Math.max(1, Math.ceil(this.leaseTtlMs / 1000));
    this.maxInstances = options.maxInstances ?? DEFAULT_MAX_INSTANCES;
    this.maxInstancesPerService = options.maxInstancesPerService ?? DEFAULT_MAX_INSTANCES_PER_SERVICE;
    this.now = options.now ?? Date.now;
    this.newId = options.newId ?? randomUUID;
    this.newSecret = options.newSecret ?? newLeaseSecret;
    this.watches = new EtcdServiceWatches(this.client, this.keys, options.logger);
    this.memberCount = Math.max(1, options.memberCount ?? 3);
    this.keepAlives = new EtcdLeaseKeepAlive(this.client);
  }

  async register(input: RegisterInput): Promise<RegisteredInstance> {
    try {
      for (let attempt = 0; attempt < REGISTER_ATTEMPTS; attempt += 1) {
        const registered = await this.tryRegister(input);
        if (registered) return registered;
      }
    } catch (error) {
      throw asStoreError(error);
    }
    throw asStoreError(new Error(`address ${input.address} of ${input.serviceName} changed hands ${REGISTER_ATTEMPTS} times while registering`));
  }

  async heartbeat(instanceId: string, leaseSecret: string, state?: InstanceState): Promise<InstanceRecord> {
    try {
      const found = await this.leaseInfo(instanceId);
      if (!found) throw new NotFoundError('instance', instanceId);
      const { info, modRevision } = found;
      this.requireSecret(instanceId, info, leaseSecret);
      const ttlSeconds = await this.keepAlive(info.leaseId);
      if (ttlSeconds <= 0) throw new NotFoundError('instance', instanceId);
      const leaseExpiresAt = this.now() + ttlSeconds * 1000;
      if (state === undefined || state === info.record.state) return { ...info.record, leaseExpiresAt };
      // A state change is news to watchers: rewrite the record and its copy in the lease key (on
      // the same lease), unless they changed or vanished since they were read.
      const changed: InstanceRecord = { ...info.record, state, leaseExpiresAt };
      const leaseKey = this.keys.lease(instanceId);
      const written = await this.client.kv.txn({
        compare: [{ key: leaseKey, target: 'Mod', result: 'Equal', mod_revision: modRevision }],
        success: [
          { request_put: { key: this.keys.instance(changed.serviceName, instanceId), value: Buffer.from(JSON.stringify(changed)), lease: info.leaseId } },
          { request_put: { key: leaseKey, value: Buffer.from(JSON.stringify({ ...info, record: changed })), lease: info.leaseId } },
        ],
      });
      if (!written.succeeded) return await this.heartbeat(instanceId, leaseSecret, state);
      return changed;
    } catch (error) {
      throw asStoreError(error);
    }
  }

  async deregister(instanceId: string, leaseSecret: string): Promise<void> {
    try {
      const found = await this.leaseInfo(instanceId);
      if (!found) return;
      this.requireSecret(instanceId, found.info, leaseSecret);
      // Revoking the lease deletes all three keys of the instance at once.
      await this.revoke(found.info.leaseId);
    } catch (error) {
      throw asStoreError(error);
    }
  }

  async resolve(serviceName: string): Promise<InstanceRecord[]> {
    try {
      const prefix = this.keys.service(serviceName);
      const { kvs } = await this.client.kv.range({ key: prefix, range_end: EtcdKeyLayout.rangeEnd(prefix) });
      return kvs.map((kv) => parseInstanceRecord(kv.value)).filter((instance) => instance !== undefined);
    } catch (error) {
      throw asStoreError(error);
    }
  }

  async listServices(): Promise<ServiceCount[]> {
    try {
      // Keys only: the count of records per service, without reading the records.
      const { kvs } = await this.client.kv.range({
        key: this.keys.firstServiceKey(),
        range_end: EtcdKeyLayout.rangeEnd(Buffer.from(this.keys.prefix)),
        keys_only: true,
      });
      const counts = new Map<string, number>();
      for (const kv of kvs) {
        const serviceName = this.keys.serviceOf(kv.key);
        if (serviceName !== undefined) counts.set(serviceName, (counts.get(serviceName) ?? 0) + 1);
      }
      // etcd returns keys in byte order, which is name order for service names.
      return [...counts].map(([serviceName, instanceCount]) => ({ serviceName, instanceCount }));
    } catch (error) {
      throw asStoreError(error);
    }
  }

  watch(serviceName: string, listener: (event: StoreEvent) => void): () => void {
    return this.watches.watch(serviceName, listener);
  }

  /** Ends every etcd watch and the keepalive stream of this store (the client stays open). */
  close(): void {
    this.watches.closeAll();
    this.keepAlives.close();
  }

  /** One attempt; undefined when the address changed hands between the read and the write. */
  private async tryRegister(input: RegisterInput): Promise<RegisteredInstance | undefined> {
    const addressKey = this.keys.address(input.serviceName, input.address);
    const held = (await this.client.kv.range({ key: addressKey })).kvs[0];
    const holderId = held?.value.toString();
    const holder = holderId === undefined ? undefined : (await this.leaseInfo(holderId))?.info;
    if (holder && !matchesLeaseSecret(Buffer.from(holder.secretSha256, 'base64'), input.leaseSecret)) {
      throw new AlreadyExistsError(
        `address ${input.address} is held by a live instance of ${input.serviceName}; present its lease_secret, or wait until its lease expires (at most ${this.leaseTtlMs} ms)`,
      );
    }
    if (!holder) await this.checkRoomFor(input.serviceName);
    const { ID: leaseId } = await this.client.leaseClient.leaseGrant({ TTL: this.ttlSeconds });
    const now = this.now();
    const instanceId = this.newId();
    const leaseSecret = this.newSecret();
    const instance = newInstanceRecord(input, instanceId, now, now + this.ttlSeconds * 1000);
    const info: LeaseInfo = {
      record: instance,
      leaseId,
      secretSha256: leaseSecretDigest(leaseSecret).toString('base64'),
    };
    const put = (key: Buffer, value: string): IRequestOp => ({ request_put: { key, value: Buffer.from(value), lease: leaseId } });
    // The holder's keys go in the same transaction, before the new record: watchers see its
    // removal, then the new instance.
    const replaced: IRequestOp[] = holder
      ? [{ request_delete_range: { key: this.keys.instance(holder.record.serviceName, holderId!) } }, { request_delete_range: { key: this.keys.lease(holderId!) } }]
      : [];
    const written = await this.client.kv.txn({
      // The address is still as it was read: held by the same key version, or free.
      compare: [held ? { key: addressKey, target: 'Mod', result: 'Equal', mod_revision: held.mod_revision } : { key: addressKey, target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [
        ...replaced,
        put(this.keys.instance(input.serviceName, instanceId), JSON.stringify(instance)),
        put(this.keys.lease(instanceId), JSON.stringify(info)),
        put(addressKey, instanceId),
      ],
    });
    if (!written.succeeded) {
      await this.revoke(leaseId);
      return undefined;
    }
    // The holder's lease holds no key any more; revoking it just frees it in etcd.
    if (holder) await this.revoke(holder.leaseId).catch(() => undefined);
    return { ...instance, leaseSecret };
  }

  /** Throws ResourceExhaustedError when one more instance of `serviceName` would pass a cap. */
  private async checkRoomFor(serviceName: string): Promise<void> {
    // Both counts in one round trip, from one revision. Two replicas registering at the same
    // moment can both pass a cap by one each: caps bound growth, they are not exact quotas.
    const count = (prefix: Buffer): IRequestOp => ({ request_range: { key: prefix, range_end: EtcdKeyLayout.rangeEnd(prefix), count_only: true } });
    const { responses } = await this.client.kv.txn({ success: [count(this.keys.leases()), count(this.keys.service(serviceName))] });
    const [total, ofService] = responses.map((response) => Number(response.response_range.count));
    if (total >= this.maxInstances) {
      throw new ResourceExhaustedError(`the registry holds its limit of ${this.maxInstances} instances (REGISTRY_MAX_INSTANCES)`);
    }
    if (ofService >= this.maxInstancesPerService) {
      throw new ResourceExhaustedError(
        `service ${serviceName} has its limit of ${this.maxInstancesPerService} instances (REGISTRY_MAX_INSTANCES_PER_SERVICE)`,
      );
    }
  }

  private async leaseInfo(instanceId: string): Promise<{ info: LeaseInfo; modRevision: string } | undefined> {
    const kv: IKeyValue | undefined = (await this.client.kv.range({ key: this.keys.lease(instanceId) })).kvs[0];
    if (!kv) return undefined;
    try {
      const info = JSON.parse(kv.value.toString()) as Partial<LeaseInfo> | null;
      // Anything else under the prefix (written by hand) owns nothing.
      if (typeof info?.leaseId !== 'string' || typeof info.secretSha256 !== 'string' || typeof info.record?.instanceId !== 'string') return undefined;
      return { info: info as LeaseInfo, modRevision: kv.mod_revision };
    } catch {
      return undefined;
    }
  }

  private requireSecret(instanceId: string, info: LeaseInfo, leaseSecret: string): void {
    if (!matchesLeaseSecret(Buffer.from(info.secretSha256, 'base64'), leaseSecret)) {
      throw new PermissionDeniedError(`instance "${instanceId}" belongs to another lease: send the lease_secret its Register returned`);
    }
  }

  /**
   * Renews the etcd lease once; returns its new TTL in seconds (0 or less: it had expired). The
   * shared keepalive stream runs on one member, and etcd3 does not move a stream to another when
   * that member dies; a failed renewal tries again on a new stream (up to twice per member, within
   * the deadline), so a heartbeat survives a dead member.
   */
  private async keepAlive(leaseId: string): Promise<number> {
    const deadline = Date.now() + KEEPALIVE_TIMEOUT_MS;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.keepAlives.renew(leaseId, Math.max(1, deadline - Date.now()));
      } catch (error) {
        if (attempt > 2 * this.memberCount || Date.now() >= deadline) throw error;
      }
    }
  }

  /** Revokes an etcd lease, deleting its keys; an expired or unknown lease is fine. */
  private async revoke(leaseId: string): Promise<void> {
    try {
      await this.client.leaseClient.leaseRevoke({ ID: leaseId });
    } catch (error) {
      if (!(error instanceof EtcdLeaseInvalidError)) throw error;
    }
  }
}

/** How long one Heartbeat waits for etcd to renew a lease. */
const KEEPALIVE_TIMEOUT_MS = 5000;
