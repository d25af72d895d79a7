import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import type { Logger } from 'pino';
import { EtcdKeyLayout } from './etcd-key-layout';
import type { InstanceRecord, StoreEvent } from './registry-store';

type Listener = (event: StoreEvent) => void;

/** How long to wait before reading a service again after etcd failed a snapshot read; doubles up to the max. */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5000;

/**
 * The instance record a key holds, or undefined when it holds something else (a key written under
 * the prefix by hand): skipped, never thrown, since a throw inside a watch callback would end the
 * process.
 */
export function parseInstanceRecord(value: Buffer): InstanceRecord | undefined {
  try {
    const record = JSON.parse(value.toString()) as Partial<InstanceRecord> | null;
    return typeof record?.instanceId === 'string' && typeof record.address === 'string' ? (record as InstanceRecord) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One etcd watch per watched service, shared by every watcher of it in this process. The snapshot
 * is a range read at revision R and the watch starts at R + 1, so no change falls between them
 * and none is told twice. The watch keeps the service's current instances, so a later watcher's
 * snapshot is exactly the state after the last change the others were told. When etcd can no
 * longer replay the changes missed while disconnected (compacted), the service is read afresh
 * and every watcher gets a new snapshot.
 */
export class EtcdServiceWatches {
  private readonly watches = new Map<string, ServiceWatch>();

  constructor(
    private readonly client: Etcd3,
    private readonly keys: EtcdKeyLayout,
    private readonly logger?: Logger,
  ) {}

  watch(serviceName: string, listener: Listener): () => void {
    let watch = this.watches.get(serviceName);
    if (!watch) {
      watch = new ServiceWatch(this.client, this.keys.service(serviceName), serviceName, this.logger);
      this.watches.set(serviceName, watch);
    }
    const shared = watch;
    shared.add(listener);
    return () => {
      if (shared.remove(listener) === 0 && this.watches.get(serviceName) === shared) {
        this.watches.delete(serviceName);
        shared.close();
      }
    };
  }

  /** Services watched now (one etcd watch each). */
  get size(): number {
    return this.watches.size;
  }

  closeAll(): void {
    for (const watch of this.watches.values()) watch.close();
    this.watches.clear();
  }
}

class ServiceWatch {
  private readonly listeners = new Set<Listener>();
  /** The service's instances by record key, once the first snapshot is read. */
  private instances: Map<string, InstanceRecord> | undefined;
  private watcher: Watcher | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = RETRY_FIRST_MS;

  constructor(
    private readonly client: Etcd3,
    private readonly servicePrefix: Buffer,
    private readonly serviceName: string,
    private readonly logger?: Logger,
  ) {
    void this.start();
  }

  add(listener: Listener): void {
    this.listeners.add(listener);
    if (this.instances) listener({ type: 'snapshot', instances: [...this.instances.values()] });
  }

  /** Returns how many listeners are left. */
  remove(listener: Listener): number {
    this.listeners.delete(listener);
    return this.listeners.size;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.stopWatcher();
  }

  /** Reads the snapshot at revision R, tells every listener, then watches from R + 1. */
  private async start(): Promise<void> {
    if (this.closed) return;
    let kvs: IKeyValue[];
    let revision: bigint;
    try {
      const read = await this.client.kv.range({ key: this.servicePrefix, range_end: EtcdKeyLayout.rangeEnd(this.servicePrefix) });
      kvs = read.kvs;
      revision = BigInt(read.header.revision);
    } catch (error) {
      this.retryLater(error);
      return;
    }
    if (this.closed) return;
    this.retryMs = RETRY_FIRST_MS;
    const instances = new Map<string, InstanceRecord>();
    for (const kv of kvs) {
      const instance = parseInstanceRecord(kv.value);
      if (instance) instances.set(kv.key.toString(), instance);
    }
    this.instances = instances;
    this.emit({ type: 'snapshot', instances: [...instances.values()] });
    // watcher() attaches at once, so no event can arrive before the handlers below are on it.
    const watcher = this.client.watch().prefix(this.servicePrefix).withPreviousKV().startRevision((revision + 1n).toString()).watcher();
    this.watcher = watcher;
    watcher.on('put', (kv) => {
      const instance = parseInstanceRecord(kv.value);
      if (!instance) return;
      instances.set(kv.key.toString(), instance);
      this.emit({ type: 'upsert', instance });
    });
    watcher.on('delete', (kv, previous) => {
      const key = kv.key.toString();
      const instance = instances.get(key) ?? (previous ? parseInstanceRecord(previous.value) : undefined);
      instances.delete(key);
      if (instance) this.emit({ type: 'remove', instance });
    });
    watcher.on('disconnected', (error) => {
      // etcd3 reconnects on its own and resumes after the last revision it saw.
      this.logger?.warn({ service_name: this.serviceName, err: error }, 'etcd watch disconnected; reconnecting');
    });
    watcher.on('error', (error) => {
      // The watch was cancelled by etcd (most often: the revision to resume from was compacted).
      if (this.watcher !== watcher) return;
      this.logger?.warn({ service_name: this.serviceName, err: error }, 'etcd watch cancelled; reading the service again');
      this.stopWatcher();
      this.retryLater(error);
    });
  }

  private retryLater(error: unknown): void {
    if (this.closed) return;
    this.logger?.warn({ service_name: this.serviceName, err: error, retry_ms: this.retryMs }, 'reading the watched service from etcd again soon');
    this.retryTimer = setTimeout(() => void this.start(), this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  private stopWatcher(): void {
    const watcher = this.watcher;
    this.watcher = undefined;
    watcher?.removeAllListeners('put').removeAllListeners('delete');
    // cancel() waits for etcd; a failure only means the stream is gone already.
    watcher?.cancel().catch(() => undefined);
  }

  private emit(event: StoreEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }
}
