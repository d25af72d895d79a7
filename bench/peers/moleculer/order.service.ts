import type { Context, ServiceSchema } from 'moleculer';
import { fixtureOrdersByUser, type FixtureOrder } from '../fixture';

/** `order.list`: a user's orders from memory, the first `pageSize` of them (0: all). */
export const orderService: ServiceSchema = {
  name: 'order',
  created() {
    this.byUser = fixtureOrdersByUser();
  },
  actions: {
    list: {
      params: { userId: 'string', pageSize: { type: 'number', integer: true, min: 0, max: 100, optional: true } },
      handler(ctx: Context<{ userId: string; pageSize?: number }>) {
        const orders: FixtureOrder[] = this.byUser.get(ctx.params.userId) ?? [];
        return { orders: ctx.params.pageSize ? orders.slice(0, ctx.params.pageSize) : orders, nextPageToken: '' };
      },
    },
  },
};
