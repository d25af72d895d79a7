import { encodePageToken, type KeysetCursor } from './page-token';

/** One page of rows and the token for the next, empty on the last page. */
export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/**
 * Builds a page from rows fetched with `limit pageSize + 1` in keyset order: the extra row only
 * tells that another page exists, and the last row served becomes the cursor.
 */
export function toKeysetPage<T>(rows: T[], pageSize: number, cursorOf: (row: T) => KeysetCursor): Page<T> {
  if (rows.length <= pageSize) return { items: rows, nextPageToken: '' };
  const items = rows.slice(0, pageSize);
  return { items, nextPageToken: encodePageToken(cursorOf(items[items.length - 1]!)) };
}
