import { InterceptingCall, status as Status, type Client, type Interceptor } from '@grpc/grpc-js';
import { descriptorSetBase64, gatewayV1, orderV1, userV1 } from '@switchyard/proto';
import { createClientFactory, defineService, idempotentMethodPaths, NotFoundError } from '@switchyard/runtime';
import { AnswerTally, describeHostileRequests, rawClient, startTestServer, type TestServer } from '@switchyard/testing';
import pino from 'pino';
import { grpcUpstream } from './grpc-upstream';
import { createGatewayService } from './user-with-orders';

// Every method of GatewayService, read from the generated definition, under hostile requests sent
// as raw bytes to the real gateway, over user and order servers that know one user. A refused
// request must not reach them. FUZZ_SEED replays a failure; FUZZ_RUNS scales it.
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_129);
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
jest.setTimeout(120_000);

const ada: userV1.User = { id: 'u-ada', name: 'Ada', email: 'ada@example.com', createTime: new Date('2026-01-01T00:00:00Z'), orderCount: 0, totalSpentCents: 0 };

describe(`GatewayService under hostile requests (seed ${SEED})`, () => {
  // Calls the gateway starts to the services behind it, counted as it starts them: a call a
  // previous request started can still arrive at a service after that request was answered, so
  // the services' own count may move during the next request.
  const startedCalls = { count: 0 };
  const countStarted: Interceptor = (options, nextCall) => {
    startedCalls.count += 1;
    return new InterceptingCall(nextCall(options));
  };
  const servers: TestServer[] = [];
  const factory = createClientFactory({
    logger: pino({ level: 'silent' }),
    defaultDeadlineMs: 10_000,
    idempotentMethods: idempotentMethodPaths(descriptorSetBase64),
    interceptors: [countStarted],
  });
  const tally = new AnswerTally();
  let gateway: TestServer;
  let client: Client;

  beforeAll(async () => {
    const unused = async () => {
      throw new Error('unused');
    };
    const user = defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
      async getUser(request) {
        if (request.id !== ada.id) throw new NotFoundError('user', request.id);
        return { user: ada };
      },
      createUser: unused,
      batchGetUsers: unused,
      listUsers: unused,
    });
    const orders = defineService('switchyard.order.v1.OrderService', orderV1.OrderServiceService, {
      async listOrders() {
        return { orders: [], nextPageToken: '' };
      },
      getOrder: unused,
      createOrder: unused,
    });
    const userServer = await startTestServer([user]);
    const orderServer = await startTestServer([orders]);
    gateway = await startTestServer([createGatewayService(grpcUpstream(factory, { user: userServer.address, order: orderServer.address }))]);
    servers.push(userServer, orderServer, gateway);
    client = rawClient(gateway.address);
  });
  afterAll(() => {
    process.stdout.write(tally.lines('gateway'));
    client?.close();
    factory.close();
    servers.forEach((server) => server.stop());
  });

  describeHostileRequests({
    definition: gatewayV1.GatewayServiceService,
    client: () => client,
    address: () => gateway.address,
    known: [ada.id],
    seed: SEED,
    runs: RUNS,
    tally,
    // A request the gateway refuses as invalid must not reach the services behind it.
    unchanged: { read: () => startedCalls.count, refused: (code) => code === Status.INVALID_ARGUMENT, promise: 'reaches no service behind' },
  });
});
