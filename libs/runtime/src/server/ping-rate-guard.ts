import { constants, type Http2SecureServer, type Http2Server, type Http2Session } from 'node:http2';

export interface PingRateOptions {
  /** Pings closer together than this are strikes; 0 turns the guard off. */
  minIntervalMs: number;
  /** Strikes tolerated in a row before the connection is closed (gRPC core: 2). */
  maxStrikes?: number;
  /** After the GOAWAY, how long calls in flight may finish before the connection is cut. */
  graceMs?: number;
}

const TOO_MANY_PINGS = Buffer.from('too_many_pings');

/**
 * Closes a connection whose peer pings more often than `minIntervalMs`, as gRPC core servers do:
 * GOAWAY with ENHANCE_YOUR_CALM and "too_many_pings", then the connection ends. grpc-js answers
 * every PING and enforces no interval, so a flood of pings costs the server unbounded work.
 * A ping at least the interval after the previous one clears the strikes, and so does a new call,
 * as in gRPC core (where sending headers or data does): clients that ping along with their calls
 * (grpc-go's flow-control pings, grpcurl) are not mistaken for a flood.
 */
export function guardPingRate(session: Http2Session, options: PingRateOptions): void {
  const { minIntervalMs, maxStrikes = 2, graceMs = 1_000 } = options;
  if (minIntervalMs <= 0) return;
  let lastPingAt: number | undefined;
  let strikes = 0;
  // The GOAWAY names the last stream taken, so the client knows which calls were never seen.
  let lastStreamId = 0;
  const onStream = (stream: { id?: number }) => {
    lastStreamId = Math.max(lastStreamId, stream.id ?? 0);
    strikes = 0;
    lastPingAt = undefined;
  };
  const onPing = () => {
    const now = performance.now();
    const early = lastPingAt !== undefined && now - lastPingAt < minIntervalMs;
    lastPingAt = now;
    strikes = early ? strikes + 1 : 0;
    if (strikes <= maxStrikes || session.closed || session.destroyed) return;
    session.off('ping', onPing);
    session.off('stream', onStream);
    try {
      session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM, lastStreamId, TOO_MANY_PINGS);
      session.close();
      setTimeout(() => session.destroy(), graceMs).unref();
    } catch {
      session.destroy();
    }
  };
  session.on('ping', onPing);
  session.on('stream', onStream);
}

/** Applies guardPingRate to every connection `server` accepts from now on. */
export function guardPingRateOf(server: Http2Server | Http2SecureServer, options: PingRateOptions): void {
  server.on('session', (session: Http2Session) => guardPingRate(session, options));
}
