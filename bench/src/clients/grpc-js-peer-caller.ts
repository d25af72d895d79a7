import { credentials, type ServiceError } from '@grpc/grpc-js';
import { gatewayV1 } from '@switchyard/proto';
import type { UserCaller } from './user-caller';

/** The generated grpc-js gateway client with default options, no interceptors: GetUserWithOrders. */
export function createGrpcJsPeerCaller(target: string): UserCaller {
  const client = new gatewayV1.GatewayServiceClient(target, credentials.createInsecure());
  return {
    getUser: ({ id }) =>
      new Promise((resolve, reject) =>
        client.getUserWithOrders({ userId: id, pageSize: 0 }, (error: ServiceError | null, response: gatewayV1.GetUserWithOrdersResponse) => {
          if (error) return reject(error);
          // As for the other stacks: a partial failure (orders missing) means the fan-out did not complete.
          if (response.partialFailures.length > 0) return reject(Object.assign(new Error(`partial failure: ${JSON.stringify(response.partialFailures[0])}`), { code: 'PARTIAL_FAILURE' }));
          resolve({ user: response.user });
        }),
      ),
    close: async () => client.close(),
  };
}
