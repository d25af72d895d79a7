import { Metadata, credentials, status as Status, type ServiceError } from '@grpc/grpc-js';
import { descriptorSetBase64, googleRpc, userV1 } from '@switchyard/proto';
import { AlreadyExistsError, InvalidArgumentError, callUnary, createClientFactory, defineService, idempotentMethodPaths, statusError, toStatusError } from '@switchyard/runtime';
import { startTestServer, type TestServer } from '@switchyard/testing';
import pino from 'pino';
import { toEdgeError } from './edge-errors';
import { forwardingService } from './forwarding-service';
import { PUBLIC_SERVICES } from './public-services';

const ada: userV1.User = { id: 'u1', name: 'Ada', email: 'ada@example.com', createTime: new Date('2026-01-01T00:00:00Z'), orderCount: 0, totalSpentCents: 0 };

/** A user service that answers GetUser for u1 and fails the other calls the way a real one can. */
const userService = defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
  async getUser(request) {
    if (request.id !== ada.id) throw statusError(Status.NOT_FOUND, `user "${request.id}" not found`);
    return { user: ada };
  },
  async createUser(request) {
    if (request.email === ada.email) throw new AlreadyExistsError(`a user with email "${request.email}" exists already`);
    // An INVALID_ARGUMENT whose trailers also carry what no outside caller should read.
    const error = toStatusError(new InvalidArgumentError([{ field: 'email', description: 'is not a valid email address' }]));
    error.metadata.set('x-upstream-address', '10.0.0.7:50052');
    throw error;
  },
  async batchGetUsers() {
    // What a driver error looks like when a service lets it through as UNKNOWN.
    const metadata = new Metadata();
    metadata.set('x-debug', 'SELECT * FROM users WHERE id = $1');
    throw statusError(Status.UNKNOWN, 'SQLITE_ERROR: no such table: users at /srv/user/dist/main.js:120:7', metadata);
  },
  async listUsers(request) {
    return { users: request.pageSize === 1 ? [ada] : [], nextPageToken: '' };
  },
});

describe('gRPC routing through the gateway', () => {
  const servers: TestServer[] = [];
  const factory = createClientFactory({ logger: pino({ level: 'silent' }), defaultDeadlineMs: 10_000, idempotentMethods: idempotentMethodPaths(descriptorSetBase64) });
  let client: userV1.UserServiceClient;

  beforeAll(async () => {
    const upstream = await startTestServer([userService]);
    servers.push(upstream);
    const userPublic = PUBLIC_SERVICES.find((service) => service.app === 'user')!;
    const gateway = await startTestServer([forwardingService(userPublic, factory.get(userPublic.client, upstream.address), { toEdgeError })]);
    servers.push(gateway);
    // A plain grpc-js client, as an outside caller has.
    client = new userV1.UserServiceClient(gateway.address, credentials.createInsecure());
  });
  afterAll(() => {
    client.close();
    factory.close();
    servers.forEach((server) => server.stop());
  });

  const failureOf = (promise: Promise<unknown>) => promise.then(() => undefined, (error: ServiceError) => error);

  it('forwards a call of the user service and returns its answer', async () => {
    await expect(callUnary(client.getUser.bind(client), { id: 'u1' })).resolves.toEqual({ user: ada });
    await expect(callUnary(client.listUsers.bind(client), { pageSize: 1, pageToken: '' })).resolves.toEqual({ users: [ada], nextPageToken: '' });
  });

  it('keeps the code and the message of NOT_FOUND and ALREADY_EXISTS', async () => {
    await expect(callUnary(client.getUser.bind(client), { id: 'nobody' })).rejects.toMatchObject({ code: Status.NOT_FOUND, details: 'user "nobody" not found' });
    await expect(callUnary(client.createUser.bind(client), { name: 'Ada', email: ada.email })).rejects.toMatchObject({ code: Status.ALREADY_EXISTS });
  });

  it('keeps INVALID_ARGUMENT with its BadRequest but drops the upstream trailers', async () => {
    const error = (await failureOf(callUnary(client.createUser.bind(client), { name: 'Ada', email: 'nope' })))!;
    expect(error.code).toBe(Status.INVALID_ARGUMENT);
    expect(error.details).toBe('email: is not a valid email address');
    expect(error.metadata.get('x-upstream-address')).toEqual([]);
    const [details] = error.metadata.get('grpc-status-details-bin') as Buffer[];
    const badRequest = googleRpc.Status.decode(details).details.map((detail) => googleRpc.BadRequest.decode(detail.value));
    expect(badRequest).toEqual([{ fieldViolations: [expect.objectContaining({ field: 'email', description: 'is not a valid email address' })] }]);
  });

  it('hides what an upstream fault says about its internals', async () => {
    const error = (await failureOf(callUnary(client.batchGetUsers.bind(client), { ids: ['u1'] })))!;
    expect(error.code).toBe(Status.UNKNOWN);
    expect(error.details).toMatch(/^internal error/);
    expect(JSON.stringify(error.metadata.getMap())).not.toMatch(/SELECT|SQLITE|\/srv\//);
  });
});
