import { Errors, type Context, type ServiceSchema } from 'moleculer';
import { fixtureUsers } from '../fixture';

/** `user.get`: a user by id from memory; an unknown id is a 404 MoleculerClientError. */
export const userService: ServiceSchema = {
  name: 'user',
  created() {
    this.users = new Map(fixtureUsers().map((user) => [user.id, user]));
  },
  actions: {
    get: {
      params: { id: 'string' },
      handler(ctx: Context<{ id: string }>) {
        const user = this.users.get(ctx.params.id);
        if (!user) throw new Errors.MoleculerClientError(`user "${ctx.params.id}" not found`, 404, 'NOT_FOUND');
        return user;
      },
    },
  },
};
