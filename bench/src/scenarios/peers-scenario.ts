import { connect } from 'node:net';
import { join } from 'node:path';
import type { WindowResult } from '../bench-messages';
import type { MoleculerServiceName, MoleculerTransport } from '../../peers/moleculer/broker';
import type { NestServiceName } from '../../peers/nest/grpc-options';
import type { NestFeatures } from '../../peers/nest/nest-features';
import { fixtureUserIds } from '../user-fixture';
import type { Scenario, StackLauncher, Target, Variant, VariantStack } from './scenario';
import { startRegistryChild, SWITCHYARD_SERVER_ENV, TRACING_10_PERCENT } from './switchyard-environment';
import { unaryScenario } from './unary-scenario';

type Workload = 'unary' | 'fanout';
type Call = 'GetUser' | 'GetUserWithOrders';

const NATS_URL = 'nats://127.0.0.1:4222';
const CALL: Record<Workload, Call> = { unary: 'GetUser', fanout: 'GetUserWithOrders' };
/** The processes of a workload: GetUser needs the user service; GetUserWithOrders the gateway, user and order. */
const SERVICES: Record<Workload, Array<MoleculerServiceName & NestServiceName>> = { unary: ['user'], fanout: ['user', 'order', 'gateway'] };
const ANSWERING: Record<Workload, NestServiceName> = { unary: 'user', fanout: 'gateway' };
const PROCESSES: Record<Workload, string> = { unary: 'the user service in its own process', fanout: 'user, order and gateway each in its own process' };

/**
 * Switchyard's window of each workload in this run (its variants run first): the peers' rows
 * report their calls/s and p99 against it, as `callsPctOfSwitchyard` and `p99PctOfSwitchyard`.
 */
const switchyardWindows: Partial<Record<Workload, WindowResult>> = {};

const callsPerSecond = (window: WindowResult) => window.calls / (window.elapsedMs / 1000);

/** Switchyard ahead of NestJS: Nest's calls/s at most 100% of Switchyard's. */
const SWITCHYARD_AHEAD: Target[] = [{ metric: 'metrics.callsPctOfSwitchyard', atMost: 100 }];
/** Switchyard at least 1.3x NestJS carrying the same tracing and log line: Nest's calls/s at most 76.9% of Switchyard's. */
const SWITCHYARD_AHEAD_OF_FEATURED_NEST: Target[] = [{ metric: 'metrics.callsPctOfSwitchyard', atMost: 76.9 }];

/** What Switchyard's rows carry, given to Nest the way a Nest app adds it: 10% sampling as TRACING_10_PERCENT, a log line per call at info. */
const NEST_FEATURES: NestFeatures = { traceSampleRatio: Number(TRACING_10_PERCENT.OTEL_TRACES_SAMPLER_ARG), callLogLevel: 'info' };

/** A NATS server answers at 127.0.0.1:4222 when it greets a connection with INFO within a second. */
function natsAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(4222, '127.0.0.1');
    const done = (answers: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answers);
    };
    const timer = setTimeout(() => done(false), 1000);
    socket.once('data', (data) => done(data.toString('latin1').startsWith('INFO ')));
    socket.once('error', () => done(false));
  });
}

/** Keeps this variant's window as Switchyard's for `workload`, for the peers' rows after it. */
function keepSwitchyardWindow(launcher: StackLauncher, workload: Workload): void {
  delete switchyardWindows[workload];
  launcher.afterStop(async (window) => {
    if (window) switchyardWindows[workload] = window;
  });
}

/** The Switchyard variant of the unary scenario as it stands (the fixture GetUser from memory). */
function switchyardUnary(): Variant {
  const variant = unaryScenario.variants.find((v) => v.name === 'switchyard');
  if (!variant) throw new Error(`peers: the unary scenario has no 'switchyard' variant`);
  return {
    name: 'switchyard unary',
    description: `the unary scenario's '${variant.name}' variant: ${variant.description}`,
    async start(launcher) {
      keepSwitchyardWindow(launcher, 'unary');
      return variant.start(launcher);
    },
  };
}

/**
 * Switchyard's fan-out on the peers' terms: the same in-memory handlers (bench/peers/switchyard),
 * user, order and gateway each in its own process, found through the registry (the built app).
 * The fanout scenario's built apps on SQLite would compare storage, not stacks.
 */
function switchyardFanout(): Variant {
  return {
    name: 'switchyard fanout',
    description:
      'Switchyard services from memory (bench/peers/switchyard), user, order and gateway each in its own process with the full server stack ' +
      '(tracing SDK at 10%, a log line per call at info, health, reflection, registration), the gateway asking user and order at once through ' +
      'registry:/// clients; the load generator calls GetUserWithOrders through the Switchyard client',
    async start(launcher): Promise<VariantStack> {
      keepSwitchyardWindow(launcher, 'fanout');
      const registryAddress = await startRegistryChild(launcher, TRACING_10_PERCENT);
      for (const service of SERVICES.fanout) {
        await launcher.startServer(
          `${service} (Switchyard)`,
          { kind: 'peer', peer: 'switchyard', service },
          { env: { ...SWITCHYARD_SERVER_ENV, ...TRACING_10_PERCENT, GRPC_PORT: '0', REGISTRY_ADDRESS: registryAddress }, answersCalls: service === ANSWERING.fanout },
        );
      }
      return {
        client: { kind: 'switchyard-app', call: 'GetUserWithOrders', target: 'registry:///gateway', userIds: fixtureUserIds() },
        clientEnv: { ...TRACING_10_PERCENT, LOG_LEVEL: 'info', REGISTRY_ADDRESS: registryAddress },
        notes: ['in-memory users and orders (bench/peers/fixture.ts), as the peers serve them'],
      };
    },
  };
}

/** Adds the row's calls/s and p99 as a percentage of Switchyard's, and how far apart they are, in words. */
function compareToSwitchyard(launcher: StackLauncher, workload: Workload, peer: string): void {
  launcher.afterStop(async (window) => {
    const reference = switchyardWindows[workload];
    if (!window || !reference || reference.calls === 0) return { notes: [`no Switchyard ${workload} result in this run to compare with`] };
    const callsPct = (100 * callsPerSecond(window)) / callsPerSecond(reference);
    const p99Pct = (100 * window.p99Us) / reference.p99Us;
    const verdict = callsPct > 100 ? `${(callsPct / 100).toFixed(2)}x Switchyard's calls/s` : `Switchyard ${(100 / callsPct).toFixed(2)}x ${peer}'s calls/s`;
    return { metrics: { callsPctOfSwitchyard: callsPct, p99PctOfSwitchyard: p99Pct }, notes: [`vs switchyard ${workload} of this run: ${verdict}`] };
  });
}

/** Nest with its defaults, or with `features`: Switchyard's tracing and per-call log line added as a Nest app adds them. */
function nestVariant(workload: Workload, features?: NestFeatures): Variant {
  return {
    name: features ? `nestjs + tracing + log line ${workload}` : `nestjs ${workload}`,
    description:
      `NestJS microservices (@nestjs/microservices gRPC transport on grpc-js, our protos via protoPath), ${PROCESSES[workload]}` +
      (workload === 'fanout' ? ', the gateway asking user and order at once through ClientGrpc' : '') +
      (features
        ? `, every process with the OpenTelemetry NodeSDK and the gRPC instrumentation (parent-based ${features.traceSampleRatio * 100}% sampling, no exporter) ` +
          `and nestjs-pino's LoggerModule with a global interceptor logging one line per call at ${features.callLogLevel}`
        : '') +
      `; the load generator calls ${CALL[workload]} through a ClientGrpc (ClientProxyFactory, one Observable per call)` +
      (features ? ', traced by the same SDK setup' : ''),
    targets: features ? SWITCHYARD_AHEAD_OF_FEATURED_NEST : SWITCHYARD_AHEAD,
    async start(launcher): Promise<VariantStack> {
      const protosDir = join(launcher.workspaceRoot, 'protos');
      const ports = { user: await launcher.freePort(), order: await launcher.freePort(), gateway: await launcher.freePort() };
      const upstream = { user: `127.0.0.1:${ports.user}`, order: `127.0.0.1:${ports.order}` };
      await Promise.all(
        SERVICES[workload].map((service) =>
          launcher.startServer(
            `${service} (NestJS${features ? ' + tracing + log line' : ''})`,
            { kind: 'peer', peer: 'nest', service, port: ports[service], protosDir, ...(service === 'gateway' ? { upstream } : {}), ...(features ? { features } : {}) },
            { answersCalls: service === ANSWERING[workload] },
          ),
        ),
      );
      compareToSwitchyard(launcher, workload, features ? 'NestJS + tracing + log line' : 'NestJS');
      return {
        client: {
          kind: 'peer',
          peer: 'nest',
          call: CALL[workload],
          target: `127.0.0.1:${ports[ANSWERING[workload]]}`,
          protosDir,
          ...(features ? { traceSampleRatio: features.traceSampleRatio } : {}),
        },
        notes: [
          features
            ? 'in-memory users and orders (bench/peers/fixture.ts); tracing and a log line per call as Switchyard has them, no deadlines, retries, health, reflection or registry'
            : 'in-memory users and orders (bench/peers/fixture.ts); no tracing, no per-call logging (Nest defaults)',
        ],
      };
    },
  };
}

function moleculerVariant(workload: Workload): Variant {
  return {
    name: `moleculer ${workload}`,
    description:
      `Moleculer services (JSON serializer, broker defaults), ${PROCESSES[workload]}, a broker node per process` +
      (workload === 'fanout' ? ', the gateway asking user and order at once with ctx.call' : '') +
      `; the load generator calls ${workload === 'unary' ? 'user.get' : 'gateway.getUserWithOrders'} with ServiceBroker.call from a broker of its own`,
    async start(launcher): Promise<VariantStack> {
      const nodes = [...SERVICES[workload], 'load-generator'];
      const nats = await natsAnswers();
      let transport: MoleculerTransport = { kind: 'nats', url: NATS_URL };
      if (!nats) {
        const ports: Record<string, number> = {};
        for (const node of nodes) ports[node] = await launcher.freePort();
        transport = { kind: 'tcp', ports };
      }
      // This run's own namespace: brokers of another run on the same NATS server stay out of it.
      const namespace = `bench-${process.pid}-${Date.now().toString(36)}`;
      await Promise.all(
        SERVICES[workload].map((service) =>
          launcher.startServer(
            `${service} (Moleculer)`,
            { kind: 'peer', peer: 'moleculer', service, nodeID: service, namespace, transport },
            { answersCalls: service === ANSWERING[workload] },
          ),
        ),
      );
      compareToSwitchyard(launcher, workload, 'Moleculer');
      return {
        client: { kind: 'peer', peer: 'moleculer', call: CALL[workload], nodeID: 'load-generator', namespace, transport },
        notes: [
          nats
            ? `NATS transporter via the NATS server at 127.0.0.1:4222 (every call crosses it twice; its CPU is not in server CPU/call)`
            : 'TCP transporter, static node list (no NATS server answered at 127.0.0.1:4222)',
          'in-memory users and orders (bench/peers/fixture.ts); no tracing, no per-call logging (Moleculer defaults)',
          'JSON on a plain socket, no HTTP/2 or protobuf: the gap to the gRPC stacks is mostly the grpc-js call path, not the handlers',
        ],
      };
    },
  };
}

/**
 * The same GetUser and GetUserWithOrders on Switchyard, NestJS (gRPC transport) and Moleculer, one
 * service per process, each called through its own client. Switchyard's unary variant is the
 * baseline (the vs-baseline columns); each peer row also says how it compares to Switchyard's row
 * of the same workload (`callsPctOfSwitchyard`, `p99PctOfSwitchyard`).
 */
export const peersScenario: Scenario = {
  name: 'peers',
  description: 'GetUser and GetUserWithOrders on Switchyard, NestJS (gRPC) and Moleculer',
  variants: [
    switchyardUnary(),
    nestVariant('unary'),
    nestVariant('unary', NEST_FEATURES),
    moleculerVariant('unary'),
    switchyardFanout(),
    nestVariant('fanout'),
    nestVariant('fanout', NEST_FEATURES),
    moleculerVariant('fanout'),
  ],
};
