import { badRequest } from '../errors/app-error.js';

/** Keyset cursors of lists ordered by id alone (the suppression list, a sequence's enrollments). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** An opaque keyset cursor: the last row's id, base64url. */
export const cursorOf = (id: string) => Buffer.from(id).toString('base64url');
/** @throws 400 at `query.cursor` when it is not one `cursorOf` made */
export function idOfCursor(cursor: string | undefined): string | null {
  if (cursor === undefined) return null;
  const id = Buffer.from(cursor, 'base64url').toString();
  if (!UUID.test(id))
    throw badRequest('The cursor is malformed; start again from the first page', 'query.cursor');
  return id;
}
