import { status as Status } from '@grpc/grpc-js';
import { userV1 } from '@switchyard/proto';
import { NotFoundError, callUnary, isStatusError, type ClientFactory } from '@switchyard/runtime';
import type { UserDirectory } from './user-directory';

/** The user directory as UserService.GetUser over gRPC (target e.g. `registry:///user`). */
export function grpcUserDirectory(clients: ClientFactory, target: string): UserDirectory {
  const users = clients.get(userV1.UserServiceClient, target);
  return {
    async assertUserExists(userId, signal) {
      try {
        await callUnary(users.getUser.bind(users), { id: userId }, { signal });
      } catch (error) {
        if (isStatusError(error) && error.code === Status.NOT_FOUND) throw new NotFoundError('user', userId);
        throw error;
      }
    },
  };
}
