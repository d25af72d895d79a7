import type { userV1 } from '@switchyard/proto';

/** What the load generator calls, whatever the stack behind it. */
export interface UserCaller {
  getUser(request: userV1.GetUserRequest): Promise<userV1.GetUserResponse>;
  close(): Promise<void>;
}
