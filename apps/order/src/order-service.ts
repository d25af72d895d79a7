import { randomUUID } from 'node:crypto';
import { orderV1 } from '@switchyard/proto';
import { NotFoundError, defineService, type ServiceHandlers, type ServiceRegistration } from '@switchyard/runtime';
import { decodePageToken, resolvePageSize } from '@switchyard/storage';
import type { Logger } from 'pino';
import type { OrderRecord, OrderRepository } from './order-repository';
import { validateCreateOrder, validateListOrdersUserId, validateOrderId } from './order-validation';
import { placeOrder } from './place-order';
import type { UserDirectory } from './user-directory';

export interface OrderServiceOptions {
  orders: OrderRepository;
  /** Asked whether an order's user exists before the order is written. */
  users: UserDirectory;
  logger: Logger;
  /** Id of a new order. Default: `crypto.randomUUID()`. */
  newId?: () => string;
  /** create_time of a new order. Default: `() => new Date()`. */
  now?: () => Date;
}

function toWire(order: OrderRecord): orderV1.Order {
  return {
    id: order.id,
    userId: order.userId,
    items: order.items.map((item) => ({ sku: item.sku, quantity: item.quantity, unitPriceCents: item.unitPriceCents })),
    totalCents: order.totalCents,
    createTime: order.createTime,
    requestId: order.requestId ?? '',
  };
}

/** switchyard.order.v1.OrderService over an order repository and a user directory, ready for the server bootstrap. */
export function createOrderService(options: OrderServiceOptions): ServiceRegistration {
  return defineService('switchyard.order.v1.OrderService', orderV1.OrderServiceService, orderServiceHandlers(options));
}

/** The OrderService handlers themselves, typed per method (tests call them without a network). */
export function orderServiceHandlers(options: OrderServiceOptions): ServiceHandlers<typeof orderV1.OrderServiceService> {
  const { orders, users, logger, newId = randomUUID, now = () => new Date() } = options;

  return {
    async createOrder(request, context) {
      const input = validateCreateOrder(request);
      const order = await placeOrder({ orders, users, logger, newId, now }, input, context.signal);
      return { order: toWire(order) };
    },

    async getOrder(request) {
      validateOrderId(request.id);
      const order = await orders.findById(request.id);
      if (!order) throw new NotFoundError('order', request.id);
      return { order: toWire(order) };
    },

    async listOrders(request) {
      validateListOrdersUserId(request.userId);
      const pageSize = resolvePageSize(request.pageSize);
      const cursor = decodePageToken(request.pageToken);
      const page = await orders.listByUser(request.userId, pageSize, cursor);
      return { orders: page.items.map(toWire), nextPageToken: page.nextPageToken };
    },
  };
}
