import { credentials, Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { userV1 } from '@switchyard/proto';
import { callUnary, type CallContext } from '@switchyard/runtime';
import { encodePageToken, openDatabase, type StorageEngine } from '@switchyard/storage';
import { createScratchStorage, type ScratchStorage } from '@switchyard/storage/testing';
import { badRequestFields, startTestServer, type TestServer } from '@switchyard/testing';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { createKyselyUserRepository } from './kysely-user-repository';
import { userMigrations } from './user-migrations';
import type { UserDatabase } from './user-schema';
import { createUserService, userServiceHandlers } from './user-service';

const logger = pino({ level: 'silent' });

async function failureOf(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the call to fail');
}

describe.each<StorageEngine>(['sqlite', 'postgres'])('UserService on %s', (engine) => {
  let scratch: ScratchStorage;
  let db: Kysely<UserDatabase>;
  let server: TestServer;
  let client: userV1.UserServiceClient;
  // A clock the tests drive: each create is `step` ms after the last (0 makes creates tie).
  const clock = { ms: Date.parse('2026-01-01T00:00:00Z'), step: 1 };
  const now = () => new Date((clock.ms += clock.step));

  async function start(): Promise<void> {
    db = await openDatabase<UserDatabase>({
      serviceName: 'user',
      dataDir: scratch.dataDir,
      databaseUrl: scratch.databaseUrl,
      migrations: userMigrations,
      logger,
    });
    server = await startTestServer([createUserService({ users: createKyselyUserRepository(db, { engine }), now })]);
    client = new userV1.UserServiceClient(server.address, credentials.createInsecure());
  }

  async function stop(): Promise<void> {
    client.close();
    server.stop();
    await db.destroy();
  }

  const createUser = (request: userV1.CreateUserRequest) => callUnary(client.createUser.bind(client), request);
  const getUser = (id: string) => callUnary(client.getUser.bind(client), { id });
  const batchGetUsers = (ids: string[]) => callUnary(client.batchGetUsers.bind(client), { ids });
  const listUsers = (pageSize: number, pageToken = '') => callUnary(client.listUsers.bind(client), { pageSize, pageToken });

  async function userCount(): Promise<number> {
    const row = await db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  beforeEach(async () => {
    scratch = await createScratchStorage(engine, 'user_service');
    clock.step = 1;
    await start();
  });
  afterEach(async () => {
    // Guarded: when PostgreSQL is down, beforeEach failed before anything was started.
    if (db) await stop();
    await scratch?.dispose();
    db = undefined!;
    scratch = undefined!;
  });

  describe('CreateUser', () => {
    it('stores the user with a normalised email and a new id, and GetUser returns it', async () => {
      const { user } = await createUser({ name: '  Ada Lovelace ', email: '  Ada@Example.COM ' });
      expect(user).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'Ada Lovelace', email: 'ada@example.com', createTime: expect.any(Date), orderCount: 0, totalSpentCents: 0 });
      expect(await getUser(user!.id)).toEqual({ user });
    });

    it.each<[string, userV1.CreateUserRequest, string[]]>([
      ['an empty request', { name: '', email: '' }, ['name', 'email']],
      ['a blank name', { name: '   ', email: 'a@example.com' }, ['name']],
      ['a name over 200 characters', { name: 'x'.repeat(201), email: 'a@example.com' }, ['name']],
      ['an email without @', { name: 'Ada', email: 'ada.example.com' }, ['email']],
      ['an email without a domain dot', { name: 'Ada', email: 'ada@example' }, ['email']],
      ['an email with spaces inside', { name: 'Ada', email: 'a da@example.com' }, ['email']],
      ['an email over 254 characters', { name: 'Ada', email: `${'a'.repeat(250)}@example.com` }, ['email']],
    ])('refuses %s with INVALID_ARGUMENT naming the fields, and writes nothing', async (_case, request, fields) => {
      const error = await failureOf(createUser(request));
      expect(error.code).toBe(Status.INVALID_ARGUMENT);
      for (const field of fields) expect(error.details).toContain(`${field}: `);
      expect(await userCount()).toBe(0);
    });

    it('accepts a name of exactly 200 characters, counting code points', async () => {
      const { user } = await createUser({ name: '😀'.repeat(200), email: 'emoji@example.com' });
      expect(user?.name).toBe('😀'.repeat(200));
    });

    it('refuses a second user with the same email, in any case, with ALREADY_EXISTS and no second row', async () => {
      await createUser({ name: 'Ada', email: 'ada@example.com' });
      const error = await failureOf(createUser({ name: 'Other Ada', email: ' ADA@example.com' }));
      expect(error.code).toBe(Status.ALREADY_EXISTS);
      expect(error.details).toContain('ada@example.com');
      expect(await userCount()).toBe(1);
    });

    it('lets exactly one of many racing creates with the same email win', async () => {
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, n) => createUser({ name: `Racer ${n}`, email: 'race@example.com' })));
      const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
      const lost = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [(outcome.reason as ServiceError).code] : []));
      expect(won).toHaveLength(1);
      expect(lost).toEqual(Array(9).fill(Status.ALREADY_EXISTS));
      expect(await userCount()).toBe(1);
    });

    it('starts no write when the caller has already gone', async () => {
      const handlers = userServiceHandlers({ users: createKyselyUserRepository(db, { engine }) });
      const controller = new AbortController();
      controller.abort(new Error('client cancelled'));
      const context: CallContext = { method: '/switchyard.user.v1.UserService/CreateUser', metadata: new Metadata(), peer: 'test', peerIdentity: undefined, deadline: undefined, signal: controller.signal };
      await expect(handlers.createUser({ name: 'Ada', email: 'ada@example.com' }, context)).rejects.toThrow('client cancelled');
      expect(await userCount()).toBe(0);
    });
  });

  describe('GetUser', () => {
    it('answers NOT_FOUND naming the id', async () => {
      const error = await failureOf(getUser('no-such-user'));
      expect(error.code).toBe(Status.NOT_FOUND);
      expect(error.details).toContain('"no-such-user"');
    });

    it('refuses an empty id with INVALID_ARGUMENT on id', async () => {
      const error = await failureOf(getUser(''));
      expect(error.code).toBe(Status.INVALID_ARGUMENT);
      expect(error.details).toContain('id: ');
    });
  });

  describe('BatchGetUsers', () => {
    it('returns the users in request order, repeats included', async () => {
      const a = (await createUser({ name: 'A', email: 'a@example.com' })).user!;
      const b = (await createUser({ name: 'B', email: 'b@example.com' })).user!;
      const c = (await createUser({ name: 'C', email: 'c@example.com' })).user!;
      const { users } = await batchGetUsers([c.id, a.id, b.id, a.id]);
      expect(users).toEqual([c, a, b, a]);
    });

    it('answers NOT_FOUND naming the unknown id', async () => {
      const a = (await createUser({ name: 'A', email: 'a@example.com' })).user!;
      const error = await failureOf(batchGetUsers([a.id, 'ghost']));
      expect(error.code).toBe(Status.NOT_FOUND);
      expect(error.details).toContain('"ghost"');
    });

    it.each<[string, string[], string]>([
      ['no ids', [], 'ids: '],
      ['more than 100 ids', Array.from({ length: 101 }, (_, n) => `id-${n}`), 'ids: '],
      ['an empty id', ['x', ''], 'ids[1]: '],
    ])('refuses %s with INVALID_ARGUMENT', async (_case, ids, field) => {
      const error = await failureOf(batchGetUsers(ids));
      expect(error.code).toBe(Status.INVALID_ARGUMENT);
      expect(error.details).toContain(field);
    });

    it('accepts exactly 100 ids', async () => {
      const a = (await createUser({ name: 'A', email: 'a@example.com' })).user!;
      const { users } = await batchGetUsers(Array(100).fill(a.id));
      expect(users).toHaveLength(100);
    });
  });

  describe('ListUsers', () => {
    async function createMany(count: number, prefix: string): Promise<string[]> {
      const ids: string[] = [];
      for (let n = 0; n < count; n += 1) ids.push((await createUser({ name: `${prefix} ${n}`, email: `${prefix}${n}@example.com` })).user!.id);
      return ids;
    }

    it('walks every user exactly once, oldest first, even with users added while paging', async () => {
      const before = await createMany(23, 'before');
      const seen: userV1.User[] = [];
      let token = '';
      let pages = 0;
      do {
        const page = await listUsers(5, token);
        seen.push(...page.users);
        token = page.nextPageToken;
        pages += 1;
        // a user added mid-walk sorts after everything already served
        if (pages === 2) await createMany(1, 'during');
      } while (token !== '');
      const ids = seen.map((user) => user.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.slice(0, 23)).toEqual(before);
      expect(ids).toHaveLength(24);
      const times = seen.map((user) => user.createTime!.getTime());
      expect(times).toEqual([...times].sort((x, y) => x - y));
    });

    it('walks users created in the same millisecond exactly once, ordered by id', async () => {
      clock.step = 0;
      const created = await createMany(12, 'tied');
      const seen: string[] = [];
      let token = '';
      do {
        const page = await listUsers(5, token);
        seen.push(...page.users.map((user) => user.id));
        token = page.nextPageToken;
      } while (token !== '');
      expect(seen).toEqual([...created].sort());
    });

    it('serves 20 for page_size 0 and at most 100', async () => {
      await createMany(105, 'bulk');
      const defaultPage = await listUsers(0);
      expect(defaultPage.users).toHaveLength(20);
      const bigPage = await listUsers(1000);
      expect(bigPage.users).toHaveLength(100);
      const rest = await listUsers(1000, bigPage.nextPageToken);
      expect(rest.users).toHaveLength(5);
      expect(rest.nextPageToken).toBe('');
    });

    it('returns an empty last page with no token when there are no users', async () => {
      expect(await listUsers(10)).toEqual({ users: [], nextPageToken: '' });
    });

    it('refuses a negative page_size and a garbled page_token with INVALID_ARGUMENT naming them', async () => {
      const badSize = await failureOf(listUsers(-1));
      expect(badSize.code).toBe(Status.INVALID_ARGUMENT);
      expect(badSize.details).toContain('page_size: ');
      const badToken = await failureOf(listUsers(10, 'not-a-token!'));
      expect(badToken.code).toBe(Status.INVALID_ARGUMENT);
      expect(badToken.details).toContain('page_token: ');
    });
  });

  describe('hostile input', () => {
    it('refuses NUL and control characters in every string field with INVALID_ARGUMENT naming it, and writes nothing', async () => {
      const cases: Array<[Promise<unknown>, string]> = [
        [getUser('ada\u0000'), 'id'],
        [getUser('line\nforged'), 'id'],
        [batchGetUsers(['ok', 'bell\u0007']), 'ids[1]'],
        [createUser({ name: 'Ada\u0000', email: 'ada@example.com' }), 'name'],
        [createUser({ name: 'Ada', email: 'ada\u0000@example.com' }), 'email'],
        [createUser({ name: 'Ada\u009b31m', email: 'ada@example.com' }), 'name'],
      ];
      for (const [call, field] of cases) {
        const error = await failureOf(call);
        expect({ field, code: error.code, fields: badRequestFields(error) }).toEqual({ field, code: Status.INVALID_ARGUMENT, fields: [field] });
      }
      expect(await userCount()).toBe(0);
    });

    it('refuses over-long ids and page tokens with INVALID_ARGUMENT, without echoing them', async () => {
      const long = 'x'.repeat(100_000);
      for (const [call, field] of [
        [getUser(long), 'id'],
        [batchGetUsers([long]), 'ids[0]'],
        [listUsers(10, long), 'page_token'],
      ] as const) {
        const error = await failureOf(call);
        expect({ field, code: error.code, fields: badRequestFields(error) }).toEqual({ field, code: Status.INVALID_ARGUMENT, fields: [field] });
        expect(error.details.length).toBeLessThan(200);
      }
    });

    it('refuses a page token whose id holds NUL with INVALID_ARGUMENT on page_token', async () => {
      const error = await failureOf(listUsers(10, encodePageToken({ createTimeMs: 1, id: 'a\u0000b' })));
      expect(error.code).toBe(Status.INVALID_ARGUMENT);
      expect(badRequestFields(error)).toEqual(['page_token']);
    });
  });

  it('keeps users, and the email index, across a restart', async () => {
    const { user } = await createUser({ name: 'Ada', email: 'ada@example.com' });
    await stop();
    await start();
    expect(await getUser(user!.id)).toEqual({ user });
    const error = await failureOf(createUser({ name: 'Ada again', email: 'ada@example.com' }));
    expect(error.code).toBe(Status.ALREADY_EXISTS);
  });
});
