import { performance } from 'node:perf_hooks';

export interface StreamResetPacingOptions {
  /** Resets allowed per second, over time. Default 16, half what Node's HTTP/2 server tolerates. */
  perSecond: number;
  /** Resets allowed at once on top (the bucket's size, full at start). Default 500, half Node's. */
  burst: number;
}

export const DEFAULT_STREAM_RESET_PACING: StreamResetPacingOptions = Object.freeze({ perSecond: 16, burst: 500 });

/**
 * The attempts a client may cancel on one target when another attempt of the same call has
 * answered. Each such cancel is an HTTP/2 RST_STREAM, and a server on Node's HTTP/2 (nghttp2 1.57
 * and later, so every grpc-js server) takes a client that resets more than 1,000 streams at once,
 * or 33 a second over time, for a "rapid reset" attack: it closes the connection, and every call
 * in flight on it fails (UNAVAILABLE, see channel-call.ts). Beyond this budget a losing attempt is left to finish on its own
 * and its answer is dropped. A caller's own cancel and a deadline are not paced: they end the call.
 */
export class StreamResetPacing {
  private readonly perMs: number;
  private readonly burst: number;
  private tokens: number;
  private updatedAt: number;

  constructor(
    { perSecond, burst }: StreamResetPacingOptions = DEFAULT_STREAM_RESET_PACING,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(perSecond >= 0)) throw new RangeError(`stream reset pacing: perSecond must be >= 0, got ${perSecond}`);
    if (!(burst >= 1)) throw new RangeError(`stream reset pacing: burst must be >= 1, got ${burst}`);
    this.perMs = perSecond / 1000;
    this.burst = burst;
    this.tokens = burst;
    this.updatedAt = now();
  }

  /** Takes one reset from the budget if there is one left. */
  tryReset(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.updatedAt) * this.perMs);
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
