// Test support (not a test): a real grpc-js client of the registry whose calls return promises.
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { registryV1 } from '@switchyard/proto';

type Unary = 'register' | 'heartbeat' | 'deregister' | 'resolve' | 'listServices';

export interface RegistryCaller {
  readonly client: registryV1.RegistryServiceClient;
  register(request: Partial<registryV1.RegisterRequest>): Promise<registryV1.RegisterResponse>;
  heartbeat(request: Partial<registryV1.HeartbeatRequest>): Promise<registryV1.HeartbeatResponse>;
  deregister(request: Partial<registryV1.DeregisterRequest>): Promise<registryV1.DeregisterResponse>;
  resolve(serviceName: string): Promise<registryV1.Instance[]>;
  listServices(): Promise<registryV1.ServiceSummary[]>;
  close(): void;
}

/** Sends `authorization: Bearer <token>` on every call when a token is given. */
export function bearer(token: string | undefined): Metadata {
  const metadata = new Metadata();
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

/** A client of the registry at `address` presenting `token` (none when undefined). */
export function registryCaller(address: string, token?: string, client = new registryV1.RegistryServiceClient(address, credentials.createInsecure())): RegistryCaller {
  const call = <Req, Res>(method: Unary, request: Req): Promise<Res> =>
    new Promise((resolve, reject) => {
      const fn = client[method].bind(client) as unknown as (r: Req, m: Metadata, o: object, cb: (e: ServiceError | null, res: Res) => void) => void;
      fn(request, bearer(token), { deadline: Date.now() + 10_000 }, (error, response) => (error ? reject(error) : resolve(response)));
    });
  return {
    client,
    register: (request) => call('register', registryV1.RegisterRequest.fromPartial(request)),
    heartbeat: (request) => call('heartbeat', registryV1.HeartbeatRequest.fromPartial(request)),
    deregister: (request) => call('deregister', registryV1.DeregisterRequest.fromPartial(request)),
    resolve: async (serviceName) => (await call<registryV1.ResolveRequest, registryV1.ResolveResponse>('resolve', { serviceName })).instances,
    listServices: async () => (await call<registryV1.ListServicesRequest, registryV1.ListServicesResponse>('listServices', {})).services,
    close: () => client.close(),
  };
}

/** The error a call failed with; throws when it succeeded. */
export async function failure(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the call to fail');
}
