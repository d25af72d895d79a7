import { status as Status } from '@grpc/grpc-js';
import { descriptorSetBase64, userV1 } from '@switchyard/proto';
import pino from 'pino';
import { OUTLIER_EJECTION_POLICY, registerOutlierEjectionPolicy } from '../registry/outlier-ejection-policy';
import type { CallContext } from '../server/call-context';
import { closeAfterEach } from '../server/close-after-each.test-support';
import { http2ServersOf } from '../server/grpc-http2-servers';
import { serve } from '../server/serve';
import { defineService } from '../server/service-handlers';
import { DEFAULT_BACKUP_BUDGET } from './backup-budget';
import { callUnary } from './call-unary';
import { createClientFactory, type ClientFactoryOptions } from './client-factory';
import { idempotentMethodPaths } from './method-idempotency';
import { DEFAULT_STREAM_RESET_PACING, type StreamResetPacingOptions } from './stream-reset-pacing';

registerOutlierEjectionPolicy();
const logger = pino({ level: 'silent' });
const opened = closeAfterEach();

/** A UserService instance whose GetUser answers at once, or, once `hung`, never (until the caller leaves). */
interface Instance {
  address: string;
  hung: boolean;
  /** GetUser attempts that reached it. */
  calls: number;
  /** createUser attempts that reached it. */
  creates: number;
  /** The HTTP/2 connections clients opened to it. */
  connections: number;
  /** A GetUser that is a call's first attempt answers only after this long (or when its caller leaves). */
  firstAttemptHeldMs: number;
  /** Attempts whose caller left while it held them. */
  left: number;
}

/** `firstAttemptHeldMs`: a GetUser that is a call's first attempt answers only after that long (or when its caller leaves). */
async function startInstance({ firstAttemptHeldMs = 0 } = {}): Promise<Instance> {
  const instance: Instance = { address: '', hung: false, calls: 0, creates: 0, connections: 0, firstAttemptHeldMs, left: 0 };
  const neverWhileHung = (ctx: CallContext) =>
    new Promise<never>((_resolve, reject) => ctx.signal.addEventListener('abort', () => (instance.left++, reject(new Error('caller left'))), { once: true }));
  const user = (id: string): userV1.User => ({ id, name: 'Ada', email: 'ada@example.com', createTime: new Date(0), orderCount: 0, totalSpentCents: 0 });
  const service = defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
    async getUser(request, ctx) {
      instance.calls += 1;
      if (instance.hung) await neverWhileHung(ctx);
      if (instance.firstAttemptHeldMs > 0 && ctx.metadata.get('grpc-previous-rpc-attempts').length === 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, instance.firstAttemptHeldMs);
          ctx.signal.addEventListener('abort', () => (clearTimeout(timer), instance.left++, resolve()), { once: true });
        });
      }
      return { user: user(request.id) };
    },
    async createUser(_request, ctx) {
      instance.creates += 1;
      if (instance.hung) await neverWhileHung(ctx);
      return { user: user('new') };
    },
    async batchGetUsers() {
      return { users: [] };
    },
    async listUsers() {
      return { users: [], nextPageToken: '' };
    },
  });
  const serving = await serve([service], { host: '127.0.0.1', port: 0 });
  opened.server(serving.server);
  for (const http2Server of http2ServersOf(serving.server)) http2Server.on('session', () => (instance.connections += 1));
  instance.address = `127.0.0.1:${serving.port}`;
  return instance;
}

/** The factory's clients to `instances`, round robin under outlier ejection as registry targets get it. */
function usersOf(instances: Instance[], overrides: Partial<ClientFactoryOptions> = {}): userV1.UserServiceClient {
  const serviceConfig = { loadBalancingConfig: [{ [OUTLIER_EJECTION_POLICY]: { child_policy: [{ round_robin: {} }] } }] };
  const factory = createClientFactory({
    logger,
    defaultDeadlineMs: 5000,
    idempotentMethods: idempotentMethodPaths(descriptorSetBase64),
    channelOptions: { 'grpc.service_config': JSON.stringify(serviceConfig) },
    ...overrides,
  });
  opened.client(factory);
  return factory.get(userV1.UserServiceClient, `ipv4:${instances.map((i) => i.address).join(',')}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `condition` holds, for 2 s at most (the test's own expectation then says what failed). */
async function until(condition: () => boolean): Promise<void> {
  for (const started = Date.now(); !condition() && Date.now() - started < 2_000; ) await sleep(10);
}

/** Status of each of `count` GetUser calls sent every `intervalMs` without waiting for answers (open loop). */
async function openLoop(users: userV1.UserServiceClient, count: number, intervalMs: number, deadlineMs: number): Promise<Status[]> {
  const calls: Promise<Status>[] = [];
  for (let i = 0; i < count; i += 1) {
    calls.push(
      callUnary(users.getUser.bind(users), { id: `u${i}` }, { deadline: new Date(Date.now() + deadlineMs) }).then(
        () => Status.OK,
        (error: { code: Status }) => error.code,
      ),
    );
    if (intervalMs > 0) await sleep(intervalMs);
  }
  return Promise.all(calls);
}

/** Enough answers, one after the other, for the backup delay to be learned (DEFAULT_BACKUP_DELAY.minSamples). */
async function warmUp(users: userV1.UserServiceClient): Promise<void> {
  for (let i = 0; i < 40; i += 1) await callUnary(users.getUser.bind(users), { id: 'warm' });
}

describe('backup attempts (on by default for idempotent methods)', () => {
  it('answers every call while one of two instances hangs, and stops sending to it after a few calls', async () => {
    const [hung, healthy] = [await startInstance(), await startInstance()];
    const users = usersOf([hung, healthy]);
    await warmUp(users);

    // Hung: it holds every call and still answers keepalive pings, so only the calls show it.
    hung.hung = true;
    const before = hung.calls;
    // A deadline shorter than keepalive's detection (1 s + 1 s): only a backup can save a call.
    // A call every 20 ms: the calls already sent to the hung instance while its first backups are
    // outrunning it grow with the backup delay over this interval, and a busy machine's longer
    // delay must not read as slow ejection.
    const codes = await openLoop(users, 100, 20, 800);
    expect(codes).toEqual(Array(100).fill(Status.OK));
    // Outrun by backups five times in a row, it is ejected: the later calls all go to the other.
    const reachedHung = hung.calls - before;
    process.stdout.write(`backup attempts, hung instance: reached by ${reachedHung} of 100 calls before its ejection\n`);
    expect(reachedHung).toBeGreaterThanOrEqual(5);
    expect(reachedHung).toBeLessThan(20);
    const afterEjection = hung.calls;
    expect(await openLoop(users, 30, 2, 800)).toEqual(Array(30).fill(Status.OK));
    expect(hung.calls).toBe(afterEjection);
  });

  it('never sends a backup of a method the protos do not mark idempotent', async () => {
    const instance = await startInstance();
    const users = usersOf([instance]);
    await warmUp(users);
    // Its own delay would be learned from its own answers: give createUser some.
    for (let i = 0; i < 40; i += 1) await callUnary(users.createUser.bind(users), { name: 'a', email: 'a@b.c' });
    instance.hung = true;
    const before = instance.creates;
    await expect(callUnary(users.createUser.bind(users), { name: 'a', email: 'a@b.c' }, { deadline: new Date(Date.now() + 300) })).rejects.toMatchObject({
      code: Status.DEADLINE_EXCEEDED,
    });
    expect(instance.creates - before).toBe(1);
  });

  it('holds the extra attempts to a dead target to the budget: ratio per call plus the reserve, counted by the server', async () => {
    const instance = await startInstance();
    const users = usersOf([instance]);
    await warmUp(users);
    instance.hung = true;
    const { ratio, reserve } = DEFAULT_BACKUP_BUDGET;

    // 100 calls at once: each would send maxAttempts (3); the reserve lets 50 of them send one backup.
    let before = instance.calls;
    expect(await openLoop(users, 100, 0, 1000)).toEqual(Array(100).fill(Status.DEADLINE_EXCEEDED));
    const burst = instance.calls - before;
    expect(burst).toBeGreaterThan(100);
    expect(burst).toBeLessThanOrEqual(100 + reserve);

    // The reserve spent, a target that stays dead gets `ratio` backups per call.
    before = instance.calls;
    expect(await openLoop(users, 100, 0, 1000)).toEqual(Array(100).fill(Status.DEADLINE_EXCEEDED));
    const steady = instance.calls - before;
    expect(steady).toBeGreaterThan(100);
    expect(steady).toBeLessThanOrEqual(100 * (1 + ratio));
    process.stdout.write(`backup attempts, dead target: ${burst} attempts for the first 100 calls, ${steady} for the next 100\n`);
  });

  it('sends none with backupAttempts: false', async () => {
    const instance = await startInstance();
    const users = usersOf([instance], { retryPolicy: { backupAttempts: false } });
    await warmUp(users);
    instance.hung = true;
    const before = instance.calls;
    expect(await openLoop(users, 20, 0, 300)).toEqual(Array(20).fill(Status.DEADLINE_EXCEEDED));
    expect(instance.calls - before).toBe(20);
  });

  /**
   * 1,500 GetUser calls, 50 at a time, to one instance that holds each call's first attempt for
   * 40 ms and answers its backups (sent after 2 ms) at once: every call outruns an attempt, and
   * each cancel would reset an HTTP/2 stream. The status of each call, and how many connections
   * the server saw.
   */
  async function everyCallOutrunsItsFirstAttempt(streamResetPacing: StreamResetPacingOptions): Promise<{ codes: Status[]; connections: number }> {
    const instance = await startInstance({ firstAttemptHeldMs: 40 });
    const users = usersOf([instance], {
      retryPolicy: { backupAttempts: { delay: { minSamples: 1, minDelayMs: 2, maxDelayMs: 2 }, budget: { ratio: 1, reserve: 5000 } } },
      streamResetPacing,
    });
    const codes: Status[] = [];
    const caller = async () => {
      while (codes.length < 1500) {
        codes.push(await callUnary(users.getUser.bind(users), { id: 'u1' }).then(() => Status.OK, (error: { code: Status }) => error.code));
      }
    };
    await Promise.all(Array.from({ length: 50 }, caller));
    return { codes, connections: instance.connections };
  }

  it('without pacing, cancelling every outrun attempt makes the server close the connection (Node\'s rapid-reset defence)', async () => {
    // The reason for the pacing below. Should a later Node tolerate this, the pacing could go.
    // The calls in flight on the closed connection fail UNAVAILABLE, and most are retried.
    const { connections } = await everyCallOutrunsItsFirstAttempt({ perSecond: 1_000_000, burst: 1_000_000 });
    expect(connections).toBeGreaterThan(1);
  });

  it('spends none of that budget on the attempts of a call its caller cancelled', async () => {
    const instance = await startInstance();
    const users = usersOf([instance], {
      retryPolicy: { backupAttempts: { delay: { minSamples: 1, minDelayMs: 2, maxDelayMs: 2 }, budget: { ratio: 1, reserve: 5000 } } },
      // One reset, never refilled.
      streamResetPacing: { perSecond: 0, burst: 1 },
    });
    await callUnary(users.getUser.bind(users), { id: 'u1' });

    // Both attempts of a call hang, and its caller cancels it: the cancel reaches both, unpaced.
    instance.hung = true;
    const [before, leftBeforeCancel] = [instance.calls, instance.left];
    const cancelled = new Promise<Status>((resolve) => {
      const call = users.getUser({ id: 'u1' }, (error) => resolve(error?.code ?? Status.OK));
      const cancelWhenBothArrived = () => (instance.calls - before >= 2 ? call.cancel() : setTimeout(cancelWhenBothArrived, 5));
      cancelWhenBothArrived();
    });
    expect(await cancelled).toBe(Status.CANCELLED);
    // Every attempt that reached the server (two or three) has seen its caller leave.
    await until(() => instance.left - leftBeforeCancel === instance.calls - before);
    expect(instance.left - leftBeforeCancel).toBe(instance.calls - before);
    instance.hung = false;

    // The one reset is still there for an outrun attempt: the server sees its caller leave long
    // before the 5 s it would hold it.
    instance.firstAttemptHeldMs = 5_000;
    const leftBefore = instance.left;
    await callUnary(users.getUser.bind(users), { id: 'u2' });
    await until(() => instance.left > leftBefore);
    expect(instance.left).toBe(leftBefore + 1);
  });

  it("cancels outrun attempts within the target's pacing, and the connection and every call survive", async () => {
    expect(DEFAULT_STREAM_RESET_PACING).toEqual({ perSecond: 16, burst: 500 });
    const { codes, connections } = await everyCallOutrunsItsFirstAttempt(DEFAULT_STREAM_RESET_PACING);
    expect(codes.filter((code) => code !== Status.OK)).toEqual([]);
    expect(connections).toBe(1);
  });
});
