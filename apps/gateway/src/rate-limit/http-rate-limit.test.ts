import { request } from 'node:http';
import { startTestServer, type TestServer } from '@switchyard/testing';
import pino from 'pino';
import { toEdgeError } from '../edge-errors';
import { startGatewayHttp } from '../http/gateway-http';
import type { HttpFace } from '../http/http-face';
import { createGatewayService } from '../user-with-orders';
import { clientAddresses } from './client-address';
import { memoryTokenBuckets } from './memory-token-buckets';
import { rateLimitMiddleware } from './rate-limit-middleware';

interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/** GET from a chosen local address: 127.0.0.2 is a second client on the same machine. */
function get(url: string, localAddress = '127.0.0.1'): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    request(url, { localAddress }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: JSON.parse(text) as Record<string, unknown> }));
    })
      .on('error', reject)
      .end();
  });
}

describe('rate limits over HTTP', () => {
  const logger = pino({ level: 'silent' });
  let gateway: TestServer;
  let face: HttpFace;
  let url: string;

  beforeAll(async () => {
    const upstream = {
      getUser: async (id: string) => ({ id, name: 'Ada', email: 'ada@example.com', createTime: new Date('2026-01-01T00:00:00Z'), orderCount: 0, totalSpentCents: 0 }),
      listOrders: async () => ({ orders: [], nextPageToken: '' }),
    };
    const addresses = clientAddresses();
    const limit = rateLimitMiddleware({
      rules: () => ({ default: { rate: 0.1, burst: 2, by: 'address' }, methods: {} }),
      buckets: memoryTokenBuckets(),
      addressOf: addresses.of,
      onStoreFailure: 'open',
      logger,
    });
    const service = createGatewayService(upstream);
    gateway = await startTestServer([service], [addresses.middleware, limit]);
    face = await startGatewayHttp({
      http: { host: '127.0.0.1', port: 0, bodyLimitBytes: 4096 },
      serviceNames: [service.name],
      grpcAddress: gateway.address,
      deadlineMs: 10_000,
      version: 'test',
      toEdgeError,
      logger,
      stampClientAddress: addresses.stamp,
    });
    url = `http://127.0.0.1:${face.port}/v1/users/u1:withOrders`;
  });

  afterAll(async () => {
    await face?.close();
    gateway?.stop();
  });

  it('answers 429 with Retry-After and RateLimit-* headers once the HTTP client used its burst, by its own address', async () => {
    expect((await get(url)).status).toBe(200);
    expect((await get(url)).status).toBe(200);
    const refused = await get(url);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ status: 429, title: 'Too Many Requests', code: 'RESOURCE_EXHAUSTED', detail: 'rate limit "default" exceeded: 0.1 calls per second, bursts of 2, per address; retry in 10s' });
    expect(refused.headers).toMatchObject({ 'retry-after': '10', 'ratelimit-limit': '2', 'ratelimit-remaining': '0' });
    expect(Number(refused.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(19);
    expect(Number(refused.headers['ratelimit-reset'])).toBeLessThanOrEqual(20);
    // Another HTTP client has a bucket of its own, although every HTTP call reaches the
    // middleware from the HTTP face's loopback connection.
    expect((await get(url, '127.0.0.2')).status).toBe(200);
    expect((await get(url, '127.0.0.2')).status).toBe(200);
    expect((await get(url, '127.0.0.2')).status).toBe(429);
  });
});
