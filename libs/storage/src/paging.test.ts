import { InvalidArgumentError } from '@switchyard/runtime';
import { toKeysetPage } from './keyset-page';
import { resolvePageSize } from './page-size';
import { decodePageToken, encodePageToken } from './page-token';

function violationOf(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    if (error instanceof InvalidArgumentError) return error.violations;
    throw error;
  }
  throw new Error('expected an InvalidArgumentError');
}

describe('resolvePageSize', () => {
  // The contract every List RPC's page_size documents in the protos: 0 means 20, at most 100.
  it('serves 20 for 0, caps sizes above 100 at 100 and keeps the rest', () => {
    expect([0, 1, 7, 99, 100, 101, 5000].map((requested) => resolvePageSize(requested))).toEqual([20, 1, 7, 99, 100, 100, 100]);
  });

  it('refuses a negative size on page_size, or on the field the caller names', () => {
    expect(violationOf(() => resolvePageSize(-1))).toEqual([{ field: 'page_size', description: 'must not be negative' }]);
    expect(violationOf(() => resolvePageSize(-5, 'orders_page_size'))).toEqual([{ field: 'orders_page_size', description: 'must not be negative' }]);
  });
});

describe('page tokens', () => {
  it('round-trip a cursor through an opaque url-safe token', () => {
    const token = encodePageToken({ createTimeMs: 1_700_000_000_123, id: 'a/b+c' });
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePageToken(token)).toEqual({ createTimeMs: 1_700_000_000_123, id: 'a/b+c' });
  });

  it('read an empty token as the first page', () => {
    expect(decodePageToken('')).toBeUndefined();
  });

  it.each([
    ['not base64url', '***'],
    ['not JSON', Buffer.from('hello').toString('base64url')],
    ['the wrong shape', Buffer.from(JSON.stringify({ t: 'x', i: 1 })).toString('base64url')],
    ['a missing id', Buffer.from(JSON.stringify({ t: 1 })).toString('base64url')],
    ['a truncated token', encodePageToken({ createTimeMs: 1, id: 'abc' }).slice(0, -3)],
  ])('refuse %s as INVALID_ARGUMENT on page_token', (_case, token) => {
    expect(violationOf(() => decodePageToken(token))).toEqual([{ field: 'page_token', description: expect.any(String) }]);
  });
});

describe('toKeysetPage', () => {
  const rows = [1, 2, 3].map((n) => ({ id: `r${n}`, createTimeMs: n }));

  it('returns no token when the extra row is absent', () => {
    expect(toKeysetPage(rows, 3, (row) => row)).toEqual({ items: rows, nextPageToken: '' });
  });

  it('drops the look-ahead row and points the token at the last row served', () => {
    const page = toKeysetPage(rows, 2, (row) => row);
    expect(page.items).toEqual(rows.slice(0, 2));
    expect(decodePageToken(page.nextPageToken)).toEqual({ createTimeMs: 2, id: 'r2' });
  });
});
