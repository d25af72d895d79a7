import { EventEmitter } from 'node:events';
import { credentials, Metadata, status as Status, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { userV1 } from '@switchyard/proto';
import { runInCallContext } from '../server/call-context';
import { closeAfterEach } from '../server/close-after-each.test-support';
import { IncomingCallContext } from '../server/incoming-call-context';
import { serve } from '../server/serve';
import { defineService, type UnaryHandler } from '../server/service-handlers';
import { callUnary } from './call-unary';

type Callback = (error: ServiceError | null, response: string) => void;

function unavailable(): ServiceError {
  return Object.assign(new Error('14 UNAVAILABLE: no connection'), { code: Status.UNAVAILABLE, details: 'no connection', metadata: new Metadata() });
}

function fakeCall(): ClientUnaryCall & { cancelled: number } {
  const call = { cancelled: 0, cancel: () => (call.cancelled += 1) };
  return call as unknown as ClientUnaryCall & { cancelled: number };
}

describe('callUnary', () => {
  it('rejects with the error of a method that calls back before it returns', async () => {
    const signal = new AbortController().signal;
    const method = (_request: string, _metadata: Metadata, _options: unknown, callback: Callback) => {
      callback(unavailable(), '');
      return fakeCall();
    };
    await expect(callUnary(method, 'x', { signal })).rejects.toMatchObject({ code: Status.UNAVAILABLE });
  });

  it('rejects, without throwing, when the method calls back and then throws', async () => {
    const signal = new AbortController().signal;
    const method = (_request: string, _metadata: Metadata, _options: unknown, callback: Callback): ClientUnaryCall => {
      callback(unavailable(), '');
      throw new RangeError('Maximum call stack size exceeded');
    };
    await expect(callUnary(method, 'x', { signal })).rejects.toMatchObject({ code: Status.UNAVAILABLE });
  });

  it('rejects INTERNAL with the message when the method throws without calling back', async () => {
    const method = (): ClientUnaryCall => {
      throw new TypeError('channel target is invalid');
    };
    await expect(callUnary(method, 'x')).rejects.toMatchObject({ code: Status.INTERNAL, details: 'channel target is invalid' });
  });

  it('cancels the call when the signal aborts, and not after it settled', async () => {
    const controller = new AbortController();
    const call = fakeCall();
    let callback: Callback | undefined;
    const method = (_request: string, _metadata: Metadata, _options: unknown, cb: Callback) => {
      callback = cb;
      return call;
    };
    const pending = callUnary(method, 'x', { signal: controller.signal });
    controller.abort();
    expect(call.cancelled).toBe(1);
    callback!(null, 'late');
    await expect(pending).resolves.toBe('late');

    const settledFirst = fakeCall();
    const answered = callUnary((_r: string, _m: Metadata, _o: unknown, cb: Callback) => (cb(null, 'ok'), settledFirst), 'x', { signal: controller.signal });
    await expect(answered).resolves.toBe('ok');
    expect(settledFirst.cancelled).toBe(0);
  });
});

describe('callUnary inside a handler', () => {
  const opened = closeAfterEach();
  const unused = async () => {
    throw new Error('not used');
  };
  const user = (id: string) => ({ id, name: 'Ada', email: 'ada@example.com', createTime: new Date(0), orderCount: 0, totalSpentCents: 0 });

  /** A UserService server whose GetUser is `getUser`, and a client of it. */
  async function startUsers(getUser: UnaryHandler<userV1.GetUserRequest, userV1.GetUserResponse>) {
    const service = defineService('switchyard.user.v1.UserService', userV1.UserServiceService, { getUser, createUser: unused, batchGetUsers: unused, listUsers: unused });
    const serving = await serve([service], { host: '127.0.0.1', port: 0 });
    opened.server(serving.server);
    const client = opened.client(new userV1.UserServiceClient(`127.0.0.1:${serving.port}`, credentials.createInsecure()));
    return client.getUser.bind(client);
  }

  /** A UserService whose GetUser answers when its caller has gone or after `slowMs`, telling which. */
  async function startBackend(slowMs: number) {
    const ended: string[] = [];
    const getUser = await startUsers(async (request, ctx) => {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => (ended.push('answered'), resolve()), slowMs);
        ctx.signal.addEventListener('abort', () => (clearTimeout(timer), ended.push('cancelled'), resolve()), { once: true });
      });
      return { user: user(request.id) };
    });
    return { ended, getUser };
  }

  /** A UserService in front that asks the backend: awaiting its answer, or leaving it running and answering at once. */
  async function startFront(backend: Awaited<ReturnType<typeof startBackend>>, mode: 'await' | 'leave running') {
    const leftRunning: Array<Promise<unknown>> = [];
    const getUser = await startUsers(async (request) => {
      const asked = callUnary(backend.getUser, { id: request.id });
      if (mode === 'await') return asked;
      leftRunning.push(asked.then(() => 'answered', (error: ServiceError) => Status[error.code]));
      return { user: user(request.id) };
    });
    return { leftRunning, getUser };
  }

  it("cancels the handler's calls when its own caller goes away", async () => {
    const backend = await startBackend(10_000);
    const front = await startFront(backend, 'await');
    const controller = new AbortController();
    const call = callUnary(front.getUser, { id: 'u1' }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(call).rejects.toMatchObject({ code: Status.CANCELLED });
    await waitFor(() => backend.ended.length > 0, 3_000);
    expect(backend.ended).toEqual(['cancelled']);
  });

  it('cancels at once a call made after its caller went away', async () => {
    let cancels = 0;
    const incoming = Object.assign(new EventEmitter(), { metadata: new Metadata(), cancelled: true, getPeer: () => 'ipv4:127.0.0.1:1', getDeadline: () => Infinity });
    const context = new IncomingCallContext(incoming as never, '/switchyard.user.v1.UserService/GetUser');
    const method = (_request: string, _metadata: Metadata, _options: unknown, _callback: Callback) => ({ cancel: () => (cancels += 1) }) as unknown as ClientUnaryCall;
    void runInCallContext(context, () => callUnary(method, 'x'));
    expect(cancels).toBe(1);
  });

  it('leaves running a call the handler did not wait for, after the handler answered', async () => {
    const backend = await startBackend(300);
    const front = await startFront(backend, 'leave running');
    await callUnary(front.getUser, { id: 'u1' });
    // grpc-js ends the answered call with a 'cancelled' event of its own, which is not the caller leaving.
    await expect(Promise.all(front.leftRunning)).resolves.toEqual(['answered']);
    expect(backend.ended).toEqual(['answered']);
  });
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
