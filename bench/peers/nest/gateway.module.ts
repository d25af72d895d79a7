import { status } from '@grpc/grpc-js';
import { Controller, Inject, Module, type DynamicModule, type OnModuleInit } from '@nestjs/common';
import { ClientsModule, GrpcMethod, RpcException, type ClientGrpc } from '@nestjs/microservices';
import { lastValueFrom, type Observable } from 'rxjs';
import { grpcOptions } from './grpc-options';

interface UserService {
  getUser(request: { id: string }): Observable<{ user: unknown }>;
}
interface OrderService {
  listOrders(request: { userId: string; pageSize: number; pageToken: string }): Observable<{ orders?: unknown[]; nextPageToken: string }>;
}

const USER_CLIENT = 'USER_CLIENT';
const ORDER_CLIENT = 'ORDER_CLIENT';

/**
 * GetUserWithOrders asks user and order at once through Nest's ClientGrpc (over the network: they
 * are other processes). As Switchyard's gateway does, the user's failure fails the call, the
 * orders' failure is reported next to the user. Dependencies are injected by token (@Inject):
 * esbuild emits no decorator metadata for Nest to read constructor types from.
 */
@Controller()
export class GatewayController implements OnModuleInit {
  private users!: UserService;
  private orders!: OrderService;

  constructor(
    @Inject(USER_CLIENT) private readonly userClient: ClientGrpc,
    @Inject(ORDER_CLIENT) private readonly orderClient: ClientGrpc,
  ) {}

  onModuleInit() {
    this.users = this.userClient.getService<UserService>('UserService');
    this.orders = this.orderClient.getService<OrderService>('OrderService');
  }

  @GrpcMethod('GatewayService', 'GetUserWithOrders')
  async getUserWithOrders({ userId, pageSize }: { userId: string; pageSize: number }) {
    if (!userId?.trim()) throw new RpcException({ code: status.INVALID_ARGUMENT, message: 'user_id: is required' });
    const [user, orders] = await Promise.allSettled([
      lastValueFrom(this.users.getUser({ id: userId })),
      lastValueFrom(this.orders.listOrders({ userId, pageSize, pageToken: '' })),
    ]);
    if (user.status === 'rejected') throw new RpcException(user.reason);
    if (orders.status === 'rejected') {
      const { code, details } = orders.reason as { code?: number; details?: string };
      return { user: user.value.user, orders: [], nextPageToken: '', partialFailures: [{ source: 'order', code: status[code ?? status.UNKNOWN], message: details ?? '' }] };
    }
    return { user: user.value.user, orders: orders.value.orders ?? [], nextPageToken: orders.value.nextPageToken, partialFailures: [] };
  }
}

@Module({})
export class GatewayModule {
  /** The gateway with ClientGrpc clients on the user and order services' addresses. */
  static forUpstreams(upstream: { user: string; order: string }, protosDir: string): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        ClientsModule.register([
          { name: USER_CLIENT, ...grpcOptions('user', upstream.user, protosDir) },
          { name: ORDER_CLIENT, ...grpcOptions('order', upstream.order, protosDir) },
        ]),
      ],
      controllers: [GatewayController],
    };
  }
}
