import type { MoleculerTransport } from '../../peers/moleculer/broker';
import type { UserCaller } from './user-caller';

/** The load generator calling a peer stack (bench/peers) through that stack's own client. */
export type PeerClientSpec =
  | { kind: 'peer'; peer: 'moleculer'; call: 'GetUser' | 'GetUserWithOrders'; nodeID: string; namespace: string; transport: MoleculerTransport }
  /** `traceSampleRatio` set: the OpenTelemetry SDK with the gRPC instrumentation in the load generator too. */
  | { kind: 'peer'; peer: 'nest'; call: 'GetUser' | 'GetUserWithOrders'; target: string; protosDir: string; traceSampleRatio?: number }
  | { kind: 'peer'; peer: 'grpc-js'; call: 'GetUserWithOrders'; target: string };

/** Imported on demand, so a Moleculer load generator loads no Nest and the other way round. */
export async function createPeerCaller(spec: PeerClientSpec): Promise<UserCaller> {
  if (spec.peer === 'moleculer') return (await import('./moleculer-peer-caller')).createMoleculerPeerCaller(spec.call, spec);
  if (spec.peer === 'grpc-js') return (await import('./grpc-js-peer-caller')).createGrpcJsPeerCaller(spec.target);
  // Tracing first: the gRPC instrumentation only patches grpc-js if it starts before Nest's client loads it.
  const tracing = spec.traceSampleRatio === undefined ? undefined : (await import('../../peers/nest/start-tracing')).startNestTracing({ serviceName: 'nest-bench-client', sampleRatio: spec.traceSampleRatio });
  const caller = await (await import('./nest-peer-caller')).createNestPeerCaller(spec.call, spec.target, spec.protosDir);
  if (!tracing) return caller;
  return {
    ...caller,
    close: async () => {
      await caller.close();
      await tracing.shutdown();
    },
  };
}
