import { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace-base';
import { userV1 } from '@switchyard/proto';
import pino from 'pino';
import { closeAfterEach } from '../server/close-after-each.test-support';
import { serve } from '../server/serve';
import { defineService } from '../server/service-handlers';
import { installInMemoryTracing } from '../telemetry/in-memory-tracing.test-support';
import { callUnary } from './call-unary';
import { createClientFactory } from './client-factory';

// Roots follow `sampleRoots`, set per test; children follow their parent.
let sampleRoots = false;
const rootSampler: Sampler = {
  shouldSample: (): SamplingResult => (sampleRoots ? new AlwaysOnSampler() : new AlwaysOffSampler()).shouldSample(),
  toString: () => 'switchable',
};
const tracing = installInMemoryTracing(new ParentBasedSampler({ root: rootSampler }));
afterAll(() => tracing.uninstall());
afterEach(() => tracing.exporter.reset());
const opened = closeAfterEach();

const unused = async (): Promise<never> => {
  throw new Error('not used');
};

/** A call made outside any handler (a root, as the gateway's HTTP face or a script makes them): the traceparent the server got. */
async function traceparentOfRootCall(): Promise<string | undefined> {
  let received: string | undefined;
  const service = defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
    getUser: async (request, call) => {
      received = call.metadata.get('traceparent')[0] as string | undefined;
      return { user: { id: request.id, name: 'n', email: 'e@example.com', createTime: new Date(0), orderCount: 0, totalSpentCents: 0 } };
    },
    createUser: unused,
    batchGetUsers: unused,
    listUsers: unused,
  });
  const serving = await serve([service], { host: '127.0.0.1', port: 0 });
  opened.server(serving.server);
  const clients = opened.client(createClientFactory({ logger: pino({ level: 'silent' }), defaultDeadlineMs: 5000, idempotentMethods: new Set() }));
  const users = clients.get(userV1.UserServiceClient, `127.0.0.1:${serving.port}`);
  await callUnary(users.getUser.bind(users), { id: 'u1' });
  return received;
}

describe('the client tracing layer of a root call', () => {
  it('passes on the trace id and the decision not to sample when the sampler drops the call, and records nothing', async () => {
    sampleRoots = false;
    expect(await traceparentOfRootCall()).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    expect(tracing.exporter.getFinishedSpans()).toEqual([]);
  });

  it('records the CLIENT span of a sampled call, and the server gets its context', async () => {
    sampleRoots = true;
    const received = await traceparentOfRootCall();
    const [client] = tracing.exporter.getFinishedSpans().filter((span) => span.kind === 2 /* CLIENT */);
    expect(client?.name).toBe('switchyard.user.v1.UserService/GetUser');
    const [, traceId, , flags] = received!.split('-');
    expect([traceId, flags]).toEqual([client!.spanContext().traceId, '01']);
  });
});
