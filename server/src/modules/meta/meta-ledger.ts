import { cursorOf, idOfCursor } from '../../platform/query/id-cursor.js';
import type { LedgerQueryInput } from './meta.dto.js';

/**
 * One page of a ledger, newest first: ids are time-ordered (UUIDv7), so the keyset is the id
 * alone, on the table's primary key. Reads `limit + 1` rows to know whether a page follows.
 */
export async function ledgerPageOf<T extends { id: string }>(
  q: LedgerQueryInput,
  read: (after: string | null, limit: number) => Promise<T[]>,
): Promise<{ data: T[]; next_cursor: string | null }> {
  const rows = await read(idOfCursor(q.cursor), q.limit + 1);
  const more = rows.length > q.limit;
  const data = more ? rows.slice(0, q.limit) : rows;
  return { data, next_cursor: more ? cursorOf(data.at(-1)!.id) : null };
}
