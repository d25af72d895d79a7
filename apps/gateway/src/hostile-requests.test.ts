import { status as Status, type Client } from '@grpc/grpc-js';
import { descriptorSetBase64, gatewayV1, orderV1, userV1 } from '@switchyard/proto';
import { createClientFactory, defineService, idempotentMethodPaths, NotFoundError } from '@switchyard/runtime';
import { AnswerTally, callRaw, hostileRequests, methodsOf, randomMessageBytes, rawClient, sendFrames, startTestServer, truncatedFrames, uncleanAnswer, type TestServer } from '@switchyard/testing';
import fc from 'fast-check';
import pino from 'pino';
import { grpcUpstream } from './grpc-upstream';
import { createGatewayService } from './user-with-orders';

// Every method of GatewayService, read from the generated definition, under hostile requests sent
// as raw bytes to the real gateway, over user and order servers that know one user. A refused
// request must not reach them. FUZZ_SEED replays a failure; FUZZ_RUNS scales it.
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_129);
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
jest.setTimeout(120_000);

const ada: userV1.User = { id: 'u-ada', name: 'Ada', email: 'ada@example.com', createTime: new Date('2026-01-01T00:00:00Z') };

describe(`GatewayService under hostile requests (seed ${SEED})`, () => {
  const upstreamCalls = { count: 0 };
  const servers: TestServer[] = [];
  const factory = createClientFactory({ logger: pino({ level: 'silent' }), defaultDeadlineMs: 10_000, idempotentMethods: idempotentMethodPaths(descriptorSetBase64) });
  const tally = new AnswerTally();
  let gateway: TestServer;
  let client: Client;

  beforeAll(async () => {
    const unused = async () => {
      throw new Error('unused');
    };
    const user = defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
      async getUser(request) {
        upstreamCalls.count += 1;
        if (request.id !== ada.id) throw new NotFoundError('user', request.id);
        return { user: ada };
      },
      createUser: unused,
      batchGetUsers: unused,
      listUsers: unused,
    });
    const orders = defineService('switchyard.order.v1.OrderService', orderV1.OrderServiceService, {
      async listOrders() {
        upstreamCalls.count += 1;
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

  for (const method of methodsOf(gatewayV1.GatewayServiceService)) {
    it(`${method.name}: random field values get a clean answer, and a refused request reaches no service behind`, async () => {
      await fc.assert(
        fc.asyncProperty(hostileRequests(method, [ada.id]), async (bytes) => {
          const before = upstreamCalls.count;
          const answer = await callRaw(client, method.path, bytes);
          tally.record(method.name, answer.code);
          expect(uncleanAnswer(answer)).toBeUndefined();
          if (answer.code === Status.INVALID_ARGUMENT) expect(upstreamCalls.count).toBe(before);
        }),
        { seed: SEED, numRuns: RUNS },
      );
    });

    it(`${method.name}: random bytes as the message get a clean answer`, async () => {
      await fc.assert(
        fc.asyncProperty(randomMessageBytes, async (bytes) => {
          const before = upstreamCalls.count;
          const answer = await callRaw(client, method.path, bytes);
          tally.record(method.name, answer.code);
          expect(uncleanAnswer(answer)).toBeUndefined();
          if (answer.code === Status.INVALID_ARGUMENT) expect(upstreamCalls.count).toBe(before);
        }),
        { seed: SEED, numRuns: RUNS },
      );
    });

    it(`${method.name}: truncated frames end the call with a status that is no server fault`, async () => {
      await fc.assert(
        fc.asyncProperty(truncatedFrames(method, [ada.id]), async (frame) => {
          const { code } = await sendFrames(gateway.address, method.path, frame);
          tally.record(`${method.name} (truncated frames)`, code);
          // grpc-js itself answers a call whose message never completed: UNIMPLEMENTED or RESOURCE_EXHAUSTED.
          expect([Status.UNIMPLEMENTED, Status.RESOURCE_EXHAUSTED, Status.INVALID_ARGUMENT]).toContain(code);
        }),
        { seed: SEED, numRuns: Math.ceil(RUNS / 3) },
      );
    });
  }
});
