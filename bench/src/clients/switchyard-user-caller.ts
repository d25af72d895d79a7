import { userV1 } from '@switchyard/proto';
import { callUnary } from '@switchyard/runtime';
import { startSwitchyardClientStack } from './switchyard-client-stack';
import type { UserCaller } from './user-caller';

/** GetUser through the Switchyard client stack (see switchyard-client-stack.ts). */
export function createSwitchyardUserCaller(target: string): UserCaller {
  const { clients, close, spanReport } = startSwitchyardClientStack(target);
  const client = clients.get(userV1.UserServiceClient, target);
  const getUser = client.getUser.bind(client);
  return { getUser: (request) => callUnary(getUser, request), close, spanReport };
}
