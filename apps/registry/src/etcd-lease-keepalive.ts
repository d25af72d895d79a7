import type { Etcd3, IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from 'etcd3';

type KeepAliveStream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;

interface Pending {
  resolve(ttlSeconds: number): void;
  reject(error: Error): void;
}

/**
 * Renews etcd leases over one shared keepalive stream, instead of a stream per heartbeat (opening
 * one costs more than the renewal, and a fleet heartbeats thousands of times a second). etcd
 * answers each request with the lease id, in order, so answers are matched by id. When the stream
 * fails, everything waiting on it fails with the error and the next renewal opens a new stream,
 * on whichever member etcd3 picks.
 */
export class EtcdLeaseKeepAlive {
  private stream: Promise<KeepAliveStream> | undefined;
  /** Renewals waiting for etcd's answer, by lease id, oldest first. */
  private readonly pending = new Map<string, Pending[]>();

  constructor(private readonly client: Etcd3) {}

  /** Renews `leaseId` once; resolves with its new TTL in seconds (0 or less: it had expired). */
  async renew(leaseId: string, timeoutMs: number): Promise<number> {
    const streamPromise = (this.stream ??= this.open());
    const stream = await streamPromise;
    if (this.stream !== streamPromise) throw new Error('the etcd keepalive stream failed');
    return new Promise<number>((resolve, reject) => {
      const renewal: Pending = {
        resolve: (ttl) => {
          clearTimeout(timer);
          resolve(ttl);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        const error = new Error(`etcd did not renew lease ${leaseId} within ${timeoutMs} ms`);
        renewal.reject(error);
        // No answer in time: the stream is probably stuck on a member that stopped answering.
        this.fail(streamPromise, error);
      }, timeoutMs);
      timer.unref();
      const waiting = this.pending.get(leaseId) ?? [];
      waiting.push(renewal);
      this.pending.set(leaseId, waiting);
      stream.write({ ID: leaseId });
    });
  }

  close(): void {
    if (this.stream) this.fail(this.stream, new Error('the registry store closed'));
  }

  private open(): Promise<KeepAliveStream> {
    const opening = this.client.leaseClient.leaseKeepAlive().then((stream) => {
      stream.on('data', (response: ILeaseKeepAliveResponse) => {
        const waiting = this.pending.get(response.ID);
        const first = waiting?.shift();
        if (waiting?.length === 0) this.pending.delete(response.ID);
        first?.resolve(Number(response.TTL));
      });
      stream.on('error', (error: Error) => this.fail(opening, error));
      stream.on('end', () => this.fail(opening, new Error('etcd ended the keepalive stream')));
      return stream;
    });
    opening.catch((error: Error) => this.fail(opening, error));
    return opening;
  }

  /** Drops `stream` (if it is still the current one) and fails everything waiting on it. */
  private fail(stream: Promise<KeepAliveStream>, error: Error): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    const waiting = [...this.pending.values()].flat();
    this.pending.clear();
    for (const renewal of waiting) renewal.reject(error);
    void stream.then((open) => open.end(), () => undefined);
  }
}
