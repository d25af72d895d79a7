import { connect, type ClientHttp2Session } from 'node:http2';
import { Client, credentials, Metadata, status as Status, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import { DEFAULT_SERVER_LIMITS } from '../config/server-limits-config';
import { closeAfterEach } from './close-after-each.test-support';
import { metadataBytes } from './metadata-size-limit';
import { serve } from './serve';

const same = (value: Buffer) => value;
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/test.Echo/${name}`,
  requestStream,
  responseStream,
  requestSerialize: same,
  requestDeserialize: same,
  responseSerialize: same,
  responseDeserialize: same,
});

/** One method of each kind, added the way health and reflection are: straight onto the grpc-js server. */
const ECHO: ServiceDefinition = {
  Unary: method('Unary', false, false),
  ClientStream: method('ClientStream', true, false),
  ServerStream: method('ServerStream', false, true),
  Bidi: method('Bidi', true, true),
};

const opened = closeAfterEach();

async function echoServer() {
  const handled: string[] = [];
  const { server, port } = await serve([], {
    host: '127.0.0.1',
    port: 0,
    configure: (server) =>
      server.addService(ECHO, {
        Unary: (call: { request: Buffer }, callback: (error: null, value: Buffer) => void) => {
          handled.push('Unary');
          callback(null, call.request);
        },
        ClientStream: (call: NodeJS.ReadableStream, callback: (error: null, value: Buffer) => void) => {
          handled.push('ClientStream');
          call.on('data', () => undefined);
          call.on('end', () => callback(null, Buffer.from('ok')));
        },
        ServerStream: (call: { request: Buffer; write(value: Buffer): void; end(): void }) => {
          handled.push('ServerStream');
          call.write(call.request);
          call.end();
        },
        Bidi: (call: NodeJS.ReadWriteStream) => {
          handled.push('Bidi');
          call.on('data', (value: Buffer) => call.write(value));
          call.on('end', () => call.end());
        },
      }),
  });
  opened.server(server);
  const address = `127.0.0.1:${port}`;
  return { server, address, handled, client: opened.client(new Client(address, credentials.createInsecure())) };
}

/** Calls `name` once with `metadata`; the call's status. */
function callEach(client: Client, name: string, metadata: Metadata): Promise<{ code: number; details: string }> {
  const { path } = ECHO[name];
  const options = { deadline: Date.now() + 5_000 };
  const payload = Buffer.from('hi');
  return new Promise((resolve) => {
    const settle = (error: ServiceError | null) => resolve(error ? { code: error.code, details: error.details } : { code: Status.OK, details: '' });
    if (name === 'Unary') client.makeUnaryRequest(path, same, same, payload, metadata, options, settle);
    else if (name === 'ClientStream') client.makeClientStreamRequest(path, same, same, metadata, options, settle).end(payload);
    else {
      const bidi = name === 'Bidi' ? client.makeBidiStreamRequest(path, same, same, metadata, options) : undefined;
      const stream = bidi ?? client.makeServerStreamRequest(path, same, same, payload, metadata, options);
      stream.on('data', () => undefined);
      stream.on('error', settle);
      stream.on('status', (status: { code: number }) => status.code === Status.OK && settle(null));
      bidi?.end(payload);
    }
  });
}

describe('the server serve() makes', () => {
  it.each(Object.keys(ECHO))('refuses a %s call whose metadata is over the limit before its handler runs, and serves one under it', async (name) => {
    const { client, handled } = await echoServer();
    const big = new Metadata();
    big.set('x-padding', 'p'.repeat(DEFAULT_SERVER_LIMITS.maxMetadataBytes));
    const refused = await callEach(client, name, big);
    expect(refused.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(refused.details).toMatch(/request metadata of \d+ bytes exceeds the limit of 8192 bytes \(GRPC_MAX_METADATA_BYTES\)/);
    expect(handled).toEqual([]);

    const normal = new Metadata();
    normal.set('x-padding', 'p'.repeat(1024));
    expect(await callEach(client, name, normal)).toEqual({ code: Status.OK, details: '' });
    expect(handled).toEqual([name]);
  });

  it('counts metadata as HTTP/2 does: name, value and 32 bytes per header, binary values in base64', () => {
    const metadata = new Metadata();
    metadata.set('x-a', 'abc');
    metadata.add('x-a', 'de');
    metadata.set('x-b-bin', Buffer.alloc(10));
    expect(metadataBytes(metadata)).toBe(3 + 3 + 32 + (3 + 2 + 32) + (7 + 16 + 32));
  });

  it('closes open connections on forceShutdown', async () => {
    const { server, address } = await echoServer();
    const session: ClientHttp2Session = connect(`http://${address}`);
    await new Promise<void>((resolve, reject) => session.once('connect', () => resolve()).once('error', reject));
    session.on('error', () => undefined);
    let timer: NodeJS.Timeout | undefined;
    const closedWithin = (ms: number) =>
      new Promise((resolve) => {
        timer = setTimeout(() => resolve('still open'), ms);
        session.once('close', () => resolve('closed'));
      }).finally(() => clearTimeout(timer));
    // The server has seen the connection once it has acknowledged our settings.
    await new Promise<void>((resolve) => session.ping(() => resolve()));

    const outcome = closedWithin(3_000);
    server.forceShutdown();
    await expect(outcome).resolves.toBe('closed');
  });
});
