import { status as Status } from '@grpc/grpc-js';
import { descriptorSetBase64, userV1 } from '@switchyard/proto';
import pino from 'pino';
import { callUnary } from '../client/call-unary';
import { createClientFactory } from '../client/client-factory';
import { idempotentMethodPaths } from '../client/method-idempotency';
import { loadServiceConfig } from '../config/service-config';
import { statusError } from '../errors/status-mapping';
import { defineService } from '../server/service-handlers';
import { startService, type RunningService } from '../server/start-service';
import { startTelemetry } from '../telemetry/start-telemetry';
import { clientMetricsInterceptor } from './client-metrics-interceptor';
import { startMetricsServer } from './metrics-server';
import { scrapeMetrics, sampleValue } from './prometheus-scrape';
import { RpcMetrics } from './rpc-metrics';

const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
const USER_SERVICE = 'switchyard.user.v1.UserService';

/** GetUser: `missing` is NOT_FOUND, `flaky` is UNAVAILABLE on its first call, anything else a user. */
function userService() {
  let flakyCalls = 0;
  return defineService(USER_SERVICE, userV1.UserServiceService, {
    async getUser(request) {
      if (request.id === 'missing') throw statusError(Status.NOT_FOUND, 'user "missing" not found');
      if (request.id === 'flaky' && ++flakyCalls === 1) throw statusError(Status.UNAVAILABLE, 'first attempt refused');
      return { user: { id: request.id, name: 'Ada', email: 'ada@example.com', createTime: new Date(0), orderCount: 0, totalSpentCents: 0 } };
    },
    async createUser() {
      throw statusError(Status.UNIMPLEMENTED, 'not here');
    },
    async batchGetUsers() {
      return { users: [] };
    },
    async listUsers() {
      return { users: [], nextPageToken: '' };
    },
  });
}

describe('RPC metrics at /metrics', () => {
  // startService stops when its parent's IPC channel is gone, and jest's leaves process.send
  // set without one: hidden here so the service runs as under a supervisor.
  const send = process.send;
  beforeAll(() => (process.send = undefined));
  afterAll(() => (process.send = send));
  let running: RunningService | undefined;
  let factory: ReturnType<typeof createClientFactory> | undefined;
  afterEach(async () => {
    factory?.close();
    await running?.stop('test over');
    running = undefined;
    factory = undefined;
  });

  async function start() {
    const metrics = new RpcMetrics();
    const config = loadServiceConfig('user', { GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', METRICS_PORT: '0', DRAIN_DELAY_MS: '0' });
    running = await startService({
      config,
      logger,
      telemetry: startTelemetry({ serviceName: 'user', serviceVersion: 'test', env: {} }),
      metrics,
      services: [userService()],
      register: false,
      exitOnSignal: false,
    });
    factory = createClientFactory({
      logger,
      defaultDeadlineMs: 10_000,
      idempotentMethods: idempotentMethodPaths(descriptorSetBase64),
      retry: { initialBackoffMs: 5, random: () => 1 },
      interceptors: [clientMetricsInterceptor(metrics)],
      metrics,
    });
    const users = factory.get(userV1.UserServiceClient, running.address);
    return { users, metricsPort: running.metricsPort! };
  }

  it('counts server and client calls per method and code, and attempts beyond the first', async () => {
    const { users, metricsPort } = await start();
    expect(metricsPort).toBeGreaterThan(0);
    for (const id of ['u1', 'u2', 'u3']) await callUnary(users.getUser.bind(users), { id });
    for (let i = 0; i < 2; i++) await expect(callUnary(users.getUser.bind(users), { id: 'missing' })).rejects.toMatchObject({ code: Status.NOT_FOUND });
    await callUnary(users.getUser.bind(users), { id: 'flaky' });

    const samples = await scrapeMetrics(metricsPort);
    const getUser = { rpc_system: 'grpc', rpc_service: USER_SERVICE, rpc_method: 'GetUser' };
    const count = (side: 'server' | 'client', code: number) => sampleValue(samples, `rpc_${side}_duration_seconds_count`, { ...getUser, rpc_grpc_status_code: String(code) });
    // The server saw every attempt: 4 OK (3 + the retry), 2 NOT_FOUND, 1 UNAVAILABLE.
    expect(count('server', Status.OK)).toBe(4);
    expect(count('server', Status.NOT_FOUND)).toBe(2);
    expect(count('server', Status.UNAVAILABLE)).toBe(1);
    // The caller saw calls: the retried one is one OK call.
    expect(count('client', Status.OK)).toBe(4);
    expect(count('client', Status.NOT_FOUND)).toBe(2);
    expect(count('client', Status.UNAVAILABLE)).toBeUndefined();
    expect(sampleValue(samples, 'rpc_client_retries_total', getUser)).toBe(1);
    // Bucket of +Inf holds every observation, and durations are seconds, not milliseconds.
    expect(sampleValue(samples, 'rpc_server_duration_seconds_bucket', { ...getUser, rpc_grpc_status_code: '0', le: '+Inf' })).toBe(4);
    expect(sampleValue(samples, 'rpc_server_duration_seconds_sum', { ...getUser, rpc_grpc_status_code: '0' })).toBeLessThan(10);
    // prom-client's default process metrics.
    expect(sampleValue(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('closes the metrics port on shutdown', async () => {
    const { metricsPort } = await start();
    await scrapeMetrics(metricsPort);
    await running!.stop('test over');
    await expect(scrapeMetrics(metricsPort)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('refuses to start on a metrics port already taken, naming METRICS_PORT and how to fix it', async () => {
    const taken = await startMetricsServer(new RpcMetrics({ defaultMetrics: false }).registry, { host: '127.0.0.1', port: 0 });
    try {
      const config = loadServiceConfig('user', { GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', METRICS_PORT: String(taken.port) });
      const telemetry = startTelemetry({ serviceName: 'user', serviceVersion: 'test', env: {} });
      await expect(startService({ config, logger, telemetry, metrics: new RpcMetrics(), services: [userService()], register: false, exitOnSignal: false })).rejects.toThrow(
        `METRICS_PORT=${taken.port}: the port is in use`,
      );
    } finally {
      await taken.close();
    }
  });

  it('serves no metrics port unless METRICS_PORT is set', () => {
    expect(loadServiceConfig('user', {}).metricsPort).toBeUndefined();
    expect(loadServiceConfig('user', { METRICS_PORT: '9462' }).metricsPort).toBe(9462);
    expect(() => loadServiceConfig('user', { METRICS_PORT: 'nine' })).toThrow(/METRICS_PORT/);
  });
});
