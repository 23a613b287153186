import { type TenantContext, withTenant } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';

/** Why records look like one: the same e-mail, phone or domain, the same name, or a similar one. */
export type DuplicateReason = 'email' | 'phone' | 'domain' | 'name' | 'similar_name';

export type DuplicateGroup = {
  reason: DuplicateReason;
  /** What they share (the normalized e-mail, E.164 phone, domain or name). */
  key: string;
  records: { id: string; name: string; email: string | null; phone: string | null; created_at: string }[];
};

/** Names at least this similar (pg_trgm `similarity`, 0..1) are shown as possible duplicates. */
export const SIMILAR_NAME_THRESHOLD = 0.6;

// Each query groups active records by one key; similar names are compared only within a block
// (same last name, or the same first three letters of a company name), so the work grows with
// the tenant's size, not its square. Names are normalized in SQL: lower-cased, punctuation
// dropped, and for companies legal suffixes (Inc, LLC, Ltd, GmbH...) removed.
const CONTACT_SQL = `
with active as (
  select id, first_name, last_name, email, phone, phones, created_at,
         lower(trim(concat_ws(' ', first_name, last_name))) as full_name
    from contacts where org_id = $1 and archived_at is null),
groups as (
  select 'email' as reason, regexp_replace(e.email, '\\+[^@]*@', '@') as key, array_agg(distinct e.contact_id) as ids
    from contact_emails e where e.org_id = $1 and e.active
   group by 2 having count(distinct e.contact_id) > 1
  union all
  select 'phone', p.e164, array_agg(distinct a.id)
    from active a cross join lateral jsonb_to_recordset(a.phones) as p(e164 text)
   where p.e164 is not null group by 2 having count(distinct a.id) > 1
  union all
  select 'name', full_name, array_agg(id) from active where full_name <> '' group by 2 having count(*) > 1
  union all
  select 'similar_name', a.full_name || ' ~ ' || b.full_name, array[a.id, b.id]
    from active a join active b on lower(a.last_name) = lower(b.last_name) and a.id < b.id
   where a.full_name <> b.full_name and similarity(a.full_name, b.full_name) >= $3)
select g.reason, g.key, json_agg(json_build_object('id', a.id,
         'name', coalesce(nullif(concat_ws(' ', a.first_name, a.last_name), ''), a.email, a.phone, 'Unnamed contact'),
         'email', a.email, 'phone', a.phone, 'created_at', a.created_at) order by a.created_at) as records
  from groups g join active a on a.id = any(g.ids)
 group by g.reason, g.key
 order by array_position(array['email','phone','name','similar_name'], g.reason), g.key
 limit $2`;

const COMPANY_NAME = `trim(regexp_replace(regexp_replace(lower(name), '[^a-z0-9 ]+', ' ', 'g'),
  '\\m(inc|llc|ltd|limited|corp|corporation|co|company|gmbh|sa|ag|plc|group)\\M', '', 'g'))`;
const COMPANY_SQL = `
with active as (
  select id, name, domain, phone, created_at, ${COMPANY_NAME} as norm
    from companies where org_id = $1 and archived_at is null),
groups as (
  select 'domain' as reason, domain as key, array_agg(id) as ids from active where domain is not null
   group by 2 having count(*) > 1
  union all
  select 'phone', phone, array_agg(id) from active where phone is not null group by 2 having count(*) > 1
  union all
  select 'name', norm, array_agg(id) from active where norm <> '' group by 2 having count(*) > 1
  union all
  select 'similar_name', a.norm || ' ~ ' || b.norm, array[a.id, b.id]
    from active a join active b on left(a.norm, 3) = left(b.norm, 3) and a.id < b.id
   where a.norm <> b.norm and similarity(a.norm, b.norm) >= $3)
select g.reason, g.key, json_agg(json_build_object('id', a.id, 'name', a.name, 'email', null,
         'phone', a.phone, 'created_at', a.created_at) order by a.created_at) as records
  from groups g join active a on a.id = any(g.ids)
 group by g.reason, g.key
 order by array_position(array['domain','phone','name','similar_name'], g.reason), g.key
 limit $2`;

/**
 * Possible duplicates among active contacts (same e-mail ignoring `+tags`, same phone in E.164,
 * same name, similar names with the same last name) or companies (same domain, phone or
 * normalized name, similar names), strongest reason first, at most `limit` groups. A record
 * may appear in several groups.
 */
export async function findDuplicates(
  services: Services,
  ctx: TenantContext,
  object: 'contact' | 'company',
  limit: number,
): Promise<{ data: DuplicateGroup[] }> {
  return withTenant(services.database, ctx, async (scope) => {
    const { rows } = await scope.conn.query(object === 'contact' ? CONTACT_SQL : COMPANY_SQL, [
      ctx.orgId,
      limit,
      SIMILAR_NAME_THRESHOLD,
    ]);
    return { data: rows as DuplicateGroup[] };
  });
}
