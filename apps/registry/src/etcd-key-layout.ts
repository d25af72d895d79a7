/** ETCD_PREFIX's default. */
export const DEFAULT_ETCD_PREFIX = '/switchyard/registry/';

/**
 * Where the etcd store keeps what, under one prefix (default `/switchyard/registry/`):
 *
 *   <prefix><service>/<instanceId>           the instance record as JSON: what Resolve and Watch show
 *   <prefix>-leases/<instanceId>              who owns it: etcd lease id, SHA-256 of the lease secret, a copy of the record
 *   <prefix>-addresses/<service>/<address>    the instance id holding that address
 *
 * All three keys of an instance sit on its one etcd lease, so they expire together. Service names
 * start with a letter or digit, so the `-` keys sort before every service and never read as one.
 */
export class EtcdKeyLayout {
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix.endsWith('/') ? prefix : `${prefix}/`;
  }

  instance(serviceName: string, instanceId: string): Buffer {
    return Buffer.from(`${this.prefix}${serviceName}/${instanceId}`);
  }

  /** Every instance record of one service. */
  service(serviceName: string): Buffer {
    return Buffer.from(`${this.prefix}${serviceName}/`);
  }

  lease(instanceId: string): Buffer {
    return Buffer.from(`${this.prefix}-leases/${instanceId}`);
  }

  /** Every lease record: one per live instance of any service. */
  leases(): Buffer {
    return Buffer.from(`${this.prefix}-leases/`);
  }

  address(serviceName: string, address: string): Buffer {
    return Buffer.from(`${this.prefix}-addresses/${serviceName}/${address}`);
  }

  /** The first key of any service's records (service names start at `0`, after the `-` keys). */
  firstServiceKey(): Buffer {
    return Buffer.from(`${this.prefix}0`);
  }

  /** The service a record key belongs to, or undefined for a key of another kind. */
  serviceOf(key: Buffer): string | undefined {
    const rest = key.toString().slice(this.prefix.length);
    const slash = rest.indexOf('/');
    return slash > 0 && !rest.startsWith('-') ? rest.slice(0, slash) : undefined;
  }

  /** The end of the range of every key starting with `prefix` (etcd's range_end). */
  static rangeEnd(prefix: Buffer): Buffer {
    const end = Buffer.from(prefix);
    for (let i = end.length - 1; i >= 0; i -= 1) {
      if (end[i] < 0xff) {
        end[i] += 1;
        return end.subarray(0, i + 1);
      }
    }
    // All 0xff: to the end of the keyspace.
    return Buffer.from([0]);
  }
}
