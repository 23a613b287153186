import { and, desc, eq, inArray, lt, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { users } from '../../platform/auth/auth.schema.js';
import { badRequest } from '../../platform/errors/app-error.js';
import { events } from '../../platform/events/event.schema.js';
import type { Services } from '../../platform/http/types.js';
import { STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';

/** Ids of records whose events a record's timeline shows as its own (in the same object). */
export type TimelineSubjects = (scope: TenantScope, object: string, id: string) => Promise<string[]>;
const timelineSubjects = new Map<string, TimelineSubjects>();

/**
 * Lets the module that folds records into one (merges) add the folded records' events to the
 * survivor's timeline, without the timeline depending on it. One entry per `name`.
 */
export function addTimelineSubjects(name: string, subjects: TimelineSubjects): void {
  timelineSubjects.set(name, subjects);
}

export const TimelineEntry = z
  .object({
    id: z.uuid(),
    type: z.string(),
    occurred_at: z.string(),
    actor: z.object({ type: z.string(), id: z.string().nullable(), name: z.string() }),
    subject: z.object({ object: z.string(), id: z.string() }),
    description: z.string().describe('What happened, in words'),
    data: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'TimelineEntry' });
export type TimelineEntryView = z.infer<typeof TimelineEntry>;

const ACTOR_WORDS: Record<string, string> = {
  api_key: 'An API key',
  workflow: 'A workflow',
  system: 'Cairn',
  import: 'An import',
};

function label(object: string): string {
  return STANDARD_OBJECTS[object]?.labelSingular.toLowerCase() ?? object;
}

function fieldLabel(object: string, key: string): string {
  return (
    STANDARD_OBJECTS[object]?.fields.find((f) => f.key === key)?.label.toLowerCase() ??
    key.replaceAll('_', ' ')
  );
}

/** Words for an event: "Ada Admin changed the e-mails and tags of contact Grace Hopper". */
export function describeEvent(
  e: { type: string; subjectObject: string; data: Record<string, unknown> },
  actor: string,
): string {
  const verb = e.type.split('.').slice(1).join('.');
  const name = typeof e.data.name === 'string' && e.data.name ? ` ${e.data.name}` : '';
  const what = `${label(e.subjectObject)}${name}`;
  switch (verb) {
    case 'created':
      return `${actor} created ${what}`;
    case 'updated': {
      const order = STANDARD_OBJECTS[e.subjectObject]?.fields.map((f) => f.key) ?? [];
      const rank = (k: string) => (order.includes(k) ? order.indexOf(k) : order.length);
      const keys = Object.keys((e.data.changes as Record<string, unknown>) ?? {})
        .sort((a, b) => rank(a) - rank(b))
        .map((k) => fieldLabel(e.subjectObject, k));
      const list =
        keys.length > 1 ? `${keys.slice(0, -1).join(', ')} and ${keys.at(-1)}` : (keys[0] ?? 'details');
      return `${actor} changed the ${list} of ${what}`;
    }
    case 'moved':
      return `${actor} moved ${what} from ${String(e.data.from_stage)} to ${String(e.data.to_stage)}`;
    case 'closed':
      return `${actor} closed ${what} as ${String(e.data.status)}${e.data.reason ? ` (${String(e.data.reason)})` : ''}`;
    case 'reopened':
      return `${actor} reopened ${what} in ${String(e.data.to_stage)}`;
    case 'converted':
      return `${actor} converted ${what} into opportunity ${String(e.data.opportunity_title ?? '')}`.trimEnd();
    case 'archived':
      return `${actor} archived ${what}`;
    case 'restored':
      return `${actor} restored ${what}`;
    case 'deleted':
      return `${actor} deleted ${what} for good`;
    case 'company_linked':
      return `${actor} linked ${what} to company ${String(e.data.company_name ?? '')}`.trimEnd();
    case 'company_unlinked':
      return `${actor} removed the link between ${what} and company ${String(e.data.company_name ?? '')}`.trimEnd();
    default:
      return `${actor}: ${e.type.replaceAll('_', ' ')}`;
  }
}

/** An event time as PostgreSQL prints a timestamptz (`2026-01-31 09:15:00.123456+00`), as cursors carry it. */
const EVENT_TIME = /^\d{4,}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:\d{2}){0,2}|Z)?$/;

/**
 * A record's timeline: its own events and those of related records (a company's shows its
 * contacts being linked), newest first. Keyset-paginated: pass `before` = the last entry's cursor.
 */
export async function timelineOf(
  services: Services,
  ctx: TenantContext,
  subject: { object: string; id: string },
  page: { limit: number; cursor?: string | undefined },
): Promise<{ data: TimelineEntryView[]; next_cursor: string | null }> {
  let after: { at: string; id: string } | undefined;
  if (page.cursor) {
    try {
      after = JSON.parse(Buffer.from(page.cursor, 'base64url').toString('utf8'));
      z.object({ at: z.string().regex(EVENT_TIME), id: z.uuid() }).parse(after);
    } catch {
      throw badRequest('The cursor is not one this list gave out', 'querystring.cursor', 'invalid_query');
    }
  }
  const rows = await withTenant(services.database, ctx, async (scope) => {
    // A record's timeline also shows the events of the records folded into it (a merge's survivor).
    const ids = [subject.id];
    for (const more of timelineSubjects.values())
      ids.push(...(await more(scope, subject.object, subject.id)));
    return scope.tx
      .select()
      .from(events)
      .where(
        and(
          eq(events.orgId, ctx.orgId),
          or(
            and(eq(events.subjectObject, subject.object), inArray(events.subjectId, ids)),
            sql`${events.related} && ${`{${ids.map((id) => `${subject.object}:${id}`).join(',')}}`}::text[]`,
          ),
          after
            ? or(
                lt(events.occurredAt, after.at),
                and(eq(events.occurredAt, after.at), lt(events.id, after.id)),
              )
            : undefined,
        ),
      )
      .orderBy(desc(events.occurredAt), desc(events.id))
      .limit(page.limit + 1);
  });
  const more = rows.length > page.limit;
  const shown = rows.slice(0, page.limit);
  const userIds = [
    ...new Set(shown.filter((r) => r.actorType === 'user' && r.actorId).map((r) => r.actorId!)),
  ];
  const names = new Map(
    userIds.length
      ? (
          await services.database.db
            .select({ id: users.id, name: users.name })
            .from(users)
            .where(inArray(users.id, userIds))
        ).map((u) => [u.id, u.name])
      : [],
  );
  const data = shown.map((r) => {
    const actorName =
      r.actorType === 'user'
        ? (names.get(r.actorId ?? '') ?? 'A former member')
        : (ACTOR_WORDS[r.actorType] ?? 'Someone');
    const d = r.data as Record<string, unknown>;
    return {
      id: r.id,
      type: r.type,
      occurred_at: r.occurredAt,
      actor: { type: r.actorType, id: r.actorId, name: actorName },
      subject: { object: r.subjectObject, id: r.subjectId },
      description: describeEvent({ type: r.type, subjectObject: r.subjectObject, data: d }, actorName),
      data: d,
    };
  });
  const last = shown.at(-1);
  return {
    data,
    next_cursor:
      more && last
        ? Buffer.from(JSON.stringify({ at: last.occurredAt, id: last.id })).toString('base64url')
        : null,
  };
}
