import { sql } from 'drizzle-orm';
import type { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, badRequest, notFound } from '../../platform/errors/app-error.js';
import { emitEvent, emitEvents } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { compileListQuery } from '../../platform/query/query.compiler.js';
import { cachedObjectDef } from '../../platform/registry/registry.service.js';
import { cancelQueuedMessagesIn } from '../conversations/send.service.js';
import { getOrganizationSettings } from '../organizations/organization-settings.service.js';
import type { EnrollInput, EnrollmentListQuery } from './sequence.dto.js';
import { sequenceIn, stepsOf } from './sequence.service.js';

/** Contacts one enrollment request takes at most (a filter matching more is capped, and says so). */
export const ENROLL_CAP = 10_000;

/** The queue of sequence ticks: one job per organization and minute runs its due enrollments. */
export const SEQUENCE_TICK_QUEUE = 'sequence.tick';
export type TickJob = { org_id: string };

/** Arms a tick of the organization at `at` (now by default), in the caller's transaction. */
export async function armTick(scope: TenantScope, services: Services, at?: Date): Promise<void> {
  const when = at && at.getTime() > Date.now() ? at : undefined;
  const minute = Math.floor((when ?? new Date()).getTime() / 60_000);
  await services.jobs.send(scope.conn, SEQUENCE_TICK_QUEUE, { org_id: scope.ctx.orgId } satisfies TickJob, {
    singletonKey: `sequence-tick:${scope.ctx.orgId}:${minute}`,
    ...(when ? { startAfter: when } : {}),
  });
}

const rowsOf = <T>(result: unknown) =>
  (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];

/**
 * Enrolls contacts in a sequence: a list of ids or every active contact a query-language filter
 * matches (the caller's record scope and field rights apply), at most `limit` (10,000). A contact
 * already active or paused in this sequence, or (unless the sequence allows it) in another one,
 * is skipped. Each gets the zone of its custom field `time_zone` when it is a valid IANA zone,
 * else the sequence's, else the organization's; and an A/B variant at random. With `preview`
 * nothing is written: the counts say what would happen.
 * @throws 404 sequence; 400 `invalid_query` for a bad filter
 */
export async function enroll(
  services: Services,
  ctx: TenantContext,
  sequenceId: string,
  input: z.infer<typeof EnrollInput>,
) {
  // Organizations are global (better-auth's table): read before the tenant transaction.
  const orgZone = (await getOrganizationSettings(services, ctx)).time_zone;
  return withTenant(services.database, ctx, (scope) => enrollIn(scope, services, sequenceId, input, orgZone));
}

/**
 * `enroll` in the caller's transaction (a workflow's `enroll_in_sequence` step), with the
 * organization's time zone read by the caller. @throws as `enroll`
 */
export async function enrollIn(
  scope: TenantScope,
  services: Services,
  sequenceId: string,
  input: z.infer<typeof EnrollInput>,
  orgZone: string | null | undefined,
) {
  const ctx = scope.ctx;
  const sequence = await sequenceIn(scope, sequenceId);
  if (input.channel_id) {
    // Who sends (issue 25): one of the organization's own e-mail mailboxes, else 404.
    const { rows } = await scope.conn.query<{ kind: string }>(
      'select kind from channels where org_id = $1 and id = $2',
      [ctx.orgId, input.channel_id],
    );
    if (!rows[0] || !['email', 'local'].includes(rows[0].kind))
      throw new AppError(404, 'not_found', `E-mail channel ${input.channel_id} was not found`, {
        path: 'body.channel_id',
      });
  }
  const steps = await stepsOf(scope, sequenceId);
  const variants = 1 + Math.max(0, ...steps.map((s) => s.settings.variants?.length ?? 0));
  const def = await cachedObjectDef(scope.tx, ctx.orgId, 'contact');
  const compiled = compileListQuery(
    def,
    { ...(input.filter ? { filter: input.filter } : {}), limit: 1 },
    { table: 'c', tenant: ctx },
  );
  const cap = Math.min(input.limit ?? ENROLL_CAP, ENROLL_CAP);
  const ids = input.contact_ids ? sql`and c.id = any(${`{${input.contact_ids.join(',')}}`}::uuid[])` : sql``;
  const where = sql`where c.org_id = ${ctx.orgId} and c.archived_at is null and ${compiled.where} ${ids}`;
  const matching = sql`from contacts c ${where}`;
  const busy = sql`exists (select 1 from sequence_enrollments e where e.org_id = ${ctx.orgId}
    and e.contact_id = c.id and e.status in ('active', 'paused')
    and (e.sequence_id = ${sequenceId}::uuid or ${!sequence.settings.allow_multiple}))`;
  const [counts] = rowsOf<{ matched: number; free: number }>(
    await scope.tx.execute(
      sql`select count(*)::int as matched, count(*) filter (where not ${busy})::int as free ${matching}`,
    ),
  );
  const matched = counts!.matched;
  const free = counts!.free;
  if (input.preview)
    return { matched, enrolled: 0, skipped: matched - Math.min(free, cap), capped: free > cap };
  const zone = sequence.settings.time_zone ?? orgZone ?? 'UTC';
  const startAt = input.start_at ? new Date(input.start_at) : new Date();
  const enrolledBy = ctx.actor.id;
  const inserted = rowsOf<{ id: string; contact_id: string; name: string | null }>(
    await scope.tx.execute(sql`
      with zones as materialized (select distinct name from pg_timezone_names),
      ins as (
        insert into sequence_enrollments
          (org_id, sequence_id, contact_id, owner_id, channel_id, status, step_index, next_run_at, time_zone, variant, enrolled_by)
        select ${ctx.orgId}, ${sequenceId}::uuid, c.id, coalesce(${input.owner_id ?? null}::text, c.owner_id::text),
               ${input.channel_id ?? null}::uuid,
               'active', 0, ${startAt.toISOString()}::timestamptz,
               coalesce(z.name, ${zone}),
               floor(random() * ${variants})::int, ${enrolledBy}
          from contacts c left join zones z on z.name = c.custom->>'time_zone'
          ${where} and not ${busy}
         order by c.id
         limit ${cap}
        on conflict do nothing
        returning id, contact_id)
      select ins.id, ins.contact_id, nullif(trim(concat_ws(' ', c.first_name, c.last_name)), '') as name
        from ins join contacts c on c.org_id = ${ctx.orgId} and c.id = ins.contact_id`),
  );
  await emitEvents(
    scope,
    services.jobs,
    inserted.map((r) => ({
      type: 'sequence.enrolled' as const,
      subject: { object: 'contact', id: r.contact_id },
      related: [{ object: 'sequence', id: sequenceId }],
      data: { name: r.name, sequence_id: sequenceId, sequence_name: sequence.name, enrollment_id: r.id },
    })),
  );
  if (inserted.length) await armTick(scope, services, startAt);
  return { matched, enrolled: inserted.length, skipped: matched - inserted.length, capped: free > cap };
}

type EnrollmentRow = {
  id: string;
  sequence_id: string;
  contact_id: string;
  name: string | null;
  email: string | null;
  owner_id: string | null;
  channel_id: string | null;
  status: string;
  exit_reason: string | null;
  step_index: number;
  next_run_at: string | null;
  time_zone: string;
  variant: number;
  enrolled_at: string;
  ended_at: string | null;
};

const ENROLLMENT_SELECT = `select e.id, e.sequence_id, e.contact_id,
    nullif(trim(concat_ws(' ', c.first_name, c.last_name)), '') as name, c.email, e.owner_id, e.channel_id, e.status,
    e.exit_reason, e.step_index, e.next_run_at, e.time_zone, e.variant, e.enrolled_at, e.ended_at
  from sequence_enrollments e left join contacts c on c.org_id = e.org_id and c.id = e.contact_id`;

const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());
const enrollmentView = (r: EnrollmentRow) => ({
  id: r.id,
  sequence_id: r.sequence_id,
  contact: { id: r.contact_id, name: r.name, email: r.email },
  owner_id: r.owner_id,
  channel_id: r.channel_id,
  status: r.status,
  exit_reason: r.exit_reason,
  step_index: r.step_index,
  next_run_at: iso(r.next_run_at),
  time_zone: r.time_zone,
  variant: r.variant,
  enrolled_at: iso(r.enrolled_at)!,
  ended_at: iso(r.ended_at),
});

/** A keyset cursor of the enrollments list: the last row's enrolled_at (to the microsecond) and id. */
const enrollmentCursorOf = (r: { enrolled_key: string; id: string }) =>
  Buffer.from(`${r.enrolled_key}|${r.id}`).toString('base64url');
const CURSOR = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)\|([0-9a-f-]{36})$/;
function enrollmentCursor(cursor: string | undefined): { at: string; id: string } | null {
  if (cursor === undefined) return null;
  const m = CURSOR.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m) throw badRequest('The cursor is malformed; start again from the first page', 'query.cursor');
  return { at: m[1]!, id: m[2]! };
}

/** A sequence's enrollments, newest first (enrolled_at, then id), keyset-paginated. */
export async function listEnrollments(
  services: Services,
  ctx: TenantContext,
  sequenceId: string,
  query: z.infer<typeof EnrollmentListQuery>,
) {
  const after = enrollmentCursor(query.cursor);
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      await sequenceIn(scope, sequenceId);
      const limit = query.limit ?? 50;
      const { rows } = await scope.conn.query<EnrollmentRow & { enrolled_key: string }>(
        `select * from (${ENROLLMENT_SELECT.replace(
          'select ',
          `select to_char(e.enrolled_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as enrolled_key, `,
        )}
          where e.org_id = $1 and e.sequence_id = $2 and ($3::text is null or e.status = $3)
            and ($4::timestamptz is null or (e.enrolled_at, e.id) < ($4::timestamptz, $5::uuid))
          order by e.enrolled_at desc, e.id desc limit $6) page`,
        [ctx.orgId, sequenceId, query.status ?? null, after?.at ?? null, after?.id ?? null, limit + 1],
      );
      const page = rows.slice(0, limit);
      return {
        data: page.map(enrollmentView),
        next_cursor: rows.length > limit ? enrollmentCursorOf(page.at(-1)!) : null,
      };
    },
    { readOnly: true },
  );
}

async function enrollmentIn(scope: TenantScope, id: string): Promise<EnrollmentRow> {
  const { rows } = await scope.conn.query<EnrollmentRow>(
    `${ENROLLMENT_SELECT} where e.org_id = $1 and e.id = $2`,
    [scope.ctx.orgId, id],
  );
  if (!rows[0]) throw notFound('Enrollment', id);
  return rows[0];
}

/**
 * Ends enrollments in the caller's transaction (an exit rule, a removal, the last step): `exited`
 * with `reason` (or `finished`), the last message step's outcome set, any message of theirs still
 * queued cancelled, a `sequence.ended` event each.
 * @returns how many ended
 */
export async function endEnrollmentsIn(
  scope: TenantScope,
  services: Services,
  where: { ids?: string[]; contactIds?: string[]; sequenceIds?: string[] },
  reason: string,
): Promise<number> {
  const finished = reason === 'finished';
  const { rows } = await scope.conn.query<{
    id: string;
    contact_id: string;
    sequence_id: string;
    sequence_name: string;
    name: string | null;
  }>(
    `with ended as (
       update sequence_enrollments e
          set status = $2, exit_reason = $3, ended_at = now(), next_run_at = null, updated_at = now()
        where e.org_id = $1 and e.status in ('active', 'paused')
          and ($4::uuid[] is null or e.id = any($4)) and ($5::uuid[] is null or e.contact_id = any($5))
          and ($6::uuid[] is null or e.sequence_id = any($6))
        returning e.id, e.contact_id, e.sequence_id)
     select ended.*, s.name as sequence_name, nullif(trim(concat_ws(' ', c.first_name, c.last_name)), '') as name
       from ended join sequences s on s.org_id = $1 and s.id = ended.sequence_id
       left join contacts c on c.org_id = $1 and c.id = ended.contact_id`,
    [
      scope.ctx.orgId,
      finished ? 'finished' : 'exited',
      finished ? null : reason,
      where.ids ?? null,
      where.contactIds ?? null,
      where.sequenceIds ?? null,
    ],
  );
  if (rows.length === 0) return 0;
  const ids = rows.map((r) => r.id);
  if (!finished) {
    // The outcome belongs to the last message the contact got from the sequence.
    await scope.conn.query(
      `update sequence_step_runs r set outcome = $3
        where r.org_id = $1 and r.id in (
          select distinct on (enrollment_id) id from sequence_step_runs
           where org_id = $1 and enrollment_id = any($2::uuid[]) and message_id is not null
           order by enrollment_id, created_at desc)`,
      [scope.ctx.orgId, ids, reason],
    );
    const { rows: queued } = await scope.conn.query<{ message_id: string }>(
      `select message_id from sequence_step_runs where org_id = $1 and enrollment_id = any($2::uuid[]) and message_id is not null`,
      [scope.ctx.orgId, ids],
    );
    await cancelQueuedMessagesIn(
      scope,
      queued.map((q) => q.message_id),
      `The sequence enrollment ended (${reason})`,
    );
  }
  await emitEvents(
    scope,
    services.jobs,
    rows.map((r) => ({
      type: 'sequence.ended' as const,
      subject: { object: 'contact', id: r.contact_id },
      related: [{ object: 'sequence', id: r.sequence_id }],
      data: {
        name: r.name,
        sequence_id: r.sequence_id,
        sequence_name: r.sequence_name,
        enrollment_id: r.id,
        reason,
      },
    })),
  );
  return rows.length;
}

/**
 * Pauses, resumes, finishes or removes one enrollment.
 * @throws 404; 409 `invalid_state` when it is not active (pause, finish, remove) or paused (resume)
 */
export async function changeEnrollment(
  services: Services,
  ctx: TenantContext,
  id: string,
  action: 'pause' | 'resume' | 'finish' | 'remove',
) {
  return withTenant(services.database, ctx, async (scope) => {
    const e = await enrollmentIn(scope, id);
    const allowed = action === 'resume' ? ['paused'] : action === 'pause' ? ['active'] : ['active', 'paused'];
    if (!allowed.includes(e.status))
      throw new AppError(409, 'invalid_state', `The enrollment is ${e.status}: it cannot be ${action}d`);
    if (action === 'finish' || action === 'remove') {
      await endEnrollmentsIn(scope, services, { ids: [id] }, action === 'finish' ? 'manual' : 'removed');
    } else {
      await scope.conn.query(
        `update sequence_enrollments set status = $3, updated_at = now(),
                next_run_at = case when $3 = 'active' then greatest(coalesce(next_run_at, now()), now()) else next_run_at end
          where org_id = $1 and id = $2`,
        [ctx.orgId, id, action === 'pause' ? 'paused' : 'active'],
      );
      const { rows } = await scope.conn.query<{ name: string }>(
        'select name from sequences where org_id = $1 and id = $2',
        [ctx.orgId, e.sequence_id],
      );
      await emitEvent(scope, services.jobs, {
        type: 'sequence.paused',
        subject: { object: 'contact', id: e.contact_id },
        related: [{ object: 'sequence', id: e.sequence_id }],
        data: {
          name: e.name,
          sequence_id: e.sequence_id,
          sequence_name: rows[0]!.name,
          enrollment_id: id,
          reason: action === 'pause' ? 'paused' : 'resumed',
        },
      });
      if (action === 'resume') await armTick(scope, services);
    }
    return enrollmentView(await enrollmentIn(scope, id));
  });
}
