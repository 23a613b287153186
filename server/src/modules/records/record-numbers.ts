import type { TenantScope } from '../../db/tenant.js';

/**
 * Record numbers (issue 21, `CASE-00042`): `count` consecutive numbers for new records of a custom
 * object, taken in the creating transaction. The counter row is created or advanced by one
 * `insert ... on conflict do update`, which keeps it locked until the transaction ends: concurrent
 * creates wait for each other and get consecutive numbers, a rolled-back create gives its numbers
 * back (no gap), and the counter never goes down, so a deleted record's number is never reused.
 * @returns the numbers, ascending
 */
export async function takeRecordNumbers(
  scope: TenantScope,
  objectId: string,
  count: number,
): Promise<number[]> {
  if (count <= 0) return [];
  const { rows } = await scope.conn.query<{ last: string | number }>(
    `insert into record_number_counters (org_id, object_id, last_value) values ($1, $2, $3)
     on conflict (org_id, object_id) do update set last_value = record_number_counters.last_value + excluded.last_value
     returning last_value as last`,
    [scope.ctx.orgId, objectId, count],
  );
  const last = Number(rows[0]!.last);
  return Array.from({ length: count }, (_, i) => last - count + 1 + i);
}
