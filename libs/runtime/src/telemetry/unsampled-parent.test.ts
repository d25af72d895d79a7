import { credentials, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { userV1 } from '@switchyard/proto';
import pino from 'pino';
import { callUnary } from '../client/call-unary';
import { createClientFactory } from '../client/client-factory';
import { closeAfterEach } from '../server/close-after-each.test-support';
import { serve } from '../server/serve';
import { defineService } from '../server/service-handlers';
import { tracingMiddleware } from '../server/tracing-middleware';
import { installInMemoryTracing } from './in-memory-tracing.test-support';
import { samplerFollowsParent, setParentDecidesSampling } from './unsampled-parent';

const tracing = installInMemoryTracing();
afterAll(() => tracing.uninstall());
afterEach(() => {
  setParentDecidesSampling(true);
  tracing.exporter.reset();
});
const opened = closeAfterEach();

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN_ID = '00f067aa0ba902b7';
const unused = async (): Promise<never> => {
  throw new Error('not used');
};

function userService(getUser: (id: string, metadata: Metadata) => Promise<userV1.GetUserResponse>) {
  return defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
    getUser: (request, call) => getUser(request.id, call.metadata),
    createUser: unused,
    batchGetUsers: unused,
    listUsers: unused,
  });
}

/**
 * A caller -> middle -> downstream chain on real servers, both with the tracing middleware; the
 * middle calls downstream through a client factory's client. Returns the traceparent downstream
 * received.
 */
async function traceparentDownstream(incoming: string | undefined): Promise<string | undefined> {
  let received: string | undefined;
  const downstream = await serve([userService(async (id, metadata) => ((received = metadata.get('traceparent')[0] as string | undefined), { user: { id, name: 'n', email: 'e@example.com', createTime: new Date(0), orderCount: 0, totalSpentCents: 0 } }))], {
    host: '127.0.0.1',
    port: 0,
    middleware: [tracingMiddleware],
  });
  opened.server(downstream.server);
  const clients = opened.client(createClientFactory({ logger: pino({ level: 'silent' }), defaultDeadlineMs: 5000, idempotentMethods: new Set() }));
  const users = clients.get(userV1.UserServiceClient, `127.0.0.1:${downstream.port}`);
  const middle = await serve([userService((id) => callUnary(users.getUser.bind(users), { id }))], { host: '127.0.0.1', port: 0, middleware: [tracingMiddleware] });
  opened.server(middle.server);
  const caller = opened.client(new userV1.UserServiceClient(`127.0.0.1:${middle.port}`, credentials.createInsecure()) as Client & userV1.UserServiceClient);
  const metadata = new Metadata();
  if (incoming) metadata.set('traceparent', incoming);
  await new Promise<void>((resolve, reject) => caller.getUser({ id: 'u1' }, metadata, (error: ServiceError | null) => (error ? reject(error) : resolve())));
  return received;
}

describe('tracing under an unsampled parent', () => {
  it('makes no span of its own: the trace id, the caller span and the decision not to sample pass on unchanged', async () => {
    expect(await traceparentDownstream(`00-${TRACE_ID}-${CALLER_SPAN_ID}-00`)).toBe(`00-${TRACE_ID}-${CALLER_SPAN_ID}-00`);
    expect(tracing.exporter.getFinishedSpans()).toEqual([]);
  });

  it('records the server and client spans of a sampled call, the downstream one under them', async () => {
    const received = await traceparentDownstream(`00-${TRACE_ID}-${CALLER_SPAN_ID}-01`);
    const spans = tracing.exporter.getFinishedSpans();
    expect(spans.map((span) => span.spanContext().traceId)).toEqual(Array(spans.length).fill(TRACE_ID));
    // Downstream's parent is one of the middle's recorded spans (its call's attempt), not the caller's.
    const [, traceId, parentId, flags] = received!.split('-');
    expect([traceId, flags]).toEqual([TRACE_ID, '01']);
    expect(spans.map((span) => span.spanContext().spanId)).toContain(parentId);
    expect(spans.filter((span) => span.kind === 1 /* SERVER */)).toHaveLength(2);
    expect(spans.filter((span) => span.kind === 2 /* CLIENT */)).toHaveLength(1);
  });

  it('makes its spans as before when the sampler does not follow parents (OTEL_TRACES_SAMPLER=traceidratio)', async () => {
    setParentDecidesSampling(samplerFollowsParent('traceidratio'));
    const received = await traceparentDownstream(`00-${TRACE_ID}-${CALLER_SPAN_ID}-00`);
    expect(received).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-00$`));
    expect(received).not.toContain(CALLER_SPAN_ID);
  });

  it('samples a call that arrives without trace context as a root of its own', async () => {
    const received = await traceparentDownstream(undefined);
    expect(received).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(tracing.exporter.getFinishedSpans().length).toBeGreaterThanOrEqual(3);
  });

  it('follows parents for every parentbased_* sampler and the default, and not otherwise', () => {
    expect([undefined, '', 'parentbased_always_on', 'parentbased_traceidratio', 'parentbased_always_off'].map(samplerFollowsParent)).toEqual([true, true, true, true, true]);
    expect(['always_on', 'traceidratio', 'always_off'].map(samplerFollowsParent)).toEqual([false, false, false]);
  });
});
