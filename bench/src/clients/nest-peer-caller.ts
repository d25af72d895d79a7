import { ClientProxyFactory } from '@nestjs/microservices';
import type { userV1 } from '@switchyard/proto';
import { lastValueFrom, type Observable } from 'rxjs';
import { grpcOptions } from '../../peers/nest/grpc-options';
import type { UserCaller } from './user-caller';

/**
 * Nest's own gRPC client: a ClientGrpc (ClientProxyFactory, the proto files from protos/) on the
 * user service (GetUser) or the gateway (GetUserWithOrders), each call's Observable awaited.
 */
export async function createNestPeerCaller(call: 'GetUser' | 'GetUserWithOrders', target: string, protosDir: string): Promise<UserCaller> {
  const service = call === 'GetUser' ? 'user' : 'gateway';
  const client = ClientProxyFactory.create(grpcOptions(service, target, protosDir));
  const close = async () => client.close();
  if (call === 'GetUser') {
    const users = client.getService<{ getUser(request: { id: string }): Observable<userV1.GetUserResponse> }>('UserService');
    return { getUser: (request) => lastValueFrom(users.getUser(request)), close };
  }
  const gateway = client.getService<{
    getUserWithOrders(request: { userId: string; pageSize: number }): Observable<{ user: userV1.User; partialFailures?: unknown[] }>;
  }>('GatewayService');
  return {
    getUser: async ({ id }) => {
      const response = await lastValueFrom(gateway.getUserWithOrders({ userId: id, pageSize: 0 }));
      // As for Switchyard: a partial failure (orders missing) is an error, the fan-out did not complete.
      if (response.partialFailures?.length) throw Object.assign(new Error(`partial failure: ${JSON.stringify(response.partialFailures[0])}`), { code: 'PARTIAL_FAILURE' });
      return { user: response.user };
    },
    close,
  };
}
