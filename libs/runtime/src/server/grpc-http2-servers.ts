import type { Server } from '@grpc/grpc-js';
import type { Http2SecureServer, Http2Server } from 'node:http2';

/**
 * The Node HTTP/2 servers behind a bound grpc-js Server. grpc-js (1.14) offers no hook on its
 * connections, and some limits (the ping rate) can only be enforced there; this reads its private
 * `http2Servers` map, and throws rather than silently enforcing nothing if a grpc-js upgrade
 * renames it.
 */
export function http2ServersOf(server: Server): Array<Http2Server | Http2SecureServer> {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) throw new Error('grpc-js no longer keeps its HTTP/2 servers in `http2Servers`; update grpc-http2-servers.ts');
  return [...servers.keys()] as Array<Http2Server | Http2SecureServer>;
}
