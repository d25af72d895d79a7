import type { MoleculerServiceName, MoleculerTransport } from '../../peers/moleculer/broker';
import type { NestServiceName } from '../../peers/nest/grpc-options';
import type { NestFeatures } from '../../peers/nest/nest-features';
import type { GrpcJsPeerOptions, GrpcJsPeerServiceName } from '../../peers/grpc-js/services';
import type { SwitchyardPeerServiceName } from '../../peers/switchyard/services';

/** A peer stack's service (bench/peers) in a server child: one service per process. */
export type PeerServerSpec =
  | { kind: 'peer'; peer: 'moleculer'; service: MoleculerServiceName; nodeID: string; namespace: string; transport: MoleculerTransport }
  /** `features` on: tracing and a per-call log line; off: Nest's defaults. */
  | { kind: 'peer'; peer: 'nest'; service: NestServiceName; port: number; protosDir: string; upstream?: { user: string; order: string }; features?: NestFeatures }
  /** Configured from the environment (GRPC_PORT, REGISTRY_ADDRESS...) as the apps are. */
  | { kind: 'peer'; peer: 'switchyard'; service: SwitchyardPeerServiceName }
  /** Bare grpc-js, no framework: the reference for what gRPC on Node costs. */
  | ({ kind: 'peer'; peer: 'grpc-js'; service: GrpcJsPeerServiceName } & GrpcJsPeerOptions);

/**
 * Starts the service. Imported on demand, so a Moleculer process loads no Nest and the other way
 * round. `port` is the gRPC port for Nest; Moleculer nodes listen on no port of their own over NATS.
 */
export async function startPeerServer(spec: PeerServerSpec): Promise<{ port: number; stop(): Promise<void> }> {
  if (spec.peer === 'moleculer') {
    const { startMoleculerService } = await import('../../peers/moleculer/broker');
    const node = await startMoleculerService(spec.service, spec);
    return { port: spec.transport.kind === 'tcp' ? spec.transport.ports[spec.nodeID] : 0, stop: node.stop };
  }
  if (spec.peer === 'grpc-js') {
    const { startGrpcJsPeerService } = await import('../../peers/grpc-js/services');
    return startGrpcJsPeerService(spec.service, spec);
  }
  if (spec.peer === 'switchyard') {
    const { startSwitchyardPeerService } = await import('../../peers/switchyard/start-service');
    return startSwitchyardPeerService(spec.service);
  }
  // Tracing first: the gRPC instrumentation only patches grpc-js if it starts before Nest's modules load it.
  const tracing = spec.features ? (await import('../../peers/nest/start-tracing')).startNestTracing({ serviceName: `nest-${spec.service}`, sampleRatio: spec.features.traceSampleRatio }) : undefined;
  const { startNestService } = await import('../../peers/nest/start-service');
  const service = await startNestService(spec.service, { url: `127.0.0.1:${spec.port}`, protosDir: spec.protosDir, upstream: spec.upstream, callLogLevel: spec.features?.callLogLevel });
  return {
    port: spec.port,
    stop: async () => {
      await service.stop();
      await tracing?.shutdown();
    },
  };
}
