import { InvalidArgumentError } from '@switchyard/runtime';

/** Page size when the request leaves it 0. */
export const DEFAULT_PAGE_SIZE = 20;
/** Largest page served; larger requests are cut down to it rather than refused. */
export const MAX_PAGE_SIZE = 100;

/**
 * The page size to serve for a request's `page_size`: 0 means the default, more than the maximum
 * is capped, negative is INVALID_ARGUMENT on `field`.
 */
export function resolvePageSize(requested: number, field = 'page_size'): number {
  if (!Number.isInteger(requested) || requested < 0) {
    throw new InvalidArgumentError([{ field, description: 'must not be negative' }]);
  }
  if (requested === 0) return DEFAULT_PAGE_SIZE;
  return Math.min(requested, MAX_PAGE_SIZE);
}
