import { type TenantContext, withTenant } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { contactTitleSql } from '../../platform/registry/display-name.js';
import { DUPLICATE_SPECS, type DuplicateObject, type DuplicateReason } from './duplicate-keys.js';
import { requestDuplicatesRefresh } from './duplicate-scan.service.js';

export type { DuplicateReason } from './duplicate-keys.js';

/** Records shown per group; `record_count` says how many the group has. */
const RECORDS_PER_GROUP = 50;

export type DuplicateGroup = {
  reason: DuplicateReason;
  /** What they share (the normalized e-mail, E.164 phone, domain or name), or `name ~ name`. */
  key: string;
  record_count: number;
  records: { id: string; name: string; email: string | null; phone: string | null; created_at: string }[];
};

export type DuplicateScanState = {
  /** `queued`: a scan is waiting (the first one is queued when the list is first opened). */
  state: 'queued' | 'running' | 'done';
  /** When the last full scan finished (null before the first). */
  finished_at: string | null;
  /** How long the last full scan took, milliseconds. */
  duration_ms: number | null;
  /** Records changed since, whose groups are being updated (counted up to 10,000). */
  pending_changes: number;
};

export type DuplicatePage = { data: DuplicateGroup[]; next_cursor: string | null; scan: DuplicateScanState };

const RECORD_JSON: Record<DuplicateObject, string> = {
  contact: `json_build_object('id', r.id,
     'name', ${contactTitleSql('r')},
     'email', r.email, 'phone', r.phone, 'created_at', r.created_at)`,
  company: `json_build_object('id', r.id, 'name', r.name, 'email', null, 'phone', r.phone, 'created_at', r.created_at)`,
};

/** A page cursor: the last group's rank and key, base64url JSON. */
const encodeCursor = (rank: number, key: string) =>
  Buffer.from(JSON.stringify([rank, key])).toString('base64url');

function decodeCursor(cursor: string | undefined): [number, string] {
  if (!cursor) return [0, ''];
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      Number.isInteger(value[0]) &&
      typeof value[1] === 'string'
    ) {
      return [value[0] as number, value[1] as string];
    }
  } catch {
    // falls through to the error below
  }
  throw new AppError(400, 'invalid_cursor', 'The cursor is not one this list returned', {
    path: 'query.cursor',
  });
}

/**
 * A page of possible duplicates among active records, strongest reason first (contacts: same
 * e-mail ignoring `+tags`, same phone, same name, similar names with the same last name;
 * companies: same domain, phone or normalized name, similar names), from the pairs the background
 * scan keeps (see duplicate-keys.ts for the rules). Pairs a member dismissed are left out. Opening
 * it the first time queues the tenant's first scan, and `scan` says how current the list is.
 * @param cursor `next_cursor` of the page before
 * @throws 400 `invalid_cursor` at `query.cursor`
 */
export async function findDuplicates(
  services: Services,
  ctx: TenantContext,
  object: DuplicateObject,
  limit: number,
  cursor?: string,
): Promise<DuplicatePage> {
  const [afterRank, afterKey] = decodeCursor(cursor);
  const spec = DUPLICATE_SPECS[object];
  return withTenant(services.database, ctx, async ({ conn }) => {
    const params = [ctx.orgId, object];
    const scanRows = await conn.query<Omit<DuplicateScanState, 'pending_changes'> & { pending: number }>(
      `select s.state, to_json(s.finished_at) #>> '{}' as finished_at, s.duration_ms,
              (select count(*)::int from (select 1 from duplicate_dirty d
                 where d.org_id = $1 and d.object = $2 limit 10000) x) as pending
         from duplicate_scans s where s.org_id = $1 and s.object = $2`,
      params,
    );
    let scanRow = scanRows.rows[0];
    if (!scanRow) {
      await conn.query(
        `insert into duplicate_scans (org_id, object, state) values ($1, $2, 'queued') on conflict do nothing`,
        params,
      );
      await requestDuplicatesRefresh(services, conn, ctx.orgId, object);
      scanRow = { state: 'queued', finished_at: null, duration_ms: null, pending: 0 };
    }
    const scan: DuplicateScanState = {
      state: scanRow.state,
      finished_at: scanRow.finished_at,
      duration_ms: scanRow.duration_ms,
      pending_changes: scanRow.pending,
    };
    // The page's groups, in the pairs' primary-key order; dismissed pairs do not count.
    const groups = await conn.query<{ rank: number; key: string }>(
      `select p.rank, p.key from duplicate_pairs p
        where p.org_id = $1 and p.object = $2 and (p.rank, p.key) > ($3::int, $4::text)
          and not exists (select 1 from duplicate_dismissals d where d.org_id = $1 and d.object = $2
                            and d.record_a = p.record_a and d.record_b = p.record_b)
        group by p.rank, p.key order by p.rank, p.key limit $5`,
      [...params, afterRank, afterKey, limit],
    );
    const last = groups.rows.at(-1);
    const next_cursor = groups.rows.length === limit && last ? encodeCursor(last.rank, last.key) : null;
    if (groups.rows.length === 0) return { data: [], next_cursor, scan };
    // Their records that are still active (a change not yet refreshed may have archived one).
    const { rows } = await conn.query<DuplicateGroup>(
      `with g as (select * from unnest($3::int[], $4::text[]) as g(rank, key)),
       pairs as (
         select p.rank, p.reason, p.key, p.record_a, p.record_b from g
           join duplicate_pairs p on p.org_id = $1 and p.object = $2 and p.rank = g.rank and p.key = g.key
          where not exists (select 1 from duplicate_dismissals d where d.org_id = $1 and d.object = $2
                              and d.record_a = p.record_a and d.record_b = p.record_b)),
       members as (
         select rank, reason, key, record_a as id from pairs union select rank, reason, key, record_b from pairs)
       select m.reason, m.key, count(*)::int as record_count,
              (array_agg(${RECORD_JSON[object]} order by r.created_at, r.id))[1:${RECORDS_PER_GROUP}] as records
         from members m join ${spec.table} r on r.org_id = $1 and r.id = m.id and r.archived_at is null
        group by m.rank, m.reason, m.key having count(*) > 1
        order by m.rank, m.key`,
      [...params, groups.rows.map((g) => g.rank), groups.rows.map((g) => g.key)],
    );
    return { data: rows, next_cursor, scan };
  });
}

/**
 * "Not a duplicate": every pair among `ids` (records of `object`) is remembered as dismissed and
 * never shown again, whatever key they share. Merging is the other way out of the list.
 * @throws 404 `not_found` when an id is not a record of this object in the tenant (at `body.ids[i]`)
 */
export async function dismissDuplicates(
  services: Services,
  ctx: TenantContext,
  object: DuplicateObject,
  ids: string[],
): Promise<{ dismissed_pairs: number }> {
  const unique = [...new Set(ids)];
  if (unique.length < 2) {
    throw new AppError(400, 'validation_failed', 'Name at least two different records', { path: 'body.ids' });
  }
  const spec = DUPLICATE_SPECS[object];
  return withTenant(services.database, ctx, async ({ conn }) => {
    const found = await conn.query<{ id: string }>(
      `select id from ${spec.table} where org_id = $1 and id = any($2::uuid[])`,
      [ctx.orgId, unique],
    );
    const known = new Set(found.rows.map((r) => r.id));
    const missing = ids.findIndex((id) => !known.has(id));
    if (missing >= 0) {
      const what = object === 'contact' ? 'Contact' : 'Company';
      throw new AppError(404, 'not_found', `${what} ${ids[missing]} was not found`, {
        path: `body.ids[${missing}]`,
      });
    }
    const { rows } = await conn.query(
      `insert into duplicate_dismissals (org_id, object, record_a, record_b, dismissed_by)
       select $1, $2, a, b, $4 from unnest($3::uuid[]) a, unnest($3::uuid[]) b where a < b
       on conflict do nothing returning record_a`,
      [ctx.orgId, object, unique, ctx.actor.type === 'user' ? ctx.actor.id : null],
    );
    return { dismissed_pairs: rows.length };
  });
}

/**
 * Asks for a full scan of the tenant's records of `object` (after bulk changes made outside
 * Cairn, or to see a scan's figures again). It runs in the background; the list's `scan` shows it.
 */
export async function requestDuplicateScan(
  services: Services,
  ctx: TenantContext,
  object: DuplicateObject,
): Promise<{ scan: DuplicateScanState }> {
  return withTenant(services.database, ctx, async ({ conn }) => {
    const { rows } = await conn.query<Omit<DuplicateScanState, 'pending_changes'>>(
      `insert into duplicate_scans (org_id, object, state) values ($1, $2, 'queued')
       on conflict (org_id, object) do update
         set state = case when duplicate_scans.state = 'running' then 'running' else 'queued' end,
             requested_at = now()
       returning state, to_json(finished_at) #>> '{}' as finished_at, duration_ms`,
      [ctx.orgId, object],
    );
    await requestDuplicatesRefresh(services, conn, ctx.orgId, object);
    return { scan: { ...rows[0]!, pending_changes: 0 } };
  });
}
