import { credentials, experimental, Metadata, status as Status, type ChannelOptions, type ServiceError } from '@grpc/grpc-js';
import { userV1 } from '@switchyard/proto';
import { statusError } from '../errors/status-mapping';
import { closeAfterEach } from '../server/close-after-each.test-support';
import { serve } from '../server/serve';
import { defineService } from '../server/service-handlers';
import { ManualClock } from '../time/manual-clock';
import { ejectionListenerOption, type OutlierEjection } from './outlier-ejection-events';
import { OUTLIER_EJECTION_POLICY, registerOutlierEjectionPolicy, type OutlierEjectionOptions } from './outlier-ejection-policy';

// Ejections last exactly as long as the test says, however long its calls take.
const clock = new ManualClock();
registerOutlierEjectionPolicy(clock);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A UserService instance whose GetUser answers through `behaviour` (OK: its port as the name). */
interface Instance {
  port: number;
  calls: number;
  behaviour: () => void | Promise<void>;
}

const opened = closeAfterEach();

async function startInstance(behaviour: Instance['behaviour'] = () => {}): Promise<Instance> {
  const instance: Instance = { port: 0, calls: 0, behaviour };
  const unused = async () => {
    throw new Error('not used');
  };
  const service = defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
    async getUser(request) {
      instance.calls += 1;
      await instance.behaviour();
      return { user: { id: request.id, name: String(instance.port), email: 'x@example.com', createTime: new Date(0), orderCount: 0, totalSpentCents: 0 } };
    },
    createUser: unused,
    batchGetUsers: unused,
    listUsers: unused,
  });
  const serving = await serve([service], { host: '127.0.0.1', port: 0 });
  opened.server(serving.server);
  instance.port = serving.port;
  return instance;
}

/** A plain client (no retries) round-robining over `instances` under the ejection policy. */
function clientFor(instances: Instance[], options: Partial<OutlierEjectionOptions>, channelOptions: ChannelOptions = {}): userV1.UserServiceClient {
  const target = `ipv4:${instances.map((i) => `127.0.0.1:${i.port}`).join(',')}`;
  const serviceConfig = { loadBalancingConfig: [{ [OUTLIER_EJECTION_POLICY]: { ...options, child_policy: [{ round_robin: {} }] } }] };
  return opened.client(new userV1.UserServiceClient(target, credentials.createInsecure(), { ...channelOptions, 'grpc.service_config': JSON.stringify(serviceConfig) }));
}

/** A resolver whose addresses the test changes: `outlier-test:///<name>` lists listedPorts[name]. */
const listedPorts = new Map<string, number[]>();
const listResolvers = new Set<{ report(): void }>();
experimental.registerResolver(
  'outlier-test',
  class implements experimental.Resolver {
    private readonly name: string;
    constructor(
      target: experimental.GrpcUri,
      private readonly listener: experimental.ResolverListener,
    ) {
      this.name = target.path.replace(/^\/+/, '');
      listResolvers.add(this);
    }
    static getDefaultAuthority(target: experimental.GrpcUri): string {
      return target.path;
    }
    updateResolution(): void {
      setImmediate(() => this.report());
    }
    report(): void {
      const endpoints = (listedPorts.get(this.name) ?? []).map((port) => ({ addresses: [{ host: '127.0.0.1', port }] }));
      this.listener(experimental.statusOrFromValue(endpoints), {}, null, '');
    }
    destroy(): void {
      listResolvers.delete(this);
    }
  },
);

/** Calls GetUser `count` times one after the other; the status code of each. */
async function call(client: userV1.UserServiceClient, count: number, deadlineMs = 2000): Promise<Status[]> {
  const codes: Status[] = [];
  for (let i = 0; i < count; i += 1) {
    codes.push(
      await new Promise<Status>((resolve) =>
        client.getUser({ id: 'u1' }, new Metadata(), { deadline: Date.now() + deadlineMs }, (error: ServiceError | null) => resolve(error ? error.code : Status.OK)),
      ),
    );
  }
  return codes;
}

const unavailable = () => {
  throw statusError(Status.UNAVAILABLE, 'this instance is sick');
};

describe('switchyard_outlier_ejection', () => {
  it('ejects an instance after consecutive failures, sends its share to the others, and takes it back after the ejection time', async () => {
    const sick = await startInstance(unavailable);
    const healthy = await startInstance();
    const client = clientFor([sick, healthy], { consecutiveFailures: 3, baseEjectionMs: 500 });
    await call(client, 10);
    expect(sick.calls).toBe(3);

    const [sickBefore, healthyBefore] = [sick.calls, healthy.calls];
    expect(await call(client, 20)).toEqual(Array(20).fill(Status.OK));
    expect([sick.calls - sickBefore, healthy.calls - healthyBefore]).toEqual([0, 20]);

    // Recovered, but still out until the ejection is over.
    sick.behaviour = () => {};
    clock.advance(499);
    expect(await call(client, 10)).toEqual(Array(10).fill(Status.OK));
    expect(sick.calls).toBe(sickBefore);

    // The ejection is over: round robin shares the calls again.
    clock.advance(1);
    const sickAfter = sick.calls;
    expect(await call(client, 20)).toEqual(Array(20).fill(Status.OK));
    expect(sick.calls - sickAfter).toBeGreaterThanOrEqual(9);
  });

  it("reports each ejection once to the listener in the channel's options, with the address of the instance, how long it is out and why (what rpc_client_outlier_ejections_total counts and the warn line says)", async () => {
    const ejected: OutlierEjection[] = [];
    const sick = await startInstance(unavailable);
    const healthy = await startInstance();
    const client = clientFor([sick, healthy], { consecutiveFailures: 3, baseEjectionMs: 500 }, ejectionListenerOption.options((ejection: OutlierEjection) => void ejected.push(ejection)));
    await call(client, 30);
    expect(ejected).toEqual([{ address: `127.0.0.1:${sick.port}`, ejectionMs: 500, consecutiveFailures: 3, lastFailure: 'UNAVAILABLE' }]);
    clock.advance(500);
  });

  it('does not count answers about the request (NOT_FOUND, INVALID_ARGUMENT) or the caller (DEADLINE_EXCEEDED) as failures', async () => {
    const codes = [Status.NOT_FOUND, Status.INVALID_ARGUMENT, Status.DEADLINE_EXCEEDED, Status.FAILED_PRECONDITION];
    let next = 0;
    const answering = await startInstance(() => {
      throw statusError(codes[next++ % codes.length]!, 'no such user');
    });
    const healthy = await startInstance();
    const client = clientFor([answering, healthy], { consecutiveFailures: 2 });
    await call(client, 40);
    // Round robin may send the first call or two to whichever instance connected first.
    expect(answering.calls).toBeGreaterThanOrEqual(18);
    expect(healthy.calls).toBeGreaterThanOrEqual(18);
  });

  it('starts counting again after a success: failures must be consecutive', async () => {
    let n = 0;
    // Fails two calls of every three: never three in a row.
    const flaky = await startInstance(() => {
      if (n++ % 3 !== 2) unavailable();
    });
    const healthy = await startInstance();
    const client = clientFor([flaky, healthy], { consecutiveFailures: 3 });
    await call(client, 40);
    expect(flaky.calls).toBeGreaterThanOrEqual(18);
  });

  it('lets a call its caller gave up on (DEADLINE_EXCEEDED) neither count nor clear the failures before it', async () => {
    let n = 0;
    // Refuses every other call and holds the rest past the caller's deadline: never answers.
    const sick = await startInstance(() => (n++ % 2 === 0 ? unavailable() : sleep(300)));
    const healthy = await startInstance();
    const client = clientFor([sick, healthy], { consecutiveFailures: 3 });
    const codes = await call(client, 40, 100);
    // Refused, timed out, refused, timed out, refused: ejected after its fifth call.
    expect(sick.calls).toBe(5);
    expect(codes.filter((code) => code !== Status.OK)).toHaveLength(5);
  });

  it('sends a later attempt of a call (a retry, a backup) to the instance with fewer calls in flight', async () => {
    let stalling = false;
    // Held until the later attempts are done, however slow the machine: no timer to race.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const stalled = await startInstance(() => (stalling ? released : undefined));
    const healthy = await startInstance();
    const client = clientFor([stalled, healthy], {});
    await call(client, 4);
    stalling = true;
    const reached = () => stalled.calls + healthy.calls;
    const [reachedBefore, stalledBefore, healthyBefore] = [reached(), stalled.calls, healthy.calls];
    // First attempts: round robin sends about every other one to the stalled instance, where they wait.
    let answered = 0;
    const waiting = Promise.all(Array.from({ length: 6 }, () => call(client, 1, 30_000).then((codes) => ((answered += 1), codes))));
    // Every first attempt has reached an instance, and the healthy one's answers are back: until
    // then the client counts those calls in flight too.
    while (reached() < reachedBefore + 6 || answered < healthy.calls - healthyBefore) await sleep(10);
    const before = stalled.calls;
    expect(before - stalledBefore).toBeGreaterThanOrEqual(2);
    const later = new Metadata();
    later.set('grpc-previous-rpc-attempts', '1');
    const codes: Status[] = [];
    for (let i = 0; i < 10; i += 1) {
      codes.push(
        await new Promise<Status>((resolve) =>
          client.getUser({ id: 'u1' }, later, { deadline: Date.now() + 10_000 }, (error: ServiceError | null) => resolve(error ? error.code : Status.OK)),
        ),
      );
    }
    release();
    expect(stalled.calls - before).toBe(0);
    expect(codes).toEqual(Array(10).fill(Status.OK));
    expect(await waiting).toEqual(Array(6).fill([Status.OK]));
  });

  it('never ejects more than maxEjectionPercent of the instances, so the last one keeps answering', async () => {
    const instances = [await startInstance(unavailable), await startInstance(unavailable)];
    const client = clientFor(instances, { consecutiveFailures: 2, maxEjectionPercent: 50 });
    const codes = await call(client, 20);
    // Every call reached a server (its UNAVAILABLE, not the channel's): one instance ejected, one kept.
    expect(instances[0]!.calls + instances[1]!.calls).toBe(20);
    expect(codes).toEqual(Array(20).fill(Status.UNAVAILABLE));
    const [first, second] = [instances[0]!.calls, instances[1]!.calls].sort((a, b) => a - b);
    expect(first).toBe(2);
    expect(second).toBe(18);
  });

  it('keeps an instance out longer when it is sick again right after it came back', async () => {
    const sick = await startInstance(unavailable);
    const healthy = await startInstance();
    const client = clientFor([sick, healthy], { consecutiveFailures: 2, baseEjectionMs: 400 });
    await call(client, 6);
    expect(sick.calls).toBe(2);
    // Back after 400 ms, still sick: ejected again at once, now for 800 ms.
    clock.advance(400);
    await call(client, 6);
    expect(sick.calls).toBe(4);
    clock.advance(799);
    await call(client, 6);
    expect(sick.calls).toBe(4);
    clock.advance(1);
    await call(client, 6);
    expect(sick.calls).toBeGreaterThan(4);
  });

  it('ends an ejection that the instances left would put past maxEjectionPercent (the healthy one drained away)', async () => {
    const sick = await startInstance(unavailable);
    const healthy = await startInstance();
    listedPorts.set('drained', [sick.port, healthy.port]);
    const serviceConfig = { loadBalancingConfig: [{ [OUTLIER_EJECTION_POLICY]: { consecutiveFailures: 2, child_policy: [{ round_robin: {} }] } }] };
    const client = opened.client(
      new userV1.UserServiceClient('outlier-test:///drained', credentials.createInsecure(), { 'grpc.service_config': JSON.stringify(serviceConfig) }),
    );
    await call(client, 10);
    expect(sick.calls).toBe(2);

    // The healthy instance drains and leaves the list; the sick one has recovered but is still ejected.
    sick.behaviour = () => {};
    listedPorts.set('drained', [sick.port]);
    for (const resolver of listResolvers) resolver.report();
    await sleep(100);
    expect(await call(client, 5)).toEqual(Array(5).fill(Status.OK));
    expect(sick.calls).toBe(7);
  });

  it('rejects a bad setting, naming it', () => {
    const parse = (options: object) => () => experimental.parseLoadBalancingConfig({ [OUTLIER_EJECTION_POLICY]: { ...options, child_policy: [{ round_robin: {} }] } });
    expect(parse({ consecutiveFailures: 0 })).toThrow(`${OUTLIER_EJECTION_POLICY}: consecutiveFailures must be a number > 0, got 0`);
    expect(parse({ baseEjectionMs: '5s' })).toThrow('baseEjectionMs must be a number > 0, got "5s"');
    expect(() => experimental.parseLoadBalancingConfig({ [OUTLIER_EJECTION_POLICY]: {} })).toThrow('child_policy must list a known policy');
    expect(parse({})).not.toThrow();
  });
});
