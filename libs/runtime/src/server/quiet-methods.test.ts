import { credentials } from '@grpc/grpc-js';
import { SpanKind } from '@opentelemetry/api';
import { userV1 } from '@switchyard/proto';
import pino from 'pino';
import { loadServiceConfig } from '../config/service-config';
import { statusError } from '../errors/status-mapping';
import { installInMemoryTracing } from '../telemetry/in-memory-tracing.test-support';
import { startTelemetry } from '../telemetry/start-telemetry';
import { defineService } from './service-handlers';
import { startService, type RunningService } from './start-service';

const GET_USER = '/switchyard.user.v1.UserService/GetUser';
const LIST_USERS = '/switchyard.user.v1.UserService/ListUsers';

function userService() {
  return defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
    async getUser(request) {
      return { user: { id: request.id, name: 'Ada', email: 'ada@example.com', createTime: new Date(0), orderCount: 0, totalSpentCents: 0 } };
    },
    async createUser() {
      throw statusError(12, 'not here');
    },
    async batchGetUsers() {
      return { users: [] };
    },
    async listUsers() {
      return { users: [], nextPageToken: '' };
    },
  });
}

interface LogLine {
  level: number;
  msg: string;
  method?: string;
}

describe('quiet methods (the registry passes Heartbeat)', () => {
  // startService stops when its parent's IPC channel is gone, and jest's leaves process.send
  // set without one: hidden here so the service runs as under a supervisor.
  const send = process.send;
  // Once per file: the runtime's tracer, got when its module loads, keeps the first provider.
  const tracing = installInMemoryTracing();
  beforeAll(() => (process.send = undefined));
  afterAll(async () => {
    process.send = send;
    await tracing.uninstall();
  });
  let running: RunningService | undefined;
  let client: userV1.UserServiceClient | undefined;
  afterEach(async () => {
    client?.close();
    await running?.stop('test over');
    tracing.exporter.reset();
    running = client = undefined;
  });

  /** Calls GetUser and ListUsers once each on a service started with `quietMethods`; the spans and log lines they left. */
  async function callBoth(quietMethods: string[] | undefined) {
    const lines: LogLine[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
    running = await startService({
      config: loadServiceConfig('user', { GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', DRAIN_DELAY_MS: '0' }),
      logger,
      telemetry: startTelemetry({ serviceName: 'user', serviceVersion: 'test', env: { OTEL_SDK_DISABLED: 'true' } }),
      services: [userService()],
      register: false,
      exitOnSignal: false,
      quietMethods,
    });
    client = new userV1.UserServiceClient(running.address, credentials.createInsecure());
    const users = client;
    await new Promise((resolve, reject) => users.getUser({ id: 'u1' }, (error, response) => (error ? reject(error) : resolve(response))));
    await new Promise((resolve, reject) => users.listUsers({ pageSize: 1, pageToken: '' }, (error, response) => (error ? reject(error) : resolve(response))));
    // The log line is written when the turn that answered ends.
    await new Promise((resolve) => setImmediate(resolve));
    const serverSpans = tracing.exporter.getFinishedSpans().filter((span) => span.kind === SpanKind.SERVER);
    const rpcLines = lines.filter((line) => line.msg === 'rpc');
    return {
      tracedMethods: serverSpans.map((span) => span.attributes['rpc.method']),
      levelOf: (method: string) => rpcLines.find((line) => line.method === method)?.level,
    };
  }

  it('are neither traced nor logged above debug; the other methods are both', async () => {
    const { tracedMethods, levelOf } = await callBoth([GET_USER]);
    expect(tracedMethods).toEqual(['ListUsers']);
    expect(levelOf(GET_USER)).toBe(pino.levels.values.debug);
    expect(levelOf(LIST_USERS)).toBe(pino.levels.values.info);
  });

  it('leave every method traced and logged at info when there are none', async () => {
    const { tracedMethods, levelOf } = await callBoth(undefined);
    expect(tracedMethods.sort()).toEqual(['GetUser', 'ListUsers']);
    expect(levelOf(GET_USER)).toBe(pino.levels.values.info);
    expect(levelOf(LIST_USERS)).toBe(pino.levels.values.info);
  });
});
