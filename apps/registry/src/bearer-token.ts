import { timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { UnauthenticatedError } from '@switchyard/runtime';

/**
 * Throws UnauthenticatedError unless `metadata` carries `authorization: Bearer <token>`.
 * The comparison takes the same time whatever the mismatch, so it leaks nothing about the token.
 */
export function requireBearerToken(metadata: Metadata, token: string): void {
  const header = metadata.get('authorization')[0];
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) {
    throw new UnauthenticatedError('this registry requires a token: send metadata "authorization: Bearer <REGISTRY_TOKEN>"');
  }
  const presented = Buffer.from(header.slice('Bearer '.length));
  const expected = Buffer.from(token);
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    throw new UnauthenticatedError('the registry token was rejected (check REGISTRY_TOKEN)');
  }
}
