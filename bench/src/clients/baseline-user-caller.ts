import { credentials, type ServiceError } from '@grpc/grpc-js';
import { userV1 } from '@switchyard/proto';
import type { UserCaller } from './user-caller';

/** The baseline client: the generated grpc-js client with default options, no interceptors. */
export function createBaselineUserCaller(target: string): UserCaller {
  const client = new userV1.UserServiceClient(target, credentials.createInsecure());
  return {
    getUser: (request) =>
      new Promise((resolve, reject) => {
        client.getUser(request, (error: ServiceError | null, response: userV1.GetUserResponse) => (error ? reject(error) : resolve(response)));
      }),
    close: async () => client.close(),
  };
}
