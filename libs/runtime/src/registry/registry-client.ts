import { credentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import { registryV1 } from '@switchyard/proto';
import { allowedKeepaliveTimeMs, clientLimitOptions } from '../client/client-limits';
import { grpcTarget } from '../config/grpc-target';

/**
 * A client of the registry for the runtime's own use (registration, watch). It bypasses the
 * client factory's interceptors on purpose: a log line per heartbeat would drown the app's logs.
 * `registryAddress` is an address setting (see grpcTarget): `registry:50051` is a host, never a
 * scheme. `channelCredentials` default to plaintext (see channelCredentials for mutual TLS).
 */
export function createRegistryClient(registryAddress: string, channelCredentials: ChannelCredentials = credentials.createInsecure()): registryV1.RegistryServiceClient {
  return new registryV1.RegistryServiceClient(grpcTarget(registryAddress), channelCredentials, {
    ...clientLimitOptions(),
    'grpc.enable_channelz': 0,
    // Notice a registry that vanished without closing its connections (a killed container).
    'grpc.keepalive_time_ms': allowedKeepaliveTimeMs(20_000),
    'grpc.keepalive_timeout_ms': 5_000,
    // Reconnect pacing is ours (reconnect-backoff.ts); keep grpc-js from adding its own long waits.
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1_000,
  });
}

/** Metadata with the registry token, when there is one. */
export function registryMetadata(token: string | undefined): Metadata {
  const metadata = new Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}
