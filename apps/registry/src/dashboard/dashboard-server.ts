import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger, TlsFiles } from '@switchyard/runtime';
import type { ReadAccess } from '../registry-access';
import { WatchPeerLimit } from '../watch-peer-limit';
import { DASHBOARD_ASSETS } from './dashboard-assets';
import { DashboardSessions, SESSION_COOKIE, sessionIdFrom } from './dashboard-sessions';
import { openEventStream } from './event-stream';
import type { FleetFeed, FleetInstance } from './fleet-feed';

export interface DashboardServerOptions {
  feed: FleetFeed;
  /** HTTP_HOST and HTTP_PORT (0 picks a free port). */
  host: string;
  port: number;
  /** open: anyone; token: a signed-in browser (see DashboardSessions); mtls: the TLS handshake already checked a client certificate. */
  readAccess: ReadAccess;
  /** Required for token access. */
  sessions?: DashboardSessions;
  /** The registry's TLS files: the dashboard serves HTTPS with them, and in mtls mode requires a client certificate signed by their CA. */
  tls?: TlsFiles;
  /** Open event streams per client host. Default 16. */
  maxStreamsPerPeer?: number;
  /** Passed to each event stream. Default 15000. */
  keepAliveMs?: number;
  logger?: Logger;
}

export interface DashboardServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export const DEFAULT_MAX_STREAMS_PER_PEER = 16;
const MAX_LOGIN_BODY_BYTES = 4096;

const SECURITY_HEADERS = {
  // The page runs only its own script and style and talks only to this server: even text that
  // escaped escaping could not run.
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** Live instances grouped by service, for /api/services. */
function byService(instances: FleetInstance[]): Array<{ serviceName: string; instances: FleetInstance[] }> {
  const services = new Map<string, FleetInstance[]>();
  for (const instance of instances) {
    const list = services.get(instance.serviceName) ?? [];
    list.push(instance);
    services.set(instance.serviceName, list);
  }
  return [...services].map(([serviceName, list]) => ({ serviceName, instances: list }));
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  response.end(JSON.stringify(body));
}

function readBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        resolve(undefined);
        request.destroy();
      } else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** The token of a sign-in: a form field or a JSON property named token. */
function tokenFrom(body: string, contentType: string | undefined): string {
  if (contentType?.startsWith('application/json')) {
    try {
      const parsed: unknown = JSON.parse(body);
      const token = (parsed as { token?: unknown } | null)?.token;
      return typeof token === 'string' ? token : '';
    } catch {
      return '';
    }
  }
  return new URLSearchParams(body).get('token') ?? '';
}

/**
 * The registry's dashboard: the page (/, /dashboard.js, /dashboard.css), the fleet as JSON
 * (/api/services), live changes as server-sent events (/events), and in token mode sign-in
 * (/api/session, POST /login, POST /logout). Plain node:http: six routes and one long-lived
 * stream need no framework, and HTTPS with client certificates is Node's own.
 */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const { feed, readAccess, sessions } = options;
  if (readAccess === 'token' && !sessions) throw new Error('token access needs sessions');
  if (readAccess === 'mtls' && !options.tls) throw new Error('mtls access needs the TLS files');
  const streams = new WatchPeerLimit(options.maxStreamsPerPeer ?? DEFAULT_MAX_STREAMS_PER_PEER, 'open dashboard event streams (close some of its dashboard tabs)');
  const secure = options.tls !== undefined;
  const signedIn = (request: IncomingMessage) => readAccess !== 'token' || sessions!.isSignedIn(sessionIdFrom(request.headers.cookie));
  const peerOf = (request: IncomingMessage) => `${request.socket.remoteAddress ?? 'unknown'}:${request.socket.remotePort ?? 0}`;

  const routes: Record<string, (request: IncomingMessage, response: ServerResponse) => void | Promise<void>> = {
    'GET /': (_request, response) => sendAsset(response, 'index.html'),
    'GET /dashboard.js': (_request, response) => sendAsset(response, 'dashboard.js'),
    'GET /dashboard.css': (_request, response) => sendAsset(response, 'dashboard.css'),
    'GET /api/session': (request, response) => sendJson(response, 200, { access: readAccess, signedIn: signedIn(request), heartbeatIntervalMs: feed.heartbeatIntervalMs }),
    'GET /api/services': (request, response) => {
      if (!signedIn(request)) return refuse(response);
      sendJson(response, 200, { now: Date.now(), services: byService(feed.snapshot()) });
    },
    'GET /events': (request, response) => {
      if (!signedIn(request)) return refuse(response);
      let release: () => void;
      try {
        release = streams.acquire(peerOf(request));
      } catch (error) {
        return sendJson(response, 429, { error: (error as Error).message });
      }
      let unsubscribe = () => {};
      const send = openEventStream(response, () => {
        unsubscribe();
        release();
      }, { keepAliveMs: options.keepAliveMs });
      unsubscribe = feed.subscribe(send);
    },
    'POST /login': async (request, response) => {
      if (readAccess !== 'token') return sendJson(response, 404, { error: `no sign-in: the dashboard's access is ${readAccess} (REGISTRY_READ_ACCESS)` });
      // Another site's page may not sign a browser in (SameSite covers the rest).
      const origin = request.headers.origin;
      if (origin !== undefined && origin !== `${secure ? 'https' : 'http'}://${request.headers.host}`) {
        return sendJson(response, 403, { error: 'sign-in from another origin is refused' });
      }
      const body = await readBody(request, MAX_LOGIN_BODY_BYTES);
      if (body === undefined) return sendJson(response, 413, { error: `the sign-in body is over ${MAX_LOGIN_BODY_BYTES} bytes` });
      const id = sessions!.signIn(tokenFrom(body, request.headers['content-type']), peerOf(request));
      if (id === undefined) return sendJson(response, 401, { error: 'the registry token was rejected (it is REGISTRY_TOKEN or one of REGISTRY_TOKENS of the registry)' });
      const cookie = `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${sessions!.maxAgeSeconds}${secure ? '; Secure' : ''}`;
      sendJson(response, 200, { signedIn: true }, { 'set-cookie': cookie });
    },
    'POST /logout': (request, response) => {
      sessions?.signOut(sessionIdFrom(request.headers.cookie));
      sendJson(response, 200, { signedIn: false }, { 'set-cookie': `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0${secure ? '; Secure' : ''}` });
    },
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0];
    const route = routes[`${request.method} ${path}`];
    if (route) return route(request, response);
    const known = Object.keys(routes).some((key) => key.endsWith(` ${path}`));
    sendJson(response, known ? 405 : 404, { error: known ? `${request.method} is not allowed on ${path}` : `no such page: ${path}` });
  };
  const listener = (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response).catch((error: unknown) => {
      options.logger?.warn({ err: error, path: request.url }, 'dashboard request failed');
      if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
      else response.destroy();
    });
  };

  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key, ca: options.tls.ca, requestCert: readAccess === 'mtls', rejectUnauthorized: readAccess === 'mtls' }, listener)
    : createHttpServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new Error(`cannot serve the dashboard on ${options.host}:${options.port} (${error.message}); set HTTP_PORT to a free port or HTTP_HOST to a local address`)),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    port,
    url: `${secure ? 'https' : 'http'}://${shownHost}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Event streams never end on their own.
        server.closeAllConnections();
      }),
  };
}

function refuse(response: ServerResponse): void {
  sendJson(response, 401, { error: 'sign in with the registry token first (POST /login)' });
}

function sendAsset(response: ServerResponse, name: keyof typeof DASHBOARD_ASSETS): void {
  const asset = DASHBOARD_ASSETS[name];
  response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': asset.contentType, 'cache-control': 'no-cache' });
  response.end(asset.body);
}
