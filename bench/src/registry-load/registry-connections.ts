import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { registryV1 } from '@switchyard/proto';

/** Deadline of each call, as the runtime's registration uses (libs/runtime registration.ts). */
const CALL_TIMEOUT_MS = 2000;

/**
 * `count` registry clients, each on its own HTTP/2 connection: grpc-js would otherwise share one
 * subchannel between clients with the same target and options, and the registry would see a
 * single peer where a fleet has many.
 */
export function connectRegistryClients(target: string, count: number): registryV1.RegistryServiceClient[] {
  return Array.from(
    { length: count },
    () =>
      new registryV1.RegistryServiceClient(target, credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
        'grpc.enable_channelz': 0,
      }),
  );
}

/** `authorization: Bearer <token>`, or nothing without a token. */
export function registryMetadata(token: string): Metadata {
  const metadata = new Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

/** The calls an instance makes, with the token and a deadline, as promises. */
export class RegistryCalls {
  private readonly metadata: Metadata;

  constructor(private readonly client: registryV1.RegistryServiceClient, token: string) {
    this.metadata = registryMetadata(token);
  }

  register(request: Pick<registryV1.RegisterRequest, 'serviceName' | 'address'>): Promise<registryV1.RegisterResponse> {
    return this.unary((done) =>
      this.client.register({ version: '1.0.0', metadata: {}, zone: '', state: registryV1.InstanceState.INSTANCE_STATE_SERVING, leaseSecret: '', ...request }, this.metadata, this.options(), done),
    );
  }

  heartbeat(instanceId: string, leaseSecret: string): Promise<registryV1.HeartbeatResponse> {
    return this.unary((done) => this.client.heartbeat({ instanceId, leaseSecret, state: registryV1.InstanceState.INSTANCE_STATE_SERVING }, this.metadata, this.options(), done));
  }

  deregister(instanceId: string, leaseSecret: string): Promise<registryV1.DeregisterResponse> {
    return this.unary((done) => this.client.deregister({ instanceId, leaseSecret }, this.metadata, this.options(), done));
  }

  close(): void {
    this.client.close();
  }

  private options() {
    return { deadline: Date.now() + CALL_TIMEOUT_MS };
  }

  private unary<T>(call: (done: (error: ServiceError | null, response: T) => void) => void): Promise<T> {
    return new Promise((resolve, reject) => call((error, response) => (error ? reject(error) : resolve(response))));
  }
}

/** A registry Duration in ms. */
export function durationToMs(duration: { seconds: number; nanos: number } | undefined): number {
  return duration ? duration.seconds * 1000 + Math.floor(duration.nanos / 1_000_000) : 0;
}

/** A distinct, dialable-looking address for the n-th simulated instance of a block (`10.<block>.x.y:8080`). */
export function simulatedAddress(block: number, n: number): string {
  return `10.${block}.${(n >> 8) & 255}.${n & 255}:${8080 + (n >> 16)}`;
}
