import { Server, ServerCredentials, status as Status, type ServiceError } from '@grpc/grpc-js';
import { userV1 } from '@switchyard/proto';
import { createFixtureGetUser } from '../user-fixture';

/**
 * The baseline: a bare grpc-js server with default options, the generated definition and the
 * fixture handler. No middleware, no telemetry, no health, no reflection.
 */
export async function startBaselineUserServer(): Promise<{ port: number; stop(): Promise<void> }> {
  const getUser = createFixtureGetUser((id) => Object.assign(new Error(`user "${id}" not found`), { code: Status.NOT_FOUND }));
  const server = new Server();
  const implementation: Partial<userV1.UserServiceServer> = {
    getUser(call, callback) {
      getUser(call.request).then(
        (response) => callback(null, response),
        (error: ServiceError) => callback(error),
      );
    },
  };
  server.addService(userV1.UserServiceService, implementation as userV1.UserServiceServer);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return { port, stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())) };
}
