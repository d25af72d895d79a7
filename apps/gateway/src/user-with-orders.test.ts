import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { descriptorSetBase64, gatewayV1, orderV1, userV1 } from '@switchyard/proto';
import { callUnary, createClientFactory, defineService, idempotentMethodPaths, NotFoundError, statusError } from '@switchyard/runtime';
import { badRequestFields, startTestServer, type TestServer } from '@switchyard/testing';
import pino from 'pino';
import { grpcUpstream } from './grpc-upstream';
import { createGatewayService } from './user-with-orders';

const ada: userV1.User = { id: 'u1', name: 'Ada', email: 'ada@example.com', createTime: new Date('2026-01-01T00:00:00Z'), orderCount: 0, totalSpentCents: 0 };
const order: orderV1.Order = {
  id: 'o1',
  userId: 'u1',
  items: [{ sku: 'book', quantity: 2, unitPriceCents: 1500 }],
  totalCents: 3000,
  createTime: new Date('2026-01-02T00:00:00Z'),
  requestId: '',
};

/**
 * Upstream user and order servers whose behaviour each test sets; they count concurrent calls.
 * With `meet`, each call waits for the other one to arrive (for at most a second, so a fan-out
 * that asks one after the other is seen as such and not stuck): parallel calls meet however slow
 * the machine is.
 */
function upstreams(behaviour: { orderFails?: boolean; meet?: boolean }) {
  const state = { inFlight: 0, maxInFlight: 0, pageSizes: [] as number[] };
  let met!: () => void;
  const bothArrived = new Promise<void>((resolve) => (met = resolve));
  const enter = async () => {
    state.inFlight += 1;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    if (state.inFlight === 2) met();
    if (behaviour.meet) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([bothArrived, new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
      clearTimeout(timer);
    }
    state.inFlight -= 1;
  };
  const user = defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
    async getUser(request) {
      await enter();
      if (request.id !== ada.id) throw new NotFoundError('user', request.id);
      return { user: ada };
    },
    async createUser() {
      throw new Error('unused');
    },
    async batchGetUsers() {
      throw new Error('unused');
    },
    async listUsers() {
      throw new Error('unused');
    },
  });
  const orders = defineService('switchyard.order.v1.OrderService', orderV1.OrderServiceService, {
    async listOrders(request) {
      await enter();
      state.pageSizes.push(request.pageSize);
      if (behaviour.orderFails) throw statusError(Status.RESOURCE_EXHAUSTED, 'order is overloaded');
      return { orders: request.userId === ada.id ? [order] : [], nextPageToken: '' };
    },
    async getOrder() {
      throw new Error('unused');
    },
    async createOrder() {
      throw new Error('unused');
    },
  });
  return { state, user, orders };
}

describe('GatewayService.GetUserWithOrders', () => {
  const servers: TestServer[] = [];
  const factory = createClientFactory({
    logger: pino({ level: 'silent' }),
    // Far more than any call here needs, even on a loaded machine: no test is about the deadline.
    defaultDeadlineMs: 10_000,
    idempotentMethods: idempotentMethodPaths(descriptorSetBase64),
  });
  afterEach(() => servers.splice(0).forEach((server) => server.stop()));
  afterAll(() => factory.close());

  async function gatewayOver(behaviour: Parameters<typeof upstreams>[0]) {
    const { state, user, orders } = upstreams(behaviour);
    const userServer = await startTestServer([user]);
    const orderServer = await startTestServer([orders]);
    const gateway = await startTestServer([createGatewayService(grpcUpstream(factory, { user: userServer.address, order: orderServer.address }))]);
    servers.push(userServer, orderServer, gateway);
    const client = factory.get(gatewayV1.GatewayServiceClient, gateway.address);
    const call = (request: Partial<gatewayV1.GetUserWithOrdersRequest>) =>
      callUnary(client.getUserWithOrders.bind(client), { userId: '', pageSize: 0, ...request });
    return { state, call };
  }

  it('returns the user with their orders, asking both services at once', async () => {
    const { state, call } = await gatewayOver({ meet: true });
    const response = await call({ userId: 'u1', pageSize: 5 });
    expect(response.user).toEqual(ada);
    expect(response.orders).toEqual([order]);
    expect(response.partialFailures).toEqual([]);
    expect(state.pageSizes).toEqual([5]);
    // Both upstream calls were in flight together: the fan-out is parallel, not one after the other.
    expect(state.maxInFlight).toBe(2);
  });

  it('passes NOT_FOUND of the user through', async () => {
    const { call } = await gatewayOver({});
    await expect(call({ userId: 'nobody' })).rejects.toMatchObject({ code: Status.NOT_FOUND, details: 'user "nobody" not found' });
  });

  it('reports a failed order service as a partial failure next to the user', async () => {
    const { call } = await gatewayOver({ orderFails: true });
    const response = await call({ userId: 'u1' });
    expect(response.user).toEqual(ada);
    expect(response.orders).toEqual([]);
    expect(response.partialFailures).toEqual([{ source: 'order', code: 'RESOURCE_EXHAUSTED', message: 'order is overloaded' }]);
  });

  it('rejects bad input with INVALID_ARGUMENT naming each field, without calling upstream', async () => {
    const { state, call } = await gatewayOver({});
    const error = (await call({ userId: ' ', pageSize: 101 }).catch((e: ServiceError) => e)) as ServiceError;
    expect(error.code).toBe(Status.INVALID_ARGUMENT);
    expect(error.details).toBe('user_id: is required; page_size: must be from 0 to 100');
    expect(error.metadata.get('grpc-status-details-bin')).toHaveLength(1);
    expect(state.maxInFlight).toBe(0);
  });

  it.each([
    ['NUL', 'u1\u0000'],
    ['a line break', 'u1\nforged log line'],
    ['200 characters', 'u'.repeat(200)],
  ])('rejects a user_id holding %s with INVALID_ARGUMENT on user_id, without echoing it or calling upstream', async (_case, userId) => {
    const { state, call } = await gatewayOver({});
    const error = (await call({ userId }).catch((e: ServiceError) => e)) as ServiceError;
    expect({ code: error.code, fields: badRequestFields(error) }).toEqual({ code: Status.INVALID_ARGUMENT, fields: ['user_id'] });
    expect(error.details).not.toContain(userId);
    expect(state.maxInFlight).toBe(0);
  });
});
