import { credentials, status as Status, type Client } from '@grpc/grpc-js';
import { trace } from '@opentelemetry/api';
import { userV1 } from '@switchyard/proto';
import { createLogger } from '../logging/create-logger';
import { closeAfterEach } from '../server/close-after-each.test-support';
import { serve } from '../server/serve';
import { defineService } from '../server/service-handlers';
import { callUnary } from './call-unary';
import { loggingInterceptor } from './logging-interceptor';
import { installInMemoryTracing } from '../telemetry/in-memory-tracing.test-support';
import { tracingInterceptor } from './tracing-interceptor';

const opened = closeAfterEach();
const tracing = installInMemoryTracing();
afterAll(() => tracing.uninstall());

async function startUsers(): Promise<string> {
  const unused = async () => {
    throw new Error('not used');
  };
  const service = defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
    async getUser(request, ctx) {
      // 'slow' answers only when its caller has gone.
      if (request.id === 'slow') await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
      return { user: { id: request.id, name: 'Ada', email: 'ada@example.com', createTime: new Date(0), orderCount: 0, totalSpentCents: 0 } };
    },
    createUser: unused,
    batchGetUsers: unused,
    listUsers: unused,
  });
  const serving = await serve([service], { host: '127.0.0.1', port: 0 });
  opened.server(serving.server);
  return `127.0.0.1:${serving.port}`;
}

function loggedClient(address: string) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ service: 'test', level: 'debug', format: 'json' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const users = new userV1.UserServiceClient(address, credentials.createInsecure(), { interceptors: [tracingInterceptor, loggingInterceptor(logger)] });
  opened.client(users as Client);
  return { users, lines };
}

describe('logging interceptor', () => {
  it('writes one debug line per attempt, naming the instance it reached', async () => {
    const address = await startUsers();
    const { users, lines } = loggedClient(address);
    await callUnary(users.getUser.bind(users), { id: 'u1' });
    expect(lines).toEqual([expect.objectContaining({ msg: 'outgoing rpc', method: '/switchyard.user.v1.UserService/GetUser', code: 0, status: 'OK', peer: address })]);
  });

  it("puts the call's trace_id on the line of an attempt ended from another context (a cancellation, a closed connection)", async () => {
    const { users, lines } = loggedClient(await startUsers());
    // Cancelled by a timer started outside the call's trace, as a caller's deadline or a
    // keepalive timeout would end it.
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const traceId = await trace.getTracer('test').startActiveSpan('caller', async (span) => {
      await callUnary(users.getUser.bind(users), { id: 'slow' }, { signal: controller.signal }).catch(() => undefined);
      span.end();
      return span.spanContext().traceId;
    });
    expect(lines).toEqual([expect.objectContaining({ msg: 'outgoing rpc', code: Status.CANCELLED, trace_id: traceId })]);
  });
});
