import { Controller, Module } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { fixtureOrdersByUser } from '../fixture';
import { timestamp } from './grpc-options';

// Nest's loader-based transport wants google.protobuf.Timestamp as { seconds, nanos }.
const byUser = new Map([...fixtureOrdersByUser()].map(([userId, orders]) => [userId, orders.map((order) => ({ ...order, createTime: timestamp(order.createTime) }))]));

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
