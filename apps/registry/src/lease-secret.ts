import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new lease secret: 32 random bytes (256 bits), base64url. */
export function newLeaseSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * What the registry keeps of a secret: its SHA-256. Comparing digests (always 32 bytes) lets
 * timingSafeEqual run on equal lengths whatever was presented, so timing leaks nothing.
 */
export function leaseSecretDigest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** Whether `presented` is the secret behind `digest`, in constant time; an empty one never is. */
export function matchesLeaseSecret(digest: Buffer, presented: string | undefined): boolean {
  if (presented === undefined || presented === '') return false;
  return timingSafeEqual(digest, leaseSecretDigest(presented));
}
