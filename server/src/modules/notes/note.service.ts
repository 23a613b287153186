import { and, eq, getTableColumns, inArray, sql } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, badRequest, forbidden, notFound } from '../../platform/errors/app-error.js';
import { emitEvent, emitEvents } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import {
  type CursorValue,
  decodeCursor,
  encodeCursor,
  keysetCondition,
  orderByOf,
  type SortPart,
} from '../../platform/query/query.cursor.js';
import { recordTitlesIn } from '../../platform/registry/record-lookup.js';
import { assertLinkable, findRecord, type RecordRefValue } from '../tasks/linked-record.service.js';
import type { NoteCreateInput, NoteListQueryInput, NoteView } from './note.dto.js';
import { notes } from './note.schema.js';
import { mentionsIn, sanitizeNote } from './note-html.util.js';

type NoteRow = typeof notes.$inferSelect;

/** Characters of a note's text that name it in events and timelines. */
const NAME_LENGTH = 80;

/** Newest first (the keyset). */
const ORDER: SortPart[] = [
  { key: 'created_at', expr: sql`${notes.createdAt}`, direction: 'desc', kind: 'timestamptz' },
  { key: 'id', expr: sql`${notes.id}`, direction: 'desc', kind: 'uuid' },
];

const iso = (value: string) => new Date(value).toISOString();

function noteView(r: NoteRow): NoteView {
  return {
    id: r.id,
    record: { object: r.linkedObject, id: r.linkedId } as RecordRefValue,
    body_html: r.bodyHtml,
    body_text: r.bodyText,
    author_id: r.authorId,
    kind: r.kind,
    occurred_at: iso(r.occurredAt ?? r.createdAt),
    outcome: r.outcome,
    duration_minutes: r.durationMinutes,
    related: r.related.flatMap((ref) => {
      const [object, id] = ref.split(':');
      return object && id ? [{ object, id } as RecordRefValue] : [];
    }),
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt),
  };
}

/** The name a note goes by in events and timelines: its text on one line, at most `NAME_LENGTH` characters. */
export const nameOf = (text: string) => text.replace(/\s+/g, ' ').slice(0, NAME_LENGTH);
const recordOf = (r: NoteRow) => ({ object: r.linkedObject, id: r.linkedId });
/** The records a note's events concern: its record and the others it was logged on. */
const recordsOf = (r: NoteRow) => [
  recordOf(r),
  ...r.related.flatMap((ref) => {
    const [object, id] = ref.split(':');
    return object && id ? [{ object, id }] : [];
  }),
];

async function loadRow(scope: TenantScope, id: string, forUpdate = false): Promise<NoteRow> {
  const query = scope.tx
    .select()
    .from(notes)
    .where(and(eq(notes.orgId, scope.ctx.orgId), eq(notes.id, id)));
  const [row] = forUpdate ? await query.for('update') : await query;
  if (!row) throw notFound('Note', id);
  return row;
}

/**
 * Adds a note to a record: the body is sanitized (see `sanitizeNote`), the author is the caller.
 * Emits `note.created` ({name: its first 80 characters}) on the record's timeline.
 * @throws 400 at `body.body` (empty once sanitized, text over 20,000 characters),
 *   422 `reference_not_found` at `body.id` (no such active record in the tenant)
 */
export async function createNote(services: Services, ctx: TenantContext, input: NoteCreateInput) {
  return withTenant(services.database, ctx, (scope) => createNoteIn(scope, services, input));
}

/**
 * `createNote` inside the caller's tenant transaction (import). A logged call, meeting or e-mail
 * (`kind`) may have no text; `outcome` is for calls, `duration_minutes` for calls and meetings.
 * @throws 400 at `body.outcome` / `body.duration_minutes` for another kind, at `body.body` for a
 *   note without text; 422 `reference_not_found` at `body.related[i].id`
 */
export async function createNoteIn(scope: TenantScope, services: Services, input: NoteCreateInput) {
  const { ctx } = scope;
  const kind = input.kind ?? 'note';
  if (input.outcome !== undefined && kind !== 'call')
    throw badRequest('Only a call has an outcome', 'body.outcome', 'invalid_for_kind');
  if (input.duration_minutes !== undefined && kind !== 'call' && kind !== 'meeting')
    throw badRequest('Only a call or a meeting has a duration', 'body.duration_minutes', 'invalid_for_kind');
  if (kind === 'note' && input.body === undefined)
    throw badRequest('A note needs its text', 'body.body', 'empty_note');
  const { html, text, mentions } =
    input.body === undefined
      ? { html: '', text: '', mentions: [] }
      : sanitizeNote(input.body, 'body.body', { allowEmpty: kind !== 'note' });
  const record = { object: input.object, id: input.id };
  await assertLinkable(scope, record, 'body.id');
  const related = (input.related ?? []).filter(
    (r, i, all) =>
      !(r.object === record.object && r.id === record.id) &&
      all.findIndex((o) => o.object === r.object && o.id === r.id) === i,
  );
  for (const [i, ref] of related.entries()) await assertLinkable(scope, ref, `body.related[${i}].id`);
  const [row] = await scope.tx
    .insert(notes)
    .values({
      orgId: ctx.orgId,
      linkedObject: record.object,
      linkedId: record.id,
      bodyHtml: html,
      bodyText: text,
      authorId: ctx.actor.type === 'user' ? ctx.actor.id : null,
      kind,
      occurredAt: input.occurred_at ? iso(input.occurred_at) : null,
      outcome: input.outcome ?? null,
      durationMinutes: input.duration_minutes ?? null,
      related: related.map((r) => `${r.object}:${r.id}`),
    })
    .returning();
  // A logged activity names the record it was logged on: "logged a call with Grace Hopper".
  const on =
    kind === 'note' ? undefined : (await recordTitlesIn(scope, record.object, [record.id])).get(record.id);
  await emitEvent(scope, services.jobs, {
    type: 'note.created',
    subject: { object: 'note', id: row!.id },
    data: {
      name: nameOf(text),
      ...(mentions.length ? { mentions } : {}),
      ...(kind === 'note'
        ? {}
        : {
            kind,
            ...(on ? { on } : {}),
            ...(input.outcome ? { outcome: input.outcome } : {}),
            ...(input.duration_minutes !== undefined ? { duration_minutes: input.duration_minutes } : {}),
            occurred_at: iso(input.occurred_at ?? row!.createdAt),
          }),
    },
    related: recordsOf(row!),
  });
  return noteView(row!);
}

/** A note. @throws 404, also for another tenant's id */
export async function getNote(services: Services, ctx: TenantContext, id: string): Promise<NoteView> {
  return withTenant(services.database, ctx, async (scope) => noteView(await loadRow(scope, id)));
}

function cursorValues(cursor: string): CursorValue[] {
  try {
    return decodeCursor(ORDER, cursor);
  } catch (error) {
    if (error instanceof AppError) throw badRequest(error.message, 'querystring.cursor', 'invalid_query');
    throw error;
  }
}

/**
 * A record's notes, newest first, keyset-paginated (`next_cursor` -> `cursor`).
 * @throws 404 when the tenant has no such record (archived ones have their notes listed),
 *   400 at `querystring.cursor`
 */
export async function listNotes(services: Services, ctx: TenantContext, query: NoteListQueryInput) {
  const values = query.cursor ? cursorValues(query.cursor) : undefined;
  return withTenant(services.database, ctx, async (scope) => {
    if (!(await findRecord(scope, { object: query.object, id: query.id })))
      throw notFound(query.object, query.id);
    const rows = await scope.tx
      .select({
        ...getTableColumns(notes),
        _cursor: sql<unknown>`json_build_array(${notes.createdAt}, ${notes.id})`,
      })
      .from(notes)
      .where(
        and(
          eq(notes.orgId, ctx.orgId),
          eq(notes.linkedObject, query.object),
          eq(notes.linkedId, query.id),
          values ? keysetCondition(ORDER, values) : undefined,
        ),
      )
      .orderBy(orderByOf(ORDER))
      .limit(query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      data: page.map(({ _cursor, ...row }) => noteView(row)),
      next_cursor: rows.length > query.limit && last ? encodeCursor(ORDER, last) : null,
    };
  });
}

/**
 * Replaces a note's body (sanitized again); without a body nothing changes. Only its author may.
 * Emits `note.updated` with the text before and after, when it changed.
 * @throws 404, 403 `forbidden` for anyone but the author, 400 at `body.body` as for create
 */
export async function updateNote(
  services: Services,
  ctx: TenantContext,
  id: string,
  body: string | undefined,
) {
  return withTenant(services.database, ctx, async (scope) => {
    const row = await loadRow(scope, id, true);
    if (!row.authorId || row.authorId !== ctx.actor.id) throw forbidden('Only its author can edit a note');
    if (body !== undefined) await replaceBody(scope, services, row, body);
    return noteView(await loadRow(scope, id));
  });
}

/**
 * Replaces a note's body inside the caller's tenant transaction with no author check: for an
 * import overwriting a note an earlier import created (matched by external id), and its undo.
 * Emits `note.updated` as `updateNote` does.
 * @returns the body (HTML) the note had, or null when the new one is the same once sanitized
 * @throws 404, 400 at `body.body` as for create
 */
export async function replaceNoteBodyIn(
  scope: TenantScope,
  services: Services,
  id: string,
  body: string,
): Promise<string | null> {
  return replaceBody(scope, services, await loadRow(scope, id, true), body);
}

/**
 * `replaceNoteBodyIn` for a batch of notes (an import's): the notes locked with one select, each
 * body sanitized (`sanitizeNote`, which throws as for one note), the changed ones written with one
 * update and a `note.updated` event each, as `replaceNoteBodyIn` emits it.
 * @returns per item, in order: the note's previous HTML; null when the body was already its own;
 *   undefined when there is no such note (deleted meanwhile)
 */
export async function replaceNoteBodiesIn(
  scope: TenantScope,
  services: Services,
  items: { id: string; body: string }[],
): Promise<(string | null | undefined)[]> {
  if (items.length === 0) return [];
  const found = await scope.tx
    .select()
    .from(notes)
    .where(
      and(
        eq(notes.orgId, scope.ctx.orgId),
        inArray(
          notes.id,
          items.map((i) => i.id),
        ),
      ),
    )
    .for('update');
  const byId = new Map(found.map((r) => [r.id, r]));
  const changed = await replaceBodies(
    scope,
    services,
    items.flatMap(({ id, body }) => {
      const row = byId.get(id);
      return row ? [{ row, body }] : [];
    }),
  );
  const before = new Map(changed.map((row) => [row.id, row.bodyHtml]));
  return items.map(({ id }) => (byId.has(id) ? (before.get(id) ?? null) : undefined));
}

async function replaceBody(
  scope: TenantScope,
  services: Services,
  row: NoteRow,
  body: string,
): Promise<string | null> {
  const [changed] = await replaceBodies(scope, services, [{ row, body }]);
  return changed ? changed.bodyHtml : null;
}

/**
 * Sanitizes each new body and writes the ones that differ from their note's: one update, a
 * `note.updated` event each with the text before and after. Throws as `sanitizeNote` does.
 * @returns the notes that changed, as they were
 */
async function replaceBodies(
  scope: TenantScope,
  services: Services,
  items: { row: NoteRow; body: string }[],
): Promise<NoteRow[]> {
  const changed = items.flatMap(({ row, body }) => {
    const { html, text, mentions } = sanitizeNote(body, 'body.body');
    const before = new Set(mentionsIn(row.bodyHtml));
    const added = mentions.filter((m) => !before.has(m));
    return html === row.bodyHtml ? [] : [{ row, html, text, added }];
  });
  if (changed.length === 0) return [];
  await scope.conn.query(
    `update notes n set body_html = x.body_html, body_text = x.body_text, updated_at = $2
       from jsonb_to_recordset($3::jsonb) as x(id uuid, body_html text, body_text text)
      where n.org_id = $1 and n.id = x.id`,
    [
      scope.ctx.orgId,
      new Date().toISOString(),
      JSON.stringify(changed.map((c) => ({ id: c.row.id, body_html: c.html, body_text: c.text }))),
    ],
  );
  await emitEvents(
    scope,
    services.jobs,
    changed.map(({ row, text, added }) => ({
      type: 'note.updated',
      subject: { object: 'note', id: row.id },
      data: {
        name: nameOf(text),
        changes: { body_text: { before: row.bodyText, after: text } },
        ...(added.length ? { mentions: added } : {}),
      },
      related: recordsOf(row),
    })),
  );
  return changed.map((c) => c.row);
}

/**
 * Deletes a note for good (its events stay). Its author or an admin may.
 * @throws 404, 403 `forbidden` for anyone else
 */
export async function deleteNote(
  services: Services,
  ctx: TenantContext,
  id: string,
  by: { isAdmin: boolean },
): Promise<void> {
  await withTenant(services.database, ctx, async (scope) => {
    const row = await loadRow(scope, id, true);
    const isAuthor = row.authorId !== null && row.authorId === ctx.actor.id;
    if (!isAuthor && !by.isAdmin) throw forbidden('Only its author or an admin can delete a note');
    await scope.tx.delete(notes).where(and(eq(notes.orgId, ctx.orgId), eq(notes.id, id)));
    await emitEvent(scope, services.jobs, {
      type: 'note.deleted',
      subject: { object: 'note', id },
      data: { name: nameOf(row.bodyText) },
      related: recordsOf(row),
    });
  });
}

/**
 * Moves the notes on any of `fromIds` (records of `object`) onto `toId`, inside the caller's
 * tenant transaction (a merge, or its undo with `onlyIds`). One `note.relinked` event per note.
 * @returns each moved note with the record it was on
 */
export async function relinkNotesIn(
  scope: TenantScope,
  services: Services,
  object: string,
  fromIds: string[],
  toId: string,
  onlyIds?: string[],
): Promise<{ id: string; from: string }[]> {
  if (fromIds.length === 0) return [];
  const { rows } = await scope.conn.query(
    `update notes n set linked_id = $4
       from notes old
      where n.org_id = $1 and n.linked_object = $2 and n.linked_id = any($3::uuid[])
        and old.org_id = n.org_id and old.id = n.id
        and ($5::uuid[] is null or n.id = any($5::uuid[]))
      returning n.id, old.linked_id as from_id`,
    [scope.ctx.orgId, object, fromIds, toId, onlyIds ?? null],
  );
  const moved = rows as { id: string; from_id: string }[];
  for (const note of moved) {
    await emitEvent(scope, services.jobs, {
      type: 'note.relinked',
      subject: { object: 'note', id: note.id },
      data: { from: { object, id: note.from_id }, to: { object, id: toId } },
      related: [{ object, id: toId }],
    });
  }
  return moved.map((n) => ({ id: n.id, from: n.from_id }));
}

/**
 * Deletes every note on a record inside the caller's tenant transaction (a GDPR erasure), with a
 * `note.deleted` each that names nothing (`name: null`: the text was personal data).
 * @returns the notes deleted, with their text (for the caller to scrub its traces)
 */
export async function deleteNotesOfRecordIn(
  scope: TenantScope,
  services: Services,
  record: { object: string; id: string },
): Promise<{ id: string; text: string }[]> {
  const rows = await scope.tx
    .delete(notes)
    .where(
      and(
        eq(notes.orgId, scope.ctx.orgId),
        eq(notes.linkedObject, record.object),
        eq(notes.linkedId, record.id),
      ),
    )
    .returning({ id: notes.id, text: notes.bodyText });
  if (rows.length)
    await emitEvents(
      scope,
      services.jobs,
      rows.map((r) => ({
        type: 'note.deleted' as const,
        subject: { object: 'note', id: r.id },
        data: { name: null },
        related: [record],
      })),
    );
  return rows;
}

/** Every note on a record, oldest first, inside the caller's tenant transaction (a GDPR export). */
export async function notesOfRecordIn(scope: TenantScope, record: { object: string; id: string }) {
  const rows = await scope.tx
    .select()
    .from(notes)
    .where(
      and(
        eq(notes.orgId, scope.ctx.orgId),
        eq(notes.linkedObject, record.object),
        eq(notes.linkedId, record.id),
      ),
    )
    .orderBy(notes.createdAt);
  return rows.map(noteView);
}
