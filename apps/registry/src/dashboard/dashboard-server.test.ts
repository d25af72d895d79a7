import { request, type IncomingMessage } from 'node:http';
import { eventually } from '@switchyard/testing';
import { LeaseTable } from '../lease-table';
import { tokenAccess } from '../registry-access';
import { announceRegistrations } from './announce-registrations';
import { DashboardSessions } from './dashboard-sessions';
import { startDashboardServer, type DashboardServer, type DashboardServerOptions } from './dashboard-server';
import { FleetFeed, type FleetEvent } from './fleet-feed';

const FLEET_TOKEN = 'fleet-token-0123456789abcdef';
const HOSTILE = '<img src=x onerror="window.pwned=1">\n\nevent: remove\ndata: {"type":"remove"}';

interface Running {
  leases: LeaseTable;
  store: ReturnType<typeof announceRegistrations>;
  feed: FleetFeed;
  server: DashboardServer;
}

const running: Running[] = [];
const openRequests: IncomingMessage[] = [];

async function start(options: Partial<DashboardServerOptions> = {}, refreshIntervalMs = 50): Promise<Running> {
  const leases = new LeaseTable();
  const feed = new FleetFeed({ store: leases, refreshIntervalMs });
  const store = announceRegistrations(leases, (serviceName) => feed.notice(serviceName));
  const server = await startDashboardServer({ feed, host: '127.0.0.1', port: 0, readAccess: 'open', ...options });
  const started = { leases, store, feed, server };
  running.push(started);
  return started;
}

afterEach(async () => {
  for (const response of openRequests.splice(0)) response.destroy();
  for (const { feed, server } of running.splice(0)) {
    feed.stop();
    await server.close();
  }
});

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

function send(server: DashboardServer, method: string, path: string, options: { body?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const outgoing = request(new URL(path, server.url), { method, headers: options.headers }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body }));
    });
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

/** Opens /events and collects what arrives: parsed events, and every raw line. */
function openEvents(server: DashboardServer, headers: Record<string, string> = {}): Promise<{ status: number; events: FleetEvent[]; raw: string[] }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(new URL('/events', server.url), { headers }, (response) => {
      openRequests.push(response);
      const events: FleetEvent[] = [];
      const raw: string[] = [];
      let buffer = '';
      response.setEncoding('utf8').on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          raw.push(block);
          const data = block.split('\n').find((line) => line.startsWith('data: '));
          if (data) events.push(JSON.parse(data.slice('data: '.length)) as FleetEvent);
        }
      });
      resolve({ status: response.statusCode!, events, raw });
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

const register = (store: Running['store'], serviceName: string, address: string, extra: { version?: string; metadata?: Record<string, string> } = {}) =>
  store.register({ serviceName, address, version: extra.version ?? '1.0.0', metadata: extra.metadata, zone: 'zone-a' });

describe('dashboard event feed', () => {
  it('sends a snapshot of every service, then registrations, state changes, renewals and removals', async () => {
    const { store, server } = await start();
    await register(store, 'order', '127.0.0.1:7001');
    const stream = await openEvents(server);
    expect(stream.status).toBe(200);
    const snapshot = await eventually(() => stream.events.find((event) => event.type === 'snapshot'), 10_000, 'the snapshot');
    expect(snapshot.type === 'snapshot' && snapshot.instances.map((instance) => [instance.serviceName, instance.address, instance.state])).toEqual([
      ['order', '127.0.0.1:7001', 'SERVING'],
    ]);

    // A service nobody watched before: announced by the store wrapper, no listing needed.
    const user = await register(store, 'user', '127.0.0.1:7002', { version: '2.1.0' });
    const upsert = await eventually(() => stream.events.find((event) => event.type === 'upsert' && event.instance.instanceId === user.instanceId), 10_000, 'the new instance');
    expect(upsert).toMatchObject({ instance: { serviceName: 'user', address: '127.0.0.1:7002', version: '2.1.0', zone: 'zone-a', state: 'SERVING' } });

    await new Promise((resolve) => setTimeout(resolve, 20));
    const renewed = await store.heartbeat(user.instanceId, user.leaseSecret);
    await eventually(
      () => stream.events.some((event) => event.type === 'heartbeats' && event.lastHeartbeatAt[user.instanceId] === renewed.leaseExpiresAt - store.leaseTtlMs),
      10_000,
      'the renewal',
    );

    await store.heartbeat(user.instanceId, user.leaseSecret, 'DRAINING');
    await eventually(() => stream.events.some((event) => event.type === 'upsert' && event.instance.instanceId === user.instanceId && event.instance.state === 'DRAINING'), 10_000, 'DRAINING');

    await store.deregister(user.instanceId, user.leaseSecret);
    await eventually(() => stream.events.some((event) => event.type === 'remove' && event.instanceId === user.instanceId), 10_000, 'the removal');
  });

  it('watches a service registered through the registry at once, without waiting for a listing', async () => {
    const { store, server } = await start({}, 600_000);
    const stream = await openEvents(server);
    await eventually(() => stream.events.some((event) => event.type === 'snapshot'), 10_000, 'the snapshot');
    const user = await register(store, 'user', '127.0.0.1:7011');
    await eventually(() => stream.events.some((event) => event.type === 'upsert' && event.instance.instanceId === user.instanceId), 10_000, 'the instance');
  });

  it('finds a service registered elsewhere (another replica of a shared store) by listing services', async () => {
    const { leases, server } = await start();
    const stream = await openEvents(server);
    // Straight into the store, past the registry's announcement of its own registrations.
    const elsewhere = leases.register({ serviceName: 'billing', address: '127.0.0.1:7010', version: '1.0.0' });
    await eventually(() => stream.events.some((event) => event.type === 'upsert' && event.instance.instanceId === elsewhere.instanceId), 10_000, 'the instance');
  });

  it('keeps hostile registrant strings inside one event, as data', async () => {
    const { store, server } = await start();
    const stream = await openEvents(server);
    const hostile = await register(store, 'user', '127.0.0.1:7003', { version: '<script>alert(1)</script>', metadata: { [HOSTILE]: HOSTILE } });
    const upsert = await eventually(() => stream.events.find((event) => event.type === 'upsert'), 10_000, 'the hostile instance');
    expect(upsert).toMatchObject({ instance: { instanceId: hostile.instanceId, version: '<script>alert(1)</script>', metadata: { [HOSTILE]: HOSTILE } } });
    // The newlines in the strings did not end the event or start a forged one.
    expect(stream.raw.filter((block) => block.startsWith('event: remove'))).toEqual([]);
    expect(stream.events.filter((event) => event.type === 'remove')).toEqual([]);

    const api = await send(server, 'GET', '/api/services');
    expect(api.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(api.headers['x-content-type-options']).toBe('nosniff');
    expect(JSON.parse(api.body).services[0].instances[0].metadata).toEqual({ [HOSTILE]: HOSTILE });
  });

  it('sends a keep-alive comment on a quiet stream', async () => {
    const { server } = await start({ keepAliveMs: 50 });
    const stream = await openEvents(server);
    await eventually(() => stream.raw.includes(': keep-alive'), 10_000, 'a keep-alive comment');
  });

  it('refuses event streams past the per-host limit with 429, and frees a slot when a stream closes', async () => {
    const { server, feed } = await start({ maxStreamsPerPeer: 2 });
    await openEvents(server);
    await openEvents(server);
    await eventually(() => feed.subscriberCount === 2, 10_000, 'two subscribers');
    const third = await send(server, 'GET', '/events');
    expect(third.status).toBe(429);
    expect(JSON.parse(third.body).error).toMatch(/limit of 2 open dashboard event streams/);
    openRequests.shift()!.destroy();
    await eventually(() => feed.subscriberCount === 1, 10_000, 'the closed stream to be released');
    expect((await openEvents(server)).status).toBe(200);
  });

  it('serves the page with a policy that runs only its own script', async () => {
    const { server } = await start();
    const page = await send(server, 'GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('<script src="dashboard.js" defer></script>');
    expect((await send(server, 'GET', '/dashboard.js')).body).toContain('textContent');
    expect((await send(server, 'GET', '/nowhere')).status).toBe(404);
    expect((await send(server, 'DELETE', '/api/services')).status).toBe(405);
  });
});

describe('dashboard token access', () => {
  const startWithToken = () =>
    start({ readAccess: 'token', sessions: new DashboardSessions({ access: tokenAccess({ fleetToken: FLEET_TOKEN }) }) });
  const form = { 'content-type': 'application/x-www-form-urlencoded' };

  it('shows nothing without a sign-in, and refuses a wrong token with 401', async () => {
    const { store, server } = await startWithToken();
    await register(store, 'user', '127.0.0.1:7004');
    expect(JSON.parse((await send(server, 'GET', '/api/session')).body)).toMatchObject({ access: 'token', signedIn: false });
    const api = await send(server, 'GET', '/api/services');
    expect(api.status).toBe(401);
    expect(api.body).not.toContain('user');
    expect((await openEvents(server)).status).toBe(401);

    const wrong = await send(server, 'POST', '/login', { body: 'token=not-the-token', headers: form });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
  });

  it('signs in with the token into an HttpOnly, SameSite=Strict cookie that opens the API and the stream', async () => {
    const { store, server } = await startWithToken();
    await register(store, 'user', '127.0.0.1:7005');
    const signIn = await send(server, 'POST', '/login', { body: `token=${encodeURIComponent(FLEET_TOKEN)}`, headers: form });
    expect(signIn.status).toBe(200);
    const cookie = signIn.headers['set-cookie']![0];
    expect(cookie).toMatch(/^switchyard_dashboard=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+$/);
    expect(cookie).not.toContain(FLEET_TOKEN);
    const session = { cookie: cookie.split(';')[0] };
    const api = await send(server, 'GET', '/api/services', { headers: session });
    expect(api.status).toBe(200);
    expect(JSON.parse(api.body).services.map((service: { serviceName: string }) => service.serviceName)).toEqual(['user']);
    const stream = await openEvents(server, session);
    expect(stream.status).toBe(200);
    await eventually(() => stream.events.some((event) => event.type === 'snapshot' && event.instances.length === 1), 10_000, 'the snapshot');

    await send(server, 'POST', '/logout', { headers: session });
    expect((await send(server, 'GET', '/api/services', { headers: session })).status).toBe(401);
  });

  it("refuses a sign-in posted from another site's page", async () => {
    const { server } = await startWithToken();
    const reply = await send(server, 'POST', '/login', { body: `token=${FLEET_TOKEN}`, headers: { ...form, origin: 'https://evil.example' } });
    expect(reply.status).toBe(403);
    expect(reply.headers['set-cookie']).toBeUndefined();
  });
});
