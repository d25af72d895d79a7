import type { MoleculerTransport } from '../../peers/moleculer/broker';
import type { UserCaller } from './user-caller';

/** The load generator calling a peer stack (bench/peers) through that stack's own client. */
export type PeerClientSpec =
  | { kind: 'peer'; peer: 'moleculer'; call: 'GetUser' | 'GetUserWithOrders'; nodeID: string; namespace: string; transport: MoleculerTransport }
  | { kind: 'peer'; peer: 'nest'; call: 'GetUser' | 'GetUserWithOrders'; target: string; protosDir: string }
  | { kind: 'peer'; peer: 'grpc-js'; call: 'GetUserWithOrders'; target: string };

/** Imported on demand, so a Moleculer load generator loads no Nest and the other way round. */
export async function createPeerCaller(spec: PeerClientSpec): Promise<UserCaller> {
  if (spec.peer === 'moleculer') return (await import('./moleculer-peer-caller')).createMoleculerPeerCaller(spec.call, spec);
  if (spec.peer === 'grpc-js') return (await import('./grpc-js-peer-caller')).createGrpcJsPeerCaller(spec.target);
  return (await import('./nest-peer-caller')).createNestPeerCaller(spec.call, spec.target, spec.protosDir);
}
