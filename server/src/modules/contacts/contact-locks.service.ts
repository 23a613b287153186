import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import { contacts } from './contact.schema.js';

export type ContactRow = typeof contacts.$inferSelect;

/**
 * The active (not archived) contacts among `ids`, locked for update until the caller's
 * transaction ends (a merge locks what it merges). Missing, archived and other tenants' ids are
 * left out; the order is the database's.
 */
export async function lockActiveContactsIn(scope: TenantScope, ids: string[]): Promise<ContactRow[]> {
  return scope.tx
    .select()
    .from(contacts)
    .where(and(eq(contacts.orgId, scope.ctx.orgId), inArray(contacts.id, ids), isNull(contacts.archivedAt)))
    .for('update');
}
