import { Agent, request as httpRequest } from 'node:http';
import { status as Status } from '@grpc/grpc-js';
import type { userV1 } from '@switchyard/proto';
import type { ClientSpec } from '../bench-messages';
import type { UserCaller } from './user-caller';

/**
 * GetUser as a web client makes it: GET /v1/users/{id} on the gateway's HTTP face, JSON back, over
 * keep-alive HTTP/1.1 connections (node:http, one connection per call in flight, reused). A status
 * other than 200 is an error carrying the problem's `code`, so the report counts it by gRPC status.
 */
export function createHttpAppCaller(spec: Extract<ClientSpec, { kind: 'http-app' }>): UserCaller {
  if (spec.userIds.length === 0) throw new Error('http-app caller: no seeded user ids');
  const seededId = (fixtureId: string) => spec.userIds[Number(/(\d+)$/.exec(fixtureId)?.[1] ?? 0) % spec.userIds.length];
  const base = new URL(spec.baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const headers: Record<string, string> = { accept: 'application/json', ...(spec.authorization !== undefined ? { authorization: spec.authorization } : {}) };

  const getUser = (request: userV1.GetUserRequest) =>
    new Promise<userV1.GetUserResponse>((resolve, reject) => {
      const call = httpRequest({ agent, host: base.hostname, port: base.port, path: `/v1/users/${encodeURIComponent(seededId(request.id))}`, method: 'GET', headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { user?: userV1.User; code?: string; detail?: string };
          if (response.statusCode === 200) resolve({ user: body.user });
          else reject(Object.assign(new Error(`HTTP ${response.statusCode}: ${body.detail ?? ''}`), { code: (Status as unknown as Record<string, number | undefined>)[body.code ?? ''] ?? `HTTP_${response.statusCode}` }));
        });
      });
      call.on('error', reject);
      call.end();
    });

  return {
    getUser,
    async close() {
      agent.destroy();
    },
  };
}
