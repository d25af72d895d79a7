// Mutual TLS over real sockets: a server made by serve() with the credentials TLS_CERT, TLS_KEY
// and TLS_CA give, clients with and without the right certificates, all made by openssl here.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, status as Status, type ChannelCredentials, type Server, type ServiceError } from '@grpc/grpc-js';
import { gatewayV1, registryV1 } from '@switchyard/proto';
import {
  channelCredentials,
  createClientFactory,
  createLogger,
  defineService,
  loadServiceConfig,
  registerRegistryResolver,
  serve,
  serverCredentials,
  type InstanceWatch,
  type WatcherSource,
} from '@switchyard/runtime';
import { makeCertificate, makeCertificateAuthority, type CertificateFiles } from './certificates';

const logger = createLogger({ service: 'test', level: 'silent', format: 'json' });

interface Certificates {
  dir: string;
  ca: CertificateFiles;
  /** Signed by ca: the server's (SAN user, localhost, 127.0.0.1) and a client's (SAN order). */
  user: CertificateFiles;
  order: CertificateFiles;
  /** Signed by ca, SAN `user` only: wrong for a client dialling 127.0.0.1. */
  userByNameOnly: CertificateFiles;
  /** Signed by ca, expired a day after it began, years ago. */
  expired: CertificateFiles;
  /** Signed by another CA, SAN order. */
  stranger: CertificateFiles;
}

function makeCertificates(): Certificates {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-mtls-'));
  const ca = makeCertificateAuthority(dir, 'ca', 'test CA');
  const otherCa = makeCertificateAuthority(join(dir, 'other'), 'ca', 'another CA');
  const loopback = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] };
  return {
    dir,
    ca,
    user: makeCertificate(ca, dir, 'user', { commonName: 'user', dnsNames: ['user', ...loopback.dnsNames], ipAddresses: loopback.ipAddresses }),
    order: makeCertificate(ca, dir, 'order', { commonName: 'order', dnsNames: ['order', ...loopback.dnsNames], ipAddresses: loopback.ipAddresses }),
    userByNameOnly: makeCertificate(ca, dir, 'user-by-name', { commonName: 'user', dnsNames: ['user'] }),
    expired: makeCertificate(ca, dir, 'expired', {
      commonName: 'order',
      dnsNames: ['order', 'localhost'],
      ipAddresses: ['127.0.0.1'],
      notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2020-01-02T00:00:00Z'),
    }),
    stranger: makeCertificate(otherCa, join(dir, 'other'), 'order', { commonName: 'order', dnsNames: ['order', 'localhost'], ipAddresses: ['127.0.0.1'] }),
  };
}

/** The TLS files of an app, as loadServiceConfig reads them from TLS_CERT, TLS_KEY and TLS_CA. */
function tlsOf(files: CertificateFiles, ca: CertificateFiles) {
  return loadServiceConfig('user', { TLS_CERT: files.cert, TLS_KEY: files.key, TLS_CA: ca.cert }).tls!;
}

describe('mutual TLS', () => {
  let certificates: Certificates;
  const servers: Server[] = [];
  const closers: (() => void)[] = [];
  let handled = 0;

  /** A gateway service whose handler answers with the peer identity it saw, in user.name. */
  async function startServer(files: CertificateFiles): Promise<string> {
    const service = defineService('switchyard.gateway.v1.GatewayService', gatewayV1.GatewayServiceService, {
      getUserWithOrders: async (_request, call) => {
        handled += 1;
        return { user: { id: 'caller', name: JSON.stringify(call.peerIdentity ?? null), email: '', createTime: undefined, orderCount: 0, totalSpentCents: 0 }, orders: [], nextPageToken: '', partialFailures: [] };
      },
    });
    const { server, port } = await serve([service], { host: '127.0.0.1', port: 0, credentials: serverCredentials(tlsOf(files, certificates.ca)) });
    servers.push(server);
    return `127.0.0.1:${port}`;
  }

  function call(target: string, channelCredentials: ChannelCredentials): Promise<gatewayV1.GetUserWithOrdersResponse> {
    const client = new gatewayV1.GatewayServiceClient(target, channelCredentials);
    closers.push(() => client.close());
    return new Promise((resolve, reject) =>
      client.getUserWithOrders(gatewayV1.GetUserWithOrdersRequest.fromPartial({ userId: 'u' }), new Metadata(), { deadline: Date.now() + 5000 }, (error, response) => (error ? reject(error) : resolve(response!))),
    );
  }

  /** A client trusting the test CA, presenting `files` (none: no client certificate). */
  const clientCredentials = (files: CertificateFiles | undefined) => {
    const ca = tlsOf(certificates.user, certificates.ca).ca;
    if (!files) return credentials.createSsl(ca);
    const own = loadServiceConfig('user', { TLS_CERT: files.cert, TLS_KEY: files.key, TLS_CA: files.cert }).tls!;
    return credentials.createSsl(ca, own.key, own.cert);
  };

  const refused = async (attempt: Promise<unknown>) => {
    const before = handled;
    const error = (await attempt.then(() => undefined, (caught: ServiceError) => caught)) as ServiceError | undefined;
    expect(error?.code).toBe(Status.UNAVAILABLE);
    expect(handled).toBe(before);
    return error!;
  };

  /** The server at `address` refuses `rejected` and still serves a client with a good certificate. */
  const refusedByServer = async (address: string, rejected: ChannelCredentials) => {
    await refused(call(address, rejected));
    await expect(call(address, clientCredentials(certificates.order))).resolves.toBeDefined();
  };

  beforeAll(() => {
    certificates = makeCertificates();
  });

  afterAll(() => {
    closers.forEach((close) => close());
    servers.forEach((server) => server.forceShutdown());
    rmSync(certificates.dir, { recursive: true, force: true });
  });

  it('serves a client whose certificate the CA signed, and tells the handler who it is', async () => {
    const address = await startServer(certificates.user);
    const response = await call(address, clientCredentials(certificates.order));
    expect(JSON.parse(response.user!.name)).toEqual({ dnsNames: ['order', 'localhost'], commonName: 'order' });
  });

  it('refuses a client with no certificate', async () => {
    const address = await startServer(certificates.user);
    await refusedByServer(address, clientCredentials(undefined));
  });

  it('refuses a plaintext client', async () => {
    const address = await startServer(certificates.user);
    await refusedByServer(address, credentials.createInsecure());
  });

  it('refuses a client whose certificate another CA signed', async () => {
    const address = await startServer(certificates.user);
    await refusedByServer(address, clientCredentials(certificates.stranger));
  });

  it('refuses a client whose certificate has expired', async () => {
    const address = await startServer(certificates.user);
    await refusedByServer(address, clientCredentials(certificates.expired));
  });

  it('a client refuses a server whose certificate does not name the host dialled', async () => {
    const address = await startServer(certificates.userByNameOnly);
    const error = await refused(call(address, clientCredentials(certificates.order)));
    expect(error.details).toContain("does not match certificate's altnames");
  });

  it('a client refuses a server whose certificate another CA signed', async () => {
    const address = await startServer(certificates.stranger);
    const error = await refused(call(address, clientCredentials(certificates.order)));
    expect(error.details).toContain('unable to verify the first certificate');
  });

  it('a registry:///<service> target accepts only an instance whose certificate names that service', async () => {
    const userAddress = await startServer(certificates.user);
    // The registry lists the user instance under `user`, and also under `order`, as a registry
    // that strangers can write to might: the transport is real, only the listing is given.
    const watchers: WatcherSource = {
      acquire(serviceName) {
        const instance = { serviceName, address: userAddress, state: registryV1.InstanceState.INSTANCE_STATE_SERVING } as registryV1.Instance;
        const watch: InstanceWatch = { serviceName, registryAddress: 'test', instances: () => [instance], error: () => undefined, subscribe: () => () => undefined };
        return { watch, release: () => undefined };
      },
      close: () => undefined,
    };
    const registration = registerRegistryResolver({ registryAddresses: ['test'], watchers });
    closers.push(() => registration.close());
    const clients = createClientFactory({ logger, defaultDeadlineMs: 5000, idempotentMethods: new Set(), credentials: channelCredentials(tlsOf(certificates.order, certificates.ca)) });
    closers.push(() => clients.close());
    const callThrough = (target: string) =>
      new Promise((resolve, reject) => clients.get(gatewayV1.GatewayServiceClient, target).getUserWithOrders(gatewayV1.GetUserWithOrdersRequest.fromPartial({ userId: 'u' }), (error, response) => (error ? reject(error) : resolve(response))));
    await expect(callThrough('registry:///user')).resolves.toBeDefined();
    const before = handled;
    await expect(callThrough('registry:///order')).rejects.toMatchObject({ code: Status.UNAVAILABLE, details: expect.stringContaining("Host: order. is not in the cert's altnames") });
    expect(handled).toBe(before);
  });
});
