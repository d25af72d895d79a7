import { FieldViolations, InvalidArgumentError, MAX_ID_LENGTH, checkTextField } from '@switchyard/runtime';

/**
 * Where a keyset page ends: the sort key of its last row. Rows are ordered by
 * (create_time, id), so rows inserted while a client pages neither repeat nor shift the pages.
 */
export interface KeysetCursor {
  /** create_time of the last row, ms since the epoch. */
  createTimeMs: number;
  /** id of the last row, breaking ties between rows created in the same millisecond. */
  id: string;
}

// Short keys keep tokens short; the token is opaque to clients, so its layout may change.
interface TokenBody {
  t: number;
  i: string;
}

/**
 * Longest page token accepted. Ours are base64url JSON of a time and an id of at most
 * MAX_ID_LENGTH characters (up to 4 UTF-8 bytes each), well under this.
 */
export const MAX_PAGE_TOKEN_LENGTH = 1024;

/** The opaque `next_page_token` for a cursor: base64url JSON. */
export function encodePageToken(cursor: KeysetCursor): string {
  const body: TokenBody = { t: cursor.createTimeMs, i: cursor.id };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

/**
 * The cursor in a request's `page_token`, or undefined for the first page (empty token). A token
 * that is not one of ours is INVALID_ARGUMENT on `field`.
 */
export function decodePageToken(token: string, field = 'page_token'): KeysetCursor | undefined {
  if (token === '') return undefined;
  if (token.length > MAX_PAGE_TOKEN_LENGTH) {
    throw new InvalidArgumentError([{ field, description: `must be at most ${MAX_PAGE_TOKEN_LENGTH} characters` }]);
  }
  const body = parseTokenBody(token);
  if (!body) throw new InvalidArgumentError([{ field, description: 'is not a page token from a previous response' }]);
  return { createTimeMs: body.t, id: body.i };
}

function parseTokenBody(token: string): TokenBody | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  try {
    const body: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof body !== 'object' || body === null) return undefined;
    const { t, i } = body as Partial<TokenBody>;
    if (typeof t !== 'number' || !Number.isSafeInteger(t) || typeof i !== 'string') return undefined;
    // The id goes into a query: held to the rules of ids (PostgreSQL refuses NUL in text).
    if (!checkTextField(new FieldViolations(), 'id', i, { required: true, maxLength: MAX_ID_LENGTH })) return undefined;
    return { t, i };
  } catch {
    return undefined;
  }
}
