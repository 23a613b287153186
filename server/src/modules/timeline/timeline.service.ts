import { and, desc, eq, inArray, lt, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { allows, redactEventData } from '../../platform/access/access-profile.js';
import { users } from '../../platform/auth/auth.schema.js';
import { badRequest } from '../../platform/errors/app-error.js';
import { events } from '../../platform/events/event.schema.js';
import { eventDefinition } from '../../platform/events/event-catalogue.js';
import type { Services } from '../../platform/http/types.js';
import { cachedObjectDef, customObjectDefs } from '../../platform/registry/registry.service.js';
import type { ObjectDef } from '../../platform/registry/registry.types.js';
import { STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';

/** Ids of records whose events a record's timeline shows as its own (in the same object). */
/**
 * Names of actors that are not users (a workflow's name), by actor type: a module that acts under
 * its own actor type (workflows) registers how its ids are named, read in the timeline's transaction.
 */
export type ActorNames = (scope: TenantScope, ids: string[]) => Promise<Map<string, string>>;
const actorNames = new Map<string, ActorNames>();

/** Registers how actors of `type` are named on timelines (`Workflow “Lead follow-up”`). */
export function addActorNames(type: string, names: ActorNames): void {
  actorNames.set(type, names);
}

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

/**
 * The registry entries the timeline names objects and fields from, by object key: the tenant's
 * custom objects (issue 21) and standard objects with the tenant's custom fields. An object not
 * here is named from the standard registry, or by its key in words.
 */
export type ObjectsByKey = Record<string, ObjectDef | undefined>;

const defOf = (object: string, defs: ObjectsByKey) => defs[object] ?? STANDARD_OBJECTS[object];

function label(object: string, defs: ObjectsByKey = {}): string {
  // A custom object by its label, or its key in words: `intended_parent` -> "intended parent".
  return defOf(object, defs)?.labelSingular.toLowerCase() ?? object.replaceAll('_', ' ');
}

function fieldLabel(object: string, key: string, defs: ObjectsByKey): string {
  return (
    defOf(object, defs)
      ?.fields.find((f) => f.key === key)
      ?.label.toLowerCase() ?? key.replaceAll('_', ' ')
  );
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The changed fields of an `*.updated` event's `changes`, with the `custom` jsonb (the tenant's
 * custom fields of a standard object, recorded as one change) opened into the keys that changed.
 */
export function changedFieldKeys(changes: Record<string, unknown>): string[] {
  return Object.entries(changes).flatMap(([key, change]) => {
    if (key !== 'custom' || !isPlainObject(change)) return [key];
    const before = isPlainObject(change.before) ? change.before : {};
    const after = isPlainObject(change.after) ? change.after : {};
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
      (k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]),
    );
    return keys;
  });
}

/** "e-mails, phones and tags": the labels of `keys` of `object`, in the object's field order. */
function fieldList(object: string, keys: readonly string[], defs: ObjectsByKey = {}): string {
  const order = defOf(object, defs)?.fields.map((f) => f.key) ?? [];
  const rank = (k: string) => (order.includes(k) ? order.indexOf(k) : order.length);
  const labels = [...new Set(keys)].sort((a, b) => rank(a) - rank(b)).map((k) => fieldLabel(object, k, defs));
  return labels.length > 1
    ? `${labels.slice(0, -1).join(', ')} and ${labels.at(-1)}`
    : (labels[0] ?? 'details');
}

const capitalized = (words: string) => words.charAt(0).toUpperCase() + words.slice(1);

/**
 * Words for an event the catalogue cannot describe (its type is no longer catalogued, or an older
 * version stored its data in another shape), from the verb of its type: "Ada completed task X".
 */
function fallbackWords(type: string, actor: string, what: string): string {
  const verb = (type.split('.')[1] ?? '').replaceAll('_', ' ');
  return /^[a-z]+ed$/.test(verb) ? `${actor} ${verb} ${what}` : `${actor} made a change to ${what}`;
}

/**
 * Words for an event, from its definition in the event catalogue: "Ada Admin changed the e-mails
 * and tags of contact Grace Hopper", always a sentence (capitalized, never the raw type).
 * Custom fields are named by their labels when `defs` holds the subject's object.
 */
export function describeEvent(
  e: { type: string; subjectObject: string; data: Record<string, unknown> },
  actor: string,
  /** The tenant's registry entries (see `ObjectsByKey`); without them, standard labels and keys in words. */
  defs: ObjectsByKey = {},
): string {
  const name = typeof e.data.name === 'string' && e.data.name ? ` ${e.data.name}` : '';
  const what = `${label(e.subjectObject, defs)}${name}`;
  const definition = eventDefinition(e.type);
  const parsed = definition?.data.safeParse(e.data);
  if (!definition || !parsed?.success) return capitalized(fallbackWords(e.type, actor, what));
  return capitalized(
    definition.describe({
      actor,
      what,
      data: parsed.data,
      fields: (keys) =>
        fieldList(
          e.subjectObject,
          keys.includes('custom') && isPlainObject(e.data.changes) ? changedFieldKeys(e.data.changes) : keys,
          defs,
        ),
    }),
  );
}

type EventRow = typeof events.$inferSelect;

/**
 * The registry entries naming the objects `rows` are about: the tenant's custom objects and the
 * standard objects with the tenant's custom fields (a change of a custom field is named by its label).
 */
async function labelsFor(scope: TenantScope, rows: EventRow[]): Promise<ObjectsByKey> {
  const keys = [...new Set(rows.map((r) => r.subjectObject))];
  const custom: ObjectsByKey = {};
  const customKeys = keys.filter((k) => !STANDARD_OBJECTS[k]);
  if (customKeys.length)
    for (const def of await customObjectDefs(scope.tx, scope.ctx.orgId, customKeys)) custom[def.key] = def;
  for (const key of keys.filter((k) => STANDARD_OBJECTS[k] && !STANDARD_OBJECTS[k].activity))
    custom[key] = await cachedObjectDef(scope.tx, scope.ctx.orgId, key);
  return custom;
}

/** Timeline entries of event rows: the actors' current names and each event in words. */
/** The names of the actors of `rows` that are not members (workflows), by `type:id`. */
async function actorNamesFor(scope: TenantScope, rows: EventRow[]): Promise<Map<string, string>> {
  const named = new Map<string, string>();
  for (const [type, names] of actorNames) {
    const ids = [...new Set(rows.filter((r) => r.actorType === type && r.actorId).map((r) => r.actorId!))];
    if (ids.length > 0) for (const [id, name] of await names(scope, ids)) named.set(`${type}:${id}`, name);
  }
  return named;
}

async function entriesOf(
  services: Services,
  all: EventRow[],
  custom: ObjectsByKey,
  ctx: TenantContext,
  named: Map<string, string>,
): Promise<TimelineEntryView[]> {
  const rows = all.filter((r) => allows(ctx, r.subjectObject, 'read'));
  const userIds = [
    ...new Set(rows.filter((r) => r.actorType === 'user' && r.actorId).map((r) => r.actorId!)),
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
  return rows.map((r) => {
    const actorName =
      r.actorType === 'user'
        ? (names.get(r.actorId ?? '') ?? 'A former member')
        : (named.get(`${r.actorType}:${r.actorId}`) ?? ACTOR_WORDS[r.actorType] ?? 'Someone');
    const d = redactEventData(ctx, r.subjectObject, r.data as Record<string, unknown>);
    return {
      id: r.id,
      type: r.type,
      occurred_at: r.occurredAt,
      actor: { type: r.actorType, id: r.actorId, name: actorName },
      subject: { object: r.subjectObject, id: r.subjectId },
      description: describeEvent(
        { type: r.type, subjectObject: r.subjectObject, data: d },
        actorName,
        custom,
      ),
      data: d,
    };
  });
}

/**
 * The organization's latest `limit` events, newest first, as timeline entries (the home page's
 * "recent activity"), read inside the caller's tenant scope; names are looked up after it.
 */
export async function recentActivityIn(scope: TenantScope, limit: number) {
  const rows = await scope.tx
    .select()
    .from(events)
    .where(eq(events.orgId, scope.ctx.orgId))
    .orderBy(desc(events.occurredAt), desc(events.id))
    .limit(limit);
  return {
    rows,
    custom: await labelsFor(scope, rows),
    named: await actorNamesFor(scope, rows),
    ctx: scope.ctx,
  };
}

/** Words for what `recentActivityIn` read (after its transaction: user names come from outside the tenant). */
export const describeActivity = (services: Services, read: Awaited<ReturnType<typeof recentActivityIn>>) =>
  entriesOf(services, read.rows, read.custom, read.ctx, read.named);

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
  const result = await withTenant(
    services.database,
    ctx,
    async (scope) => {
      // A record's timeline also shows the events of the records folded into it (a merge's survivor).
      const ids = [subject.id];
      for (const more of timelineSubjects.values())
        ids.push(...(await more(scope, subject.object, subject.id)));
      const found = await scope.tx
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
      return { found, custom: await labelsFor(scope, found), named: await actorNamesFor(scope, found) };
    },
    { readOnly: true },
  );
  const { found: rows, custom, named } = result;
  const more = rows.length > page.limit;
  const shown = rows.slice(0, page.limit);
  // The caller's access profile (issue 22): events of objects it may not read are left out, and
  // the values of fields it may not read redacted (the entry still says that they changed).
  const data = await entriesOf(services, shown, custom, ctx, named);
  const last = shown.at(-1);
  return {
    data,
    next_cursor:
      more && last
        ? Buffer.from(JSON.stringify({ at: last.occurredAt, id: last.id })).toString('base64url')
        : null,
  };
}
