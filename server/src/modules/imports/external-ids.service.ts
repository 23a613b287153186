import type { TenantScope } from '../../db/tenant.js';

/** One external id that moved from one record to another (`id`: the external id). */
export type ExternalIdMove = { id: string; from: string };

/**
 * Points the external ids of `object` records (the ids an import's source system gave them, table
 * `external_ids`) from `fromIds` to `toId`, so a later import naming one finds `toId` (a merge's
 * survivor); `onlyIds` limits it to those external ids (undo). In the caller's transaction.
 * @returns what moved
 */
export async function relinkExternalIdsIn(
  scope: TenantScope,
  object: 'contact' | 'company',
  fromIds: string[],
  toId: string,
  onlyIds?: string[],
): Promise<ExternalIdMove[]> {
  const { rows } = await scope.conn.query(
    `update external_ids x set record_id = $5
       from external_ids old
      where x.org_id = $1 and x.object = $2 and x.record_id = any($3::uuid[])
        and old.org_id = x.org_id and old.object = x.object and old.external_id = x.external_id
        and ($4::text[] is null or x.external_id = any($4::text[]))
      returning x.external_id as id, old.record_id as "from"`,
    [scope.ctx.orgId, object, fromIds, onlyIds ?? null, toId],
  );
  return rows as ExternalIdMove[];
}
