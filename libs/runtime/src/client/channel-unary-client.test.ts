import { InterceptingCall, Metadata, Server, makeGenericClientConstructor, ServerCredentials, status as Status, type Interceptor, type ServerUnaryCall, type ServerWritableStream, type ServiceError, type sendUnaryData } from '@grpc/grpc-js';
import { descriptorSetBase64, userV1 } from '@switchyard/proto';
import pino from 'pino';
import { constants } from 'node:http2';
import { closeAfterEach } from '../server/close-after-each.test-support';
import { http2ServersOf } from '../server/grpc-http2-servers';
import { createClientFactory } from './client-factory';
import { idempotentMethodPaths } from './method-idempotency';

const GET_USER = '/switchyard.user.v1.UserService/GetUser';
const logger = pino({ level: 'silent' });
const opened = closeAfterEach();

const user = (id: string): userV1.User => ({ id, name: 'Ada', email: 'ada@example.com', createTime: new Date(0), orderCount: 0, totalSpentCents: 0 });

type Handler = { unary: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => void } | { stream: (call: ServerWritableStream<Buffer, Buffer>) => void };

/**
 * A grpc-js server for GetUser's path that answers with whatever bytes `handler` gives: a server
 * stream lets it answer OK with no message, or with two.
 */
async function rawGetUserServer(handler: Handler): Promise<string> {
  const server = new Server();
  const identity = (bytes: Buffer) => bytes;
  const streaming = 'stream' in handler;
  server.register(GET_USER, streaming ? handler.stream : handler.unary, identity, identity, streaming ? 'serverStream' : 'unary');
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  opened.server(server);
  return `127.0.0.1:${port}`;
}

const encoded = (response: userV1.GetUserResponse) => Buffer.from(userV1.GetUserResponse.encode(response).finish());

function usersClient(address: string, interceptors: Interceptor[] = []) {
  const factory = createClientFactory({ logger, defaultDeadlineMs: 5_000, idempotentMethods: idempotentMethodPaths(descriptorSetBase64), retryPolicy: { backupAttempts: false }, interceptors });
  opened.client(factory);
  return factory.get(userV1.UserServiceClient, address);
}

function getUser(users: userV1.UserServiceClient, ...args: unknown[]): Promise<{ error: ServiceError | null; response?: userV1.GetUserResponse }> {
  return new Promise((resolve) => {
    const method = users.getUser as unknown as (...a: unknown[]) => unknown;
    method.call(users, { id: 'u1' }, ...args, (error: ServiceError | null, response?: userV1.GetUserResponse) => resolve({ error, response }));
  });
}

describe('unary calls of factory clients', () => {
  it('answer with the response, and the call they return emits the headers and status and knows its peer', async () => {
    const address = await rawGetUserServer({
      unary: (call, callback) => {
        call.sendMetadata(new Metadata({}));
        const trailers = new Metadata();
        trailers.set('x-answered-by', 'raw');
        callback(null, encoded({ user: user(userV1.GetUserRequest.decode(call.request).id) }), trailers);
      },
    });
    const users = usersClient(address);
    expect(users).toBeInstanceOf(userV1.UserServiceClient);
    expect((users.getUser as unknown as { path: string }).path).toBe(GET_USER);
    const events: string[] = [];
    let peer = '';
    const answer = await new Promise<userV1.GetUserResponse>((resolve, reject) => {
      const call = users.getUser({ id: 'u7' }, (error, response) => (error ? reject(error) : resolve(response)));
      call.on('metadata', () => events.push('metadata'));
      call.on('status', (status: { code: number; metadata: Metadata }) => {
        events.push(`status ${status.code} ${status.metadata.get('x-answered-by')}`);
        peer = call.getPeer();
      });
    });
    expect(answer.user?.id).toBe('u7');
    expect(events).toEqual(['metadata', 'status 0 raw']);
    expect(peer).toBe(address);
  });

  it('take metadata and call options before the callback, as grpc-js methods do', async () => {
    const seen: { header: unknown; secondsLeft: number }[] = [];
    const address = await rawGetUserServer({
      unary: (call, callback) => {
        seen.push({ header: call.metadata.get('x-tenant')[0], secondsLeft: (Number(call.getDeadline()) - Date.now()) / 1000 });
        callback(null, encoded({ user: user('u1') }));
      },
    });
    const users = usersClient(address);
    const metadata = new Metadata();
    metadata.set('x-tenant', 'acme');
    expect((await getUser(users, metadata)).error).toBeNull();
    expect((await getUser(users, { deadline: Date.now() + 60_000 })).error).toBeNull();
    expect((await getUser(users, metadata, { deadline: Date.now() + 60_000 })).error).toBeNull();
    expect(seen.map((s) => s.header)).toEqual(['acme', undefined, 'acme']);
    // The factory's default deadline (5 s) on the first call, the caller's minute on the others.
    expect(seen.map((s) => (s.secondsLeft <= 5 ? 'default' : s.secondsLeft > 50 ? 'caller' : s.secondsLeft))).toEqual(['default', 'caller', 'caller']);
  });

  it('fail INTERNAL, naming the parse error, when the answer is not a valid message', async () => {
    const address = await rawGetUserServer({ unary: (_call, callback) => callback(null, Buffer.from([0x0a, 0xff, 0xff, 0xff])) });
    const { error } = await getUser(usersClient(address));
    expect(error).toMatchObject({ code: Status.INTERNAL });
    expect(error?.details).toMatch(/^Response message parsing error: /);
  });

  it('fail INTERNAL without reaching the server when the request cannot be serialized', async () => {
    let reached = 0;
    const address = await rawGetUserServer({ unary: (_call, callback) => (reached++, callback(null, encoded({ user: user('u1') }))) });
    const users = usersClient(address);
    // Sent, ListUsers would fail UNIMPLEMENTED: the server knows GetUser only.
    const error = await new Promise<ServiceError | null>((resolve) => users.listUsers({ pageSize: 'many' as unknown as number, pageToken: '' }, (e) => resolve(e)));
    expect(error).toMatchObject({ code: Status.INTERNAL });
    expect(error?.details).toMatch(/^Request message serialization failure: /);
    expect(reached).toBe(0);
  });

  it('fail UNIMPLEMENTED when the server answers OK with no message, or with two', async () => {
    const none = await rawGetUserServer({ stream: (call) => call.end() });
    expect((await getUser(usersClient(none))).error).toMatchObject({ code: Status.UNIMPLEMENTED, details: 'No message received' });
    const two = await rawGetUserServer({
      stream: (call) => {
        call.write(encoded({ user: user('u1') }));
        call.write(encoded({ user: user('u2') }));
        call.end();
      },
    });
    // grpc-js's own unary path reads one message, so a second one holds its status until the deadline.
    expect((await getUser(usersClient(two))).error).toMatchObject({ code: Status.UNIMPLEMENTED, details: 'Too many responses received' });
  });

  it('take the same path when makeUnaryRequest is called directly, as on a client without generated methods', async () => {
    const two = await rawGetUserServer({
      stream: (call) => {
        call.write(encoded({ user: user('u1') }));
        call.write(encoded({ user: user('u2') }));
        call.end();
      },
    });
    const factory = createClientFactory({ logger, defaultDeadlineMs: 5_000, idempotentMethods: new Set() });
    opened.client(factory);
    const raw = factory.get(makeGenericClientConstructor({}, 'Raw'), two);
    const bytes = (b: Buffer) => b;
    const error = await new Promise<ServiceError | null>((resolve) =>
      raw.makeUnaryRequest(GET_USER, bytes, bytes, encoded({ user: user('u1') }), new Metadata(), { deadline: Date.now() + 3_000 }, (e) => resolve(e)),
    );
    // grpc-js's own path would end DEADLINE_EXCEEDED here.
    expect(error).toMatchObject({ code: Status.UNIMPLEMENTED, details: 'Too many responses received' });
  });

  it('end CANCELLED when the caller cancels the call they returned', async () => {
    let reached!: () => void;
    const serverHasIt = new Promise<void>((resolve) => (reached = resolve));
    const address = await rawGetUserServer({ unary: () => reached() });
    const users = usersClient(address);
    const outcome = new Promise<ServiceError | null>((resolve) => {
      const call = users.getUser({ id: 'u1' }, (error) => resolve(error));
      void serverHasIt.then(() => call.cancel());
    });
    expect(await outcome).toMatchObject({ code: Status.CANCELLED });
  });

  it('run the factory interceptors, and interceptors given in the call options too', async () => {
    const address = await rawGetUserServer({ unary: (_call, callback) => callback(null, encoded({ user: user('u1') })) });
    const ran: string[] = [];
    const named =
      (name: string): Interceptor =>
      (options, nextCall) => {
        ran.push(`${name} ${options.method_definition.path}`);
        return new InterceptingCall(nextCall(options));
      };
    const users = usersClient(address, [named('factory')]);
    expect((await getUser(users)).error).toBeNull();
    expect(ran).toEqual([`factory ${GET_USER}`]);
    ran.length = 0;
    // Interceptors of the call take the place of the client's, as grpc-js has it.
    expect((await getUser(users, { interceptors: [named('call')] })).error).toBeNull();
    expect(ran).toEqual([`call ${GET_USER}`]);
  });

  it('end UNAVAILABLE, not INTERNAL as grpc-js says, when the server closes their connection with an HTTP/2 error', async () => {
    // What Node's HTTP/2 server does to a client it takes for a rapid-reset attacker.
    const server = new Server();
    server.register(GET_USER, () => undefined, (bytes: Buffer) => bytes, (bytes: Buffer) => bytes, 'unary');
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    opened.server(server);
    for (const http2Server of http2ServersOf(server)) {
      http2Server.prependListener('stream', (stream) => {
        setTimeout(() => {
          stream.session?.goaway(constants.NGHTTP2_INTERNAL_ERROR);
          stream.session?.destroy();
        }, 50);
      });
    }
    // No retries here: the status itself is under test.
    const factory = createClientFactory({ logger, defaultDeadlineMs: 5_000, idempotentMethods: new Set(), retryPolicy: { backupAttempts: false } });
    opened.client(factory);
    const { error } = await getUser(factory.get(userV1.UserServiceClient, `127.0.0.1:${port}`));
    expect(error).toMatchObject({ code: Status.UNAVAILABLE, details: expect.stringMatching(/Session closed with error code 2$/) });
  });
});
