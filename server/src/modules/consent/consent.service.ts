import { and, desc, eq, inArray } from 'drizzle-orm';
import type { TenantContext, TenantScope } from '../../db/tenant.js';
import { withTenant } from '../../db/tenant.js';
import { consents } from './consent.schema.js';

export type ConsentEntry = {
  object: string;
  recordId: string;
  channel: string;
  purpose: string;
  status: 'granted' | 'withdrawn';
  source: string;
  proof: Record<string, unknown>;
};

/** Appends one consent to the ledger in the caller's tenant transaction. @returns its id */
export async function recordConsentIn(scope: TenantScope, entry: ConsentEntry): Promise<string> {
  const [row] = await scope.tx
    .insert(consents)
    .values({
      orgId: scope.ctx.orgId,
      object: entry.object,
      contactId: entry.recordId,
      channel: entry.channel,
      purpose: entry.purpose,
      status: entry.status,
      source: entry.source,
      proof: entry.proof,
    })
    .returning({ id: consents.id });
  return row!.id;
}

export type ConsentView = {
  id: string;
  object: string;
  record_id: string;
  channel: string;
  purpose: string;
  status: string;
  source: string;
  proof: Record<string, unknown>;
  at: string;
};

const viewOf = (r: typeof consents.$inferSelect): ConsentView => ({
  id: r.id,
  object: r.object,
  record_id: r.contactId,
  channel: r.channel,
  purpose: r.purpose,
  status: r.status,
  source: r.source,
  proof: r.proof as Record<string, unknown>,
  at: r.at,
});

/** The consents with these ids (the organization's; an unknown id is left out), by id. */
export async function consentsByIdIn(scope: TenantScope, ids: string[]): Promise<Map<string, ConsentView>> {
  if (ids.length === 0) return new Map();
  const rows = await scope.tx
    .select()
    .from(consents)
    .where(and(eq(consents.orgId, scope.ctx.orgId), inArray(consents.id, ids)));
  return new Map(rows.map((r) => [r.id, viewOf(r)]));
}

/** A record's consents, newest first. */
export async function consentsOf(
  database: Parameters<typeof withTenant>[0],
  ctx: TenantContext,
  object: string,
  recordId: string,
): Promise<ConsentView[]> {
  const rows = await withTenant(
    database,
    ctx,
    ({ tx }) =>
      tx
        .select()
        .from(consents)
        .where(
          and(eq(consents.orgId, ctx.orgId), eq(consents.object, object), eq(consents.contactId, recordId)),
        )
        .orderBy(desc(consents.at), desc(consents.id)),
    { readOnly: true },
  );
  return rows.map(viewOf);
}

/**
 * The latest consent of a contact for a channel (or `any`), in the caller's transaction: what a
 * marketing send checks first (issue 25). @returns `granted`, `withdrawn`, or null with none
 */
export async function latestConsentIn(
  scope: TenantScope,
  contactId: string,
  channel: string,
): Promise<'granted' | 'withdrawn' | null> {
  const { rows } = await scope.conn.query<{ status: 'granted' | 'withdrawn' }>(
    `select status from consents where org_id = $1 and object = 'contact' and contact_id = $2
        and channel in ($3, 'any') order by at desc, id desc limit 1`,
    [scope.ctx.orgId, contactId, channel],
  );
  return rows[0]?.status ?? null;
}
