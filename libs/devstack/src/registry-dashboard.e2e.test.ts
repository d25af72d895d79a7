// The registry's dashboard in headless Chromium, against the BUILT apps as processes: a registry
// (its HTTP_PORT on a free port, token read access as under npm start), a user instance that
// registers, drains and leaves, hostile registrant strings, and the sign-in. Then mutual TLS from
// Node's https client. Needs Debian's chromium at /usr/bin/chromium: with
// SWITCHYARD_REQUIRE_CHROMIUM=1 its absence fails the run, otherwise those tests are skipped.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { registryV1 } from '@switchyard/proto';
import { createRegistryClient } from '@switchyard/runtime';
import { eventually, freePort } from '@switchyard/testing';
import { chromium, type Browser, type Page } from 'playwright-core';
import { AppProcess } from './app-process';
import { makeServiceCertificates } from './certificates';

const workspaceRoot = resolve(__dirname, '../../..');
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(workspaceRoot, 'dist', 'test-artifacts');
// Register accepts any characters in versions (up to 64) and metadata values.
const HOSTILE_VERSION = '<img src=x onerror="window.pwned=1">';
const HOSTILE = '<script>window.pwned=2</script><b onmouseover="window.pwned=3">bold</b>\u2028';
const TOKEN = 'dashboard-e2e-fleet-token-0123456789';
const SERVING = registryV1.InstanceState.INSTANCE_STATE_SERVING;
/** Instances registered over gRPC beside the real user process, so the screenshot shows a fleet. */
const FLEET = [
  { serviceName: 'gateway', address: '10.0.1.10:50050', version: '1.4.2', zone: 'eu-west-1a', metadata: { 'git.sha': '3f9c2e1' } },
  { serviceName: 'user', address: '10.0.1.21:50052', version: '1.4.2', zone: 'eu-west-1a', metadata: { 'git.sha': '3f9c2e1' } },
  { serviceName: 'order', address: '10.0.1.31:50053', version: '1.4.2', zone: 'eu-west-1a', metadata: { 'git.sha': '3f9c2e1' } },
  { serviceName: 'order', address: '10.0.2.32:50053', version: '1.5.0-rc.1', zone: 'eu-west-1b', metadata: { 'git.sha': '8d04b7a', canary: 'true' } },
];
jest.setTimeout(60_000);

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.SWITCHYARD_REQUIRE_CHROMIUM !== '1') {
  console.log(`registry dashboard browser tests SKIPPED: no ${CHROMIUM} (apt-get install chromium; SWITCHYARD_REQUIRE_CHROMIUM=1 makes this a failure)`);
}
const describeInBrowser = haveChromium || process.env.SWITCHYARD_REQUIRE_CHROMIUM === '1' ? describe : describe.skip;

type Unary = (request: unknown, metadata: Metadata, options: object, callback: (error: ServiceError | null, response: unknown) => void) => void;
function call<Response>(client: registryV1.RegistryServiceClient, method: string, request: unknown, token: string): Promise<Response> {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return new Promise((done, fail) =>
    ((client as unknown as Record<string, Unary>)[method]!).call(client, request, metadata, { deadline: Date.now() + 5000 }, (error, response) =>
      error ? fail(error) : done(response as Response),
    ),
  );
}

describeInBrowser('registry dashboard in Chromium', () => {
  let dir: string;
  let registryProcess: AppProcess | undefined;
  let registryAddress: string;
  let browser: Browser;
  let registry: registryV1.RegistryServiceClient;
  let url: string;
  let fleetHeartbeats: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`SWITCHYARD_REQUIRE_CHROMIUM=1 but ${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)`);
    dir = mkdtempSync(join(tmpdir(), 'switchyard-dashboard-e2e-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    registryAddress = `127.0.0.1:${grpcPort}`;
    registryProcess = new AppProcess({
      workspaceRoot,
      app: 'registry',
      env: { PATH: process.env.PATH ?? '', GRPC_HOST: '127.0.0.1', GRPC_PORT: String(grpcPort), HTTP_PORT: String(httpPort), REGISTRY_TOKEN: TOKEN, LOG_LEVEL: 'warn' },
    });
    // The browser starts while the registry does.
    [browser] = await Promise.all([
      chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        // Playwright gives the browser a fresh temporary profile of its own (--user-data-dir).
      }),
      registryProcess.waitUntilServing(registryAddress),
    ]);
    url = `http://127.0.0.1:${httpPort}/`;
    registry = createRegistryClient(registryAddress);
    const leases = await Promise.all(FLEET.map((instance) => call<registryV1.RegisterResponse>(registry, 'register', { ...instance, state: SERVING }, TOKEN)));
    fleetHeartbeats = setInterval(() => {
      for (const lease of leases) void call(registry, 'heartbeat', { instanceId: lease.instance!.instanceId, leaseSecret: lease.leaseSecret, state: registryV1.InstanceState.INSTANCE_STATE_UNSPECIFIED }, TOKEN).catch(() => {});
    }, 1000);
  });

  afterAll(async () => {
    clearInterval(fleetHeartbeats);
    await browser?.close();
    registry?.close();
    await registryProcess?.stop('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh browser context (no cookies) on the dashboard. */
  async function openDashboard(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 680 } });
    const page = await context.newPage();
    await page.goto(url);
    return page;
  }

  async function signIn(page: Page, token: string): Promise<void> {
    await page.locator('#token').fill(token);
    await page.locator('#sign-in button[type=submit]').click();
  }

  it('asks for the registry token and shows nothing without it, nor with a wrong one', async () => {
    const page = await openDashboard();
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    expect(await page.locator('#fleet').isVisible()).toBe(false);
    expect(await page.locator('tr[data-instance-id]').count()).toBe(0);
    expect((await page.request.get(`${url}api/services`)).status()).toBe(401);

    await signIn(page, 'not-the-registry-token');
    await page.getByText('That token was not accepted.').waitFor();
    expect(await page.locator('tr[data-instance-id]').count()).toBe(0);
    expect(await page.locator('#fleet').isVisible()).toBe(false);
    expect(await page.context().cookies()).toEqual([]);

    await signIn(page, TOKEN);
    for (const service of ['gateway', 'order', 'user']) await page.locator(`section.service[data-service="${service}"] tr[data-instance-id]`).first().waitFor();
    const [cookie] = await page.context().cookies();
    expect(cookie).toMatchObject({ name: 'switchyard_dashboard', httpOnly: true, sameSite: 'Strict' });
    expect(cookie.value).not.toContain(TOKEN);
    await page.context().close();
  });

  it('lists a new instance within 1 s of its registration, shows it DRAINING on SIGTERM, then drops it', async () => {
    const page = await openDashboard();
    await signIn(page, TOKEN);
    await page.locator('#connection[data-state="live"]').waitFor();
    // When each (address, state) first showed in the page, on this machine's clock (the registry's too).
    // (Page code as text: this project's TypeScript has no DOM types.)
    await page.evaluate(`
      window.seen = {};
      new MutationObserver(() => {
        for (const row of document.querySelectorAll('tr[data-instance-id]')) {
          const key = row.querySelector('td.address').textContent + ' ' + row.querySelector('.state').textContent;
          window.seen[key] ??= Date.now();
        }
      }).observe(document.body, { childList: true, subtree: true });
    `);
    const seen = () => page.evaluate<Record<string, number>>('window.seen');

    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const user = new AppProcess({
      workspaceRoot,
      app: 'user',
      env: {
        PATH: process.env.PATH ?? '',
        GRPC_HOST: '127.0.0.1',
        GRPC_PORT: String(port),
        ADVERTISE_ADDRESS: address,
        REGISTRY_ADDRESS: registryAddress,
        REGISTRY_TOKEN: TOKEN,
        DATA_DIR: join(dir, 'user-data'),
        // A long drain, so the DRAINING row is there to see (and to photograph).
        DRAIN_DELAY_MS: '2000',
        SERVICE_VERSION: '1.5.0',
        LOG_LEVEL: 'warn',
      },
    });
    await user.waitUntilServing(address);
    const row = page.locator('tr[data-instance-id]', { has: page.locator('td.address', { hasText: address }) });
    await row.waitFor();
    const resolved = await call<registryV1.ResolveResponse>(registry, 'resolve', { serviceName: 'user' }, TOKEN);
    const registeredAt = resolved.instances.find((instance) => instance.address === address)!.registerTime!.getTime();
    const shownAt = (await seen())[`${address} SERVING`];
    expect(shownAt - registeredAt).toBeLessThan(1000);
    expect(await row.locator('td.version').textContent()).not.toBe('');
    await eventually(async () => /^\d+\.\d s ago$/.test((await row.locator('td.age').textContent()) ?? ''), 5000, 'the heartbeat age');

    const exited = user.stop('SIGTERM');
    await row.locator('.state', { hasText: 'DRAINING' }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'registry-dashboard.png') });
    await row.waitFor({ state: 'detached', timeout: 20_000 });
    expect(Object.keys(await seen())).toEqual(expect.arrayContaining([`${address} SERVING`, `${address} DRAINING`]));
    await exited;
    await page.context().close();
  });

  it('shows hostile registrant strings as text, never as HTML', async () => {
    const registered = await call<registryV1.RegisterResponse>(
      registry,
      'register',
      { serviceName: 'probe', address: `127.0.0.1:${await freePort()}`, version: HOSTILE_VERSION, metadata: { note: HOSTILE }, zone: 'eu-west-1a', state: SERVING },
      TOKEN,
    );
    try {
      const page = await openDashboard();
      await signIn(page, TOKEN);
      const row = page.locator('section.service[data-service="probe"] tr[data-instance-id]');
      await row.waitFor();
      expect(await row.locator('td.version').textContent()).toBe(HOSTILE_VERSION);
      expect(await row.locator('td.meta span').textContent()).toBe(`note=${HOSTILE}`);
      expect(await page.locator('img, script:not([src]), b').count()).toBe(0);
      expect(await page.evaluate('window.pwned')).toBeUndefined();

      // The search box filters by service, address and version.
      await page.locator('#search').fill('probe');
      await eventually(async () => (await page.locator('section.service').count()) === 1, 5000, 'only the probe service');
      await page.locator('#search').fill('no-such-thing');
      await page.getByText('No instance matches the filter.').waitFor();
      await page.context().close();
    } finally {
      await call(registry, 'deregister', { instanceId: registered.instance!.instanceId, leaseSecret: registered.leaseSecret }, TOKEN);
    }
  });
});

describe('registry dashboard with REGISTRY_READ_ACCESS=mtls', () => {
  let dir: string;
  let registry: AppProcess | undefined;
  let port: number;
  let certs: ReturnType<typeof makeServiceCertificates>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-dashboard-mtls-'));
    certs = makeServiceCertificates({ dir });
    port = await freePort();
    const grpcPort = await freePort();
    registry = new AppProcess({
      workspaceRoot,
      app: 'registry',
      env: {
        PATH: process.env.PATH ?? '',
        GRPC_HOST: '127.0.0.1',
        GRPC_PORT: String(grpcPort),
        HTTP_PORT: String(port),
        REGISTRY_READ_ACCESS: 'mtls',
        TLS_CERT: certs.services.registry.cert,
        TLS_KEY: certs.services.registry.key,
        TLS_CA: certs.ca.cert,
      },
    });
    await registry.waitUntilServing(`127.0.0.1:${grpcPort}`);
  });

  afterAll(async () => {
    await registry?.stop('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const get = (client?: { cert: string; key: string }) =>
    new Promise<number>((done, fail) => {
      const outgoing = httpsRequest(
        { host: '127.0.0.1', port, path: '/api/services', servername: 'localhost', ca: readFileSync(certs.ca.cert), ...(client && { cert: readFileSync(client.cert), key: readFileSync(client.key) }) },
        (response) => {
          response.resume();
          done(response.statusCode!);
        },
      );
      outgoing.on('error', fail);
      outgoing.end();
    });

  it('serves HTTPS to a client certificate signed by TLS_CA, and no one else', async () => {
    expect(await get(certs.client)).toBe(200);
    await expect(get()).rejects.toThrow(/certificate|socket hang up|ECONNRESET|alert/i);
  });
});
