import { userV1 } from '@switchyard/proto';
import { createAppContext, defineService, FailedPreconditionError, NotFoundError, startService } from '@switchyard/runtime';
import type { SpanReport } from '../bench-messages';
import { createFixtureGetUser } from '../user-fixture';

const notBenchmarked = async (): Promise<never> => {
  throw new FailedPreconditionError('not served by the benchmark');
};

/**
 * The Switchyard stack as apps/user runs it: app context (config from the environment, tracing
 * SDK, pino at LOG_LEVEL), startService (tracing and logging middleware, health, reflection,
 * registration when `register`), serving the fixture GetUser. The harness sets the environment:
 * GRPC_PORT=0, REGISTRY_ADDRESS, LOG_LEVEL=info, OTEL_TRACES_SAMPLER(_ARG).
 */
export async function startSwitchyardUserServer(register: boolean): Promise<{ port: number; stop(): Promise<void>; spanReport(): SpanReport | undefined }> {
  const app = createAppContext('user');
  const getUser = createFixtureGetUser((id) => new NotFoundError('user', id));
  const service = defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
    getUser: (request) => getUser(request),
    createUser: notBenchmarked,
    batchGetUsers: notBenchmarked,
    listUsers: notBenchmarked,
  });
  const running = await startService({ ...app, services: [service], register });
  return {
    port: running.port,
    stop: () => running.stop('benchmark finished'),
    spanReport: () => (app.telemetry.exporting ? { service: 'user', counts: app.telemetry.spanCounts() } : undefined),
  };
}
