import { randomUUID } from 'node:crypto';
import { userV1 } from '@switchyard/proto';
import { NotFoundError, defineService, type ServiceHandlers, type ServiceRegistration } from '@switchyard/runtime';
import { decodePageToken, resolvePageSize } from '@switchyard/storage';
import type { UserRecord, UserRepository } from './user-repository';
import { validateBatchIds, validateCreateUser, validateUserId } from './user-validation';

export interface UserServiceOptions {
  users: UserRepository;
  /** Id of a new user. Default: `crypto.randomUUID()`. */
  newId?: () => string;
  /** create_time of a new user. Default: `() => new Date()`. */
  now?: () => Date;
}

function toWire(user: UserRecord): userV1.User {
  return { id: user.id, name: user.name, email: user.email, createTime: user.createTime, orderCount: user.orderCount, totalSpentCents: user.totalSpentCents };
}

/** switchyard.user.v1.UserService over a user repository, ready for the server bootstrap. */
export function createUserService(options: UserServiceOptions): ServiceRegistration {
  return defineService('switchyard.user.v1.UserService', userV1.UserServiceService, userServiceHandlers(options));
}

/** The UserService handlers themselves, typed per method (tests call them without a network). */
export function userServiceHandlers(options: UserServiceOptions): ServiceHandlers<typeof userV1.UserServiceService> {
  const { users, newId = randomUUID, now = () => new Date() } = options;

  return {
    async createUser(request, context) {
      const input = validateCreateUser(request);
      const user: UserRecord = { id: newId(), name: input.name, email: input.email, createTime: now(), orderCount: 0, totalSpentCents: 0 };
      // The caller has gone: a user it will never hear about must not be created.
      context.signal.throwIfAborted();
      await users.create(user);
      return { user: toWire(user) };
    },

    async getUser(request) {
      validateUserId(request.id);
      const user = await users.findById(request.id);
      if (!user) throw new NotFoundError('user', request.id);
      return { user: toWire(user) };
    },

    async batchGetUsers(request) {
      validateBatchIds(request.ids);
      const found = new Map((await users.findByIds(request.ids)).map((user) => [user.id, user]));
      const missing = request.ids.find((id) => !found.has(id));
      if (missing !== undefined) throw new NotFoundError('user', missing);
      return { users: request.ids.map((id) => toWire(found.get(id)!)) };
    },

    async listUsers(request) {
      const pageSize = resolvePageSize(request.pageSize);
      const cursor = decodePageToken(request.pageToken);
      const page = await users.list(pageSize, cursor);
      return { users: page.items.map(toWire), nextPageToken: page.nextPageToken };
    },
  };
}
