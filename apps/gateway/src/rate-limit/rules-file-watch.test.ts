import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { status as Status } from '@grpc/grpc-js';
import { eventually } from '@switchyard/testing';
import pino from 'pino';
import { memoryTokenBuckets } from './memory-token-buckets';
import { readRulesFile } from './rate-limit-config';
import { checkRuleMethods } from './rate-limit-rules';
import { startLimitedServer, type LimitedServer } from './rate-limited-server.test-support';
import { watchRulesFile, type RulesFileWatch } from './rules-file-watch';

const GET_USER = '/switchyard.user.v1.UserService/GetUser';

describe('RATE_LIMITS_FILE reloads', () => {
  let dir: string;
  let file: string;
  let watch: RulesFileWatch | undefined;
  let server: LimitedServer | undefined;
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    }),
  );

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rate-limits-'));
    file = join(dir, 'limits.json');
  });
  afterEach(() => {
    server?.stop();
    watch?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies a changed file without a restart, logs the change, and keeps the rules in force when the file turns bad', async () => {
    writeFileSync(file, JSON.stringify({ default: { rate: 0.01, burst: 1, by: 'address' } }));
    const served = new Set([GET_USER, '/switchyard.user.v1.UserService/ListUsers']);
    watch = watchRulesFile(file, readRulesFile(file), { logger, intervalMs: 50, check: (rules) => checkRuleMethods(rules, served) });
    server = await startLimitedServer({ rules: watch.current, buckets: memoryTokenBuckets() });
    expect((await server.getUser()).code).toBe(Status.OK);
    expect((await server.getUser()).code).toBe(Status.RESOURCE_EXHAUSTED);

    // A method rule for GetUser, far looser. A bucket keeps its tokens across a reload (no
    // caller gets a fresh burst from it); it refills at the new rate.
    const loose = { rate: 1000, burst: 1000, by: 'address' as const };
    writeFileSync(file, JSON.stringify({ default: { rate: 0.01, burst: 1, by: 'address' }, methods: { [GET_USER]: loose } }));
    await eventually(() => lines.some((line) => line.msg === 'rate limits reloaded'), 10_000, 'the reload');
    for (let i = 0; i < 10; i += 1) expect((await server.getUser()).code).toBe(Status.OK);
    expect((await server.listUsers()).code).toBe(Status.OK);
    expect(await server.listUsers()).toMatchObject({ code: Status.RESOURCE_EXHAUSTED, details: expect.stringContaining('rate limit "default"') });

    writeFileSync(file, '{"methods": {"/switchyard.user.v1.UserService/GetUser": {"rate": "lots"}}}');
    const rejected = await eventually(() => lines.find((line) => line.msg === 'rate limits file rejected; the rules in force stay'), 10_000, 'the rejection');
    expect(rejected).toMatchObject({ level: 40, file, reason: expect.stringContaining(`methods["${GET_USER}"].rate: expected a number of calls per second`) });
    expect(watch.current().methods[GET_USER]).toEqual(loose);
    for (let i = 0; i < 10; i += 1) expect((await server.getUser()).code).toBe(Status.OK);

    // A rule for a method the gateway does not serve (a typo) would leave the real one unlimited.
    writeFileSync(file, JSON.stringify({ methods: { 'switchyard.user.v1.UserService/GetUsr': { rate: 0.01, burst: 1 } } }));
    const typo = await eventually(() => lines.find((line) => line.msg === 'rate limits file rejected; the rules in force stay' && String(line.reason).includes('GetUsr')), 10_000, 'the typo rejected');
    expect(typo.reason).toBe('methods["/switchyard.user.v1.UserService/GetUsr"]: the gateway serves no such method');
    expect(watch.current().methods[GET_USER]).toEqual(loose);
  }, 30_000);
});
