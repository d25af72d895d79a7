import { Controller, Module } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { fixtureOrders } from '../fixture';
import { timestamp } from './grpc-options';

type Order = ReturnType<typeof fixtureOrders>[number];
const byUser = new Map<string, Array<Omit<Order, 'createTime'> & { createTime: ReturnType<typeof timestamp> }>>();
for (const order of fixtureOrders()) byUser.set(order.userId, [...(byUser.get(order.userId) ?? []), { ...order, createTime: timestamp(order.createTime) }]);

@Controller()
export class OrderController {
  @GrpcMethod('OrderService', 'ListOrders')
  listOrders({ userId, pageSize }: { userId: string; pageSize: number }) {
    const orders = byUser.get(userId) ?? [];
    return { orders: pageSize ? orders.slice(0, pageSize) : orders, nextPageToken: '' };
  }
}

@Module({ controllers: [OrderController] })
export class OrderModule {}
