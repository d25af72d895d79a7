import { ResourceExhaustedError } from '@switchyard/runtime';

/** The host of a grpc-js peer string ("10.0.0.5:41234", "[::1]:41234"); the whole string when it has no port. */
export function peerHost(peer: string): string {
  const match = /^(.*):\d+$/.exec(peer);
  return match ? match[1] : peer;
}

/**
 * Counts open Watch streams by peer host and refuses one past the cap: one host that opens
 * streams without end would otherwise hold the registry's memory. A host's apps need a few each
 * (one per service they call), far below the default.
 */
export class WatchPeerLimit {
  private readonly open = new Map<string, number>();

  /** `streams` names what is counted, and the setting that caps it, in the refusal. */
  constructor(
    private readonly maxPerPeer: number,
    private readonly streams = 'open Watch streams (REGISTRY_MAX_WATCHES_PER_PEER)',
  ) {}

  /** Counts a stream from `peer`; returns the function that releases it (safe to call twice). */
  acquire(peer: string): () => void {
    const host = peerHost(peer);
    const count = this.open.get(host) ?? 0;
    if (count >= this.maxPerPeer) {
      throw new ResourceExhaustedError(`${host} has its limit of ${this.maxPerPeer} ${this.streams}`);
    }
    this.open.set(host, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(host) ?? 1) - 1;
      if (left > 0) this.open.set(host, left);
      else this.open.delete(host);
    };
  }
}
