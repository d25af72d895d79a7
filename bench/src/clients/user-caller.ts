import type { userV1 } from '@switchyard/proto';
import type { SpanReport } from '../bench-messages';

/** What the load generator calls, whatever the stack behind it. */
export interface UserCaller {
  getUser(request: userV1.GetUserRequest): Promise<userV1.GetUserResponse>;
  close(): Promise<void>;
  /** After close: what became of the client's spans, when it exports them (Switchyard only). */
  spanReport?(): SpanReport | undefined;
}
