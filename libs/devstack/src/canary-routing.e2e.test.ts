// End to end: the BUILT apps as child processes (SQLite), a second user instance at version
// 0.2.0, and the gateway splitting HTTP calls between the versions by ROUTING_RULES_FILE.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { eventually, freePort } from '@switchyard/testing';
import type { AppProcess } from './app-process';
import { LocalStack } from './local-stack';

const workspaceRoot = resolve(__dirname, '../../..');
jest.setTimeout(90_000);

const GET_USER = '/switchyard.user.v1.UserService/GetUser';

/** GetUser calls an instance has served, from its one-line-per-call log. */
// Answered OK: a backup attempt the gateway cancelled, on a loaded machine, logs CANCELLED.
function getUserCalls(instance: AppProcess): number {
  return instance.lines.filter((line) => line.includes('"msg":"rpc"') && line.includes(GET_USER) && line.includes('"status":"OK"')).length;
}

/** The trace id of each GetUser call an instance answered OK. */
function answeredTraceIds(instance: AppProcess): string[] {
  return instance.lines
    .filter((line) => line.includes('"msg":"rpc"') && line.includes(GET_USER) && line.includes('"status":"OK"'))
    .map((line) => (JSON.parse(line) as { trace_id?: string }).trace_id ?? '');
}

/** getUserCalls once no new line has arrived for 500 ms: the count of every call answered so far. */
async function settledGetUserCalls(instance: AppProcess): Promise<number> {
  for (let count = getUserCalls(instance); ; ) {
    await new Promise((done) => setTimeout(done, 500));
    const now = getUserCalls(instance);
    if (now === count) return now;
    count = now;
  }
}

describe('canary releases through the gateway', () => {
  let stack: LocalStack;
  let dataDir: string;
  let rulesFile: string;
  let http: string;
  let userId: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-canary-'));
    rulesFile = join(dataDir, 'routing-rules.json');
    writeFileSync(rulesFile, JSON.stringify({ user: { weights: { '0.2.0': 10 } } }));
    stack = await LocalStack.start({ workspaceRoot, dataDir, extraEnv: { ROUTING_RULES_FILE: rulesFile, LOG_FORMAT: 'json' } });
    http = `http://127.0.0.1:${stack.httpPort}`;
    const created = await fetch(`${http}/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Canary', email: `canary-${Date.now()}@example.com` }) });
    userId = ((await created.json()) as { user: { id: string } }).user.id;
  });

  afterAll(async () => {
    await stack?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const getUser = async (headers: Record<string, string> = {}) => {
    const response = await fetch(`${http}/v1/users/${userId}`, { headers });
    return { status: response.status, body: await response.text() };
  };

  it('pins, weights, reloads the rules and falls back when the canary is killed, with no failed call', async () => {
    const stable = stack.processes.find((p) => p.options.app === 'user')!;
    const port = await freePort();
    const canary = await stack.startApp('user', { GRPC_PORT: String(port), ADVERTISE_ADDRESS: `127.0.0.1:${port}`, SERVICE_VERSION: '0.2.0' });

    // The header pins the version (once the gateway has seen the new instance and connected).
    await eventually(async () => (await getUser({ 'x-canary': '0.2.0' })).status === 200 && getUserCalls(canary) > 0, 15_000, 'the canary serving');
    const [stableBefore, canaryBefore] = [getUserCalls(stable), getUserCalls(canary)];
    for (let i = 0; i < 50; i += 1) expect((await getUser({ 'x-canary': '0.2.0' })).status).toBe(200);
    await eventually(() => getUserCalls(canary) - canaryBefore >= 50, 5000, 'the canary logged its calls');
    expect(getUserCalls(stable) - stableBefore).toBe(0);

    // 10% of 500 calls without the header.
    const [stable10, canary10] = [getUserCalls(stable), getUserCalls(canary)];
    for (let i = 0; i < 500; i += 10) await Promise.all(Array.from({ length: 10 }, async () => expect((await getUser()).status).toBe(200)));
    await eventually(() => getUserCalls(stable) - stable10 + getUserCalls(canary) - canary10 >= 500, 5000, 'every call logged');
    const share = (getUserCalls(canary) - canary10) / 500;
    expect(share).toBeGreaterThanOrEqual(0.05);
    expect(share).toBeLessThanOrEqual(0.15);

    // Every call, without a restart.
    writeFileSync(rulesFile, JSON.stringify({ user: { weights: { '0.2.0': 100 } } }));
    await eventually(
      async () => {
        const before = getUserCalls(stable);
        for (let i = 0; i < 20; i += 1) await getUser();
        return getUserCalls(stable) === before;
      },
      10_000,
      'every call on the canary',
    );

    // SIGKILL under load: the calls cut off are retried on 0.1.0, later ones go there at once.
    let running = true;
    const failed: string[] = [];
    let calls = 0;
    const worker = async () => {
      while (running) {
        const answer = await getUser();
        calls += 1;
        if (answer.status !== 200) failed.push(`${answer.status} ${answer.body}`);
      }
    };
    const workers = Array.from({ length: 4 }, () => worker());
    await new Promise((done) => setTimeout(done, 1000));
    await canary.stop('SIGKILL');
    const stableAtKill = getUserCalls(stable);
    await eventually(() => getUserCalls(stable) - stableAtKill >= 300, 20_000, '300 calls on 0.1.0 after the kill');
    running = false;
    await Promise.all(workers);
    process.stdout.write(`canary | weight 10: ${(share * 100).toFixed(1)}% of 500 calls on 0.2.0 | SIGKILL of 0.2.0 at weight 100: ${calls} calls, ${failed.length} failed\n`);
    expect(failed).toEqual([]);
    expect(calls).toBeGreaterThan(300);
  });
});

describe('sticky canary routing behind the gateway auth', () => {
  const SECRET = 'an e2e secret that is comfortably longer than 32 bytes';
  let stack: LocalStack;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-sticky-'));
    stack = await LocalStack.start({
      workspaceRoot,
      dataDir,
      extraEnv: {
        LOG_FORMAT: 'json',
        AUTH_JWT_SECRET: SECRET,
        AUTH_PUBLIC_METHODS: 'switchyard.user.v1.UserService/CreateUser',
        ROUTING_RULES: JSON.stringify({ user: { weights: { '0.2.0': 50 }, sticky: true } }),
      },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("keeps each verified subject on one version, whatever x-switchyard-subject the caller sends", async () => {
    const http = `http://127.0.0.1:${stack.httpPort}`;
    const created = await fetch(`${http}/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Sticky', email: `sticky-${Date.now()}@example.com` }) });
    const userId = ((await created.json()) as { user: { id: string } }).user.id;
    const subjects = Array.from({ length: 20 }, (_, i) => `subject-${i}`);
    // jose is ESM-only: the tokens are made by a node child, as docs/auth.md makes one.
    const script = `import('jose').then(async ({ SignJWT }) => { const key = new TextEncoder().encode(process.env.AUTH_JWT_SECRET); const out = {}; for (const sub of ${JSON.stringify(subjects)}) out[sub] = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('1h').sign(key); console.log(JSON.stringify(out)); })`;
    const tokens = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: workspaceRoot, env: { PATH: process.env.PATH, AUTH_JWT_SECRET: SECRET }, encoding: 'utf8' })) as Record<string, string>;

    const port = await freePort();
    const canary = await stack.startApp('user', { GRPC_PORT: String(port), ADVERTISE_ADDRESS: `127.0.0.1:${port}`, SERVICE_VERSION: '0.2.0' });
    // Each call carries a trace id of its own, which the canary's log line repeats: the call it
    // answered is told by its trace id, not by when its line arrived.
    const subjectOfTrace = new Map<string, string>();
    const get = (subject: string) => {
      const traceId = randomBytes(16).toString('hex');
      subjectOfTrace.set(traceId, subject);
      const headers = { authorization: `Bearer ${tokens[subject]}`, 'x-switchyard-subject': `spoofed-${Math.random()}`, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-00` };
      return fetch(`${http}/v1/users/${userId}`, { headers }).then((r) => r.status);
    };
    // Some subjects' calls reach the canary once the gateway has seen it and connected.
    await eventually(async () => (await Promise.all(subjects.map(get))).every((status) => status === 200) && getUserCalls(canary) > 0, 15_000, 'the canary serving');

    subjectOfTrace.clear();
    for (const subject of subjects) for (let i = 0; i < 10; i += 1) expect(await get(subject)).toBe(200);
    // The canary logs a call as it answers, and its line reaches us a little later.
    await settledGetUserCalls(canary);
    const onCanary = new Map(subjects.map((subject) => [subject, 0]));
    // A call the canary answered twice (its first attempt and a backup sent while the first was
    // slow, both answered before either was cancelled) is one call on the canary.
    for (const traceId of new Set(answeredTraceIds(canary))) {
      const subject = subjectOfTrace.get(traceId);
      if (subject) onCanary.set(subject, onCanary.get(subject)! + 1);
    }
    // All 10 or none of each subject's calls, in spite of a spoofed subject header on each.
    for (const [subject, calls] of onCanary) expect([subject, calls === 0 || calls === 10 ? 'all or none' : `${calls} of 10`]).toEqual([subject, 'all or none']);
    const canarySubjects = [...onCanary.values()].filter((calls) => calls === 10).length;
    process.stdout.write(`canary | sticky 50%: ${canarySubjects} of ${subjects.length} subjects on 0.2.0\n`);
    expect(canarySubjects).toBeGreaterThan(2);
    expect(canarySubjects).toBeLessThan(18);
  });
});
