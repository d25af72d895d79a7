import { constants, type Http2Session } from 'node:http2';
import { Server, type deserialize as Deserialize, type serialize as Serialize, type ServerCredentials, type ServerOptions, type UntypedHandleCall } from '@grpc/grpc-js';
import type { ServerLimits } from '../config/server-limits-config';
import { http2ServersOf } from './grpc-http2-servers';
import { limitMetadataSize } from './metadata-size-limit';
import { guardPingRateOf } from './ping-rate-guard';
import { serverOptionsFor } from './server-limits';

/**
 * The grpc-js Server as Switchyard runs it: enforcing `limits` (grpc-js's own options, and
 * on each connection the ping rate, which grpc-js does not enforce), without the per-call work
 * nothing here reads:
 *
 * - Channelz is off. With it on, grpc-js keeps per-call counters, timestamps and four closures on
 *   every call. grpc-js 1.14 then forgets its sessions on forceShutdown, so this server keeps
 *   them itself and closes them there.
 * - The request metadata limit wraps each method's handler as it is registered (health and
 *   reflection included) instead of a server interceptor, which would add a layer under every
 *   event of every call.
 */
export class GrpcServer extends Server {
  private readonly openSessions = new Set<Http2Session>();
  private readonly trackedHttp2Servers = new WeakSet<object>();

  /** `extra` options win over the limits' own. */
  constructor(
    private readonly limits: ServerLimits,
    extra: ServerOptions = {},
  ) {
    super({ ...serverOptionsFor(limits, extra), 'grpc.enable_channelz': 0 });
  }

  override register<RequestType, ResponseType>(
    name: string,
    handler: UntypedHandleCall,
    serialize: Serialize<ResponseType>,
    deserialize: Deserialize<RequestType>,
    type: string,
  ): boolean {
    return super.register(name, limitMetadataSize(handler, type, this.limits.maxMetadataBytes), serialize, deserialize, type);
  }

  override bindAsync(port: string, credentials: ServerCredentials, callback: (error: Error | null, port: number) => void): void {
    super.bindAsync(port, credentials, (error, boundPort) => {
      // Connections are accepted on a later turn than this callback, so none is missed.
      if (!error) this.watchConnections();
      callback(error, boundPort);
    });
  }

  override forceShutdown(): void {
    super.forceShutdown();
    for (const session of this.openSessions) session.destroy(undefined, constants.NGHTTP2_CANCEL);
    this.openSessions.clear();
  }

  private watchConnections(): void {
    for (const http2Server of http2ServersOf(this)) {
      if (this.trackedHttp2Servers.has(http2Server)) continue;
      this.trackedHttp2Servers.add(http2Server);
      guardPingRateOf(http2Server, { minIntervalMs: this.limits.keepaliveMinPingIntervalMs });
      http2Server.on('session', (session: Http2Session) => {
        this.openSessions.add(session);
        session.once('close', () => this.openSessions.delete(session));
      });
    }
  }
}
