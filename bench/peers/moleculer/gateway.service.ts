import { Errors, type Context, type ServiceSchema } from 'moleculer';

/**
 * `gateway.getUserWithOrders`: asks `user.get` and `order.list` at once (over the transporter:
 * they live in other processes). As Switchyard's gateway does, the user's failure fails the call,
 * the orders' failure is reported next to the user.
 */
export const gatewayService: ServiceSchema = {
  name: 'gateway',
  // The broker starts (and the node reports ready) once user and order are discovered.
  dependencies: ['user', 'order'],
  actions: {
    getUserWithOrders: {
      params: { userId: 'string|min:1', pageSize: { type: 'number', integer: true, min: 0, max: 100, optional: true } },
      async handler(ctx: Context<{ userId: string; pageSize?: number }>) {
        const { userId, pageSize = 0 } = ctx.params;
        const [user, orders] = await Promise.allSettled([ctx.call('user.get', { id: userId }), ctx.call('order.list', { userId, pageSize })]);
        if (user.status === 'rejected') throw user.reason;
        if (orders.status === 'rejected') {
          const error = orders.reason as Errors.MoleculerError;
          return { user: user.value, orders: [], nextPageToken: '', partialFailures: [{ source: 'order', code: String(error.type ?? error.code), message: error.message }] };
        }
        const page = orders.value as { orders: unknown[]; nextPageToken: string };
        return { user: user.value, orders: page.orders, nextPageToken: page.nextPageToken, partialFailures: [] };
      },
    },
  },
};
