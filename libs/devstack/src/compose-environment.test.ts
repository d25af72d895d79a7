import { resolve } from 'node:path';
import { appEnvironment, readComposeEnvironment, stackOwnedVariables, type StackAddressing } from './compose-environment';

const compose = readComposeEnvironment(resolve(__dirname, '../../..'));
const addressing = (hostOf: StackAddressing['hostOf'], keepAutoAdvertise = true): StackAddressing => ({
  ports: { gateway: 41000, registry: 41001, user: 41002, order: 41003 },
  httpPort: 41080,
  dashboardPort: 41051,
  hostOf,
  databaseUrl: 'postgres://postgres@db.internal:6543/scratch',
  eventsUrl: undefined,
  otlpEndpoint: undefined,
  dataDir: '/tmp/data',
  keepAutoAdvertise,
});

describe('readComposeEnvironment', () => {
  it('reads ${NAME:-} as compose does with the variable unset: left out, so the gateway starts with auth off', () => {
    expect(compose.gateway).not.toHaveProperty('AUTH_JWT_SECRET');
    expect(compose.gateway).not.toHaveProperty('REGISTRY_TOKEN');
    expect(Object.values(compose.gateway).filter((value) => value.includes('${'))).toEqual([]);
    expect(compose.gateway).toMatchObject({ GRPC_PORT: '50050', LOG_LEVEL: 'info' });
  });
});

describe('stackOwnedVariables', () => {
  it("keeps compose's service names and ADVERTISE_ADDRESS=auto, and sets this stack's ports", () => {
    expect(stackOwnedVariables(compose.user, 'user', addressing((app) => app))).toEqual({
      GRPC_PORT: '41002',
      // Compose's fixed metrics port becomes any free one: stacks side by side must not collide.
      METRICS_PORT: '0',
      // Each replica finds its own address, as in a container.
      ADVERTISE_ADDRESS: 'auto',
      REGISTRY_ADDRESS: 'registry:41001',
      DATABASE_URL: 'postgres://postgres@db.internal:6543/scratch',
      DATA_DIR: '/tmp/data',
    });
  });

  it("gives user and order the stack's broker in compose's EVENTS_URL, and no broker at all when the stack has none", () => {
    const withBroker = { ...addressing((app) => app), eventsUrl: 'nats://nats:41222' };
    for (const app of ['user', 'order'] as const) {
      expect(compose[app].EVENTS_URL).toBe('nats://nats:4222');
      expect(stackOwnedVariables(compose[app], app, withBroker)).toMatchObject({ EVENTS_URL: 'nats://nats:41222' });
      expect(stackOwnedVariables(compose[app], app, addressing((app) => app))).not.toHaveProperty('EVENTS_URL');
    }
    // Compose's value never reaches an app of a stack without a broker, nor does the caller's.
    const env = appEnvironment({ compose: compose.user, defaults: {}, caller: { EVENTS_URL: 'nats://127.0.0.1:4222' }, owned: stackOwnedVariables(compose.user, 'user', addressing((app) => app)) });
    expect(env).not.toHaveProperty('EVENTS_URL');
    expect(stackOwnedVariables(compose.gateway, 'gateway', withBroker)).not.toHaveProperty('EVENTS_URL');
  });

  it('names the unscaled gateway by its service name', () => {
    expect(stackOwnedVariables(compose.gateway, 'gateway', addressing((app) => app))).toMatchObject({ ADVERTISE_ADDRESS: 'gateway:41000' });
  });

  it('names every app 127.0.0.1 for npm start, also those compose gives ADVERTISE_ADDRESS=auto, and sets no variable compose leaves unset', () => {
    expect(stackOwnedVariables(compose.order, 'order', addressing(() => '127.0.0.1', false))).toMatchObject({ ADVERTISE_ADDRESS: '127.0.0.1:41003' });
    expect(stackOwnedVariables(compose.registry, 'registry', addressing(() => '127.0.0.1', false))).toEqual({ GRPC_PORT: '41001', METRICS_PORT: '0', HTTP_PORT: '41051', DATA_DIR: '/tmp/data' });
    expect(stackOwnedVariables(compose.gateway, 'gateway', addressing(() => '127.0.0.1', false))).toMatchObject({
      HTTP_PORT: '41080',
      ADVERTISE_ADDRESS: '127.0.0.1:41000',
      REGISTRY_ADDRESS: '127.0.0.1:41001',
    });
  });
});

describe('appEnvironment', () => {
  it("lets the caller's variables win over the compose file's and the stack's defaults, but not over the stack-owned ones", () => {
    const env = appEnvironment({
      compose: { LOG_LEVEL: 'info', GRPC_PORT: '50052', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4317' },
      defaults: { LOG_FORMAT: 'pretty' },
      caller: { LOG_LEVEL: 'debug', LOG_FORMAT: 'json', FAULTS: 'GetUser:abort=UNAVAILABLE', GRPC_PORT: '1', DATABASE_URL: 'postgres://x@y/z', UNSET: undefined },
      owned: { GRPC_PORT: '41002' },
    });
    expect(env).toEqual({ LOG_LEVEL: 'debug', LOG_FORMAT: 'json', FAULTS: 'GetUser:abort=UNAVAILABLE', GRPC_PORT: '41002' });
  });
});
