import { Client, credentials, Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { googleRpc, orderV1 } from '@switchyard/proto';
import { closeAfterEach } from './close-after-each.test-support';
import { serve } from './serve';
import type { CallOutcome, ServerMiddleware } from './server-middleware';
import { defineService } from './service-handlers';

const CREATE_ORDER = '/switchyard.order.v1.OrderService/CreateOrder';

/** An OrderService whose handlers count their calls, behind a middleware that records every outcome. */
async function orderServer() {
  const seen = { handled: 0, outcomes: [] as Array<{ method: string; outcome: CallOutcome }> };
  const recording: ServerMiddleware = (call, next) =>
    next().then((outcome) => {
      seen.outcomes.push({ method: call.method, outcome });
      return outcome;
    });
  const answer = async () => {
    seen.handled += 1;
    throw new Error('not reached in these tests');
  };
  const service = defineService('switchyard.order.v1.OrderService', orderV1.OrderServiceService, {
    createOrder: answer,
    getOrder: answer,
    listOrders: answer,
  });
  const { server, port } = await serve([service], { host: '127.0.0.1', port: 0, middleware: [recording] });
  return { server, address: `127.0.0.1:${port}`, seen };
}

/** Sends `bytes` as the request message as they are, with no serializer in between. */
function sendRaw(client: Client, path: string, bytes: Buffer): Promise<ServiceError> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      path,
      (value: Buffer) => value,
      (value: Buffer) => value,
      bytes,
      new Metadata(),
      { deadline: Date.now() + 10_000 },
      (error) => (error ? resolve(error) : reject(new Error('expected the call to fail'))),
    ),
  );
}

function fieldViolations(error: ServiceError): Array<{ field: string; description: string }> {
  const [details] = error.metadata.get('grpc-status-details-bin') as Buffer[];
  if (!details) return [];
  const status = googleRpc.Status.decode(details);
  return status.details.flatMap((detail) => googleRpc.BadRequest.decode(detail.value).fieldViolations.map(({ field, description }) => ({ field, description })));
}

describe('requests that fail to decode', () => {
  const open = closeAfterEach();

  async function start() {
    const { server, address, seen } = await orderServer();
    open.server(server);
    const client = open.client(new Client(address, credentials.createInsecure()));
    return { client, seen };
  }

  it('answers an int64 past 2^53 with INVALID_ARGUMENT naming the field, through the middleware, without running the handler', async () => {
    const { client, seen } = await start();
    const bytes = Buffer.from(
      orderV1.CreateOrderRequest.encode({
        userId: 'ada',
        items: [
          { sku: 'book', quantity: 1, unitPriceCents: 1500 },
          { sku: 'pen', quantity: 1, unitPriceCents: 2 ** 53 },
        ],
        requestId: '',
      }).finish(),
    );

    const error = await sendRaw(client, CREATE_ORDER, bytes);

    expect(error.code).toBe(Status.INVALID_ARGUMENT);
    expect(fieldViolations(error)).toEqual([{ field: 'items[1].unit_price_cents', description: 'must be from -9007199254740991 to 9007199254740991' }]);
    expect(seen.handled).toBe(0);
    expect(seen.outcomes).toEqual([{ method: CREATE_ORDER, outcome: expect.objectContaining({ code: Status.INVALID_ARGUMENT }) }]);
  });

  it('answers bytes that are no message with INVALID_ARGUMENT on the whole request, through the middleware', async () => {
    const { client, seen } = await start();
    // A length-delimited field 1 announcing 100 bytes, followed by 2.
    const error = await sendRaw(client, CREATE_ORDER, Buffer.from([0x0a, 100, 0x41, 0x42]));

    expect(error.code).toBe(Status.INVALID_ARGUMENT);
    expect(fieldViolations(error)).toEqual([{ field: 'request', description: 'is not a valid switchyard.order.v1.CreateOrderRequest message' }]);
    expect(seen.handled).toBe(0);
    expect(seen.outcomes.map(({ outcome }) => outcome.code)).toEqual([Status.INVALID_ARGUMENT]);
  });
});
