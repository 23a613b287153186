import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { and, count, desc, eq, lt, or } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { badRequest } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { recordTitlesIn } from '../../platform/registry/record-lookup.js';
import { objectDef } from '../../platform/registry/registry.service.js';
import type { FieldDef, ObjectDef } from '../../platform/registry/registry.types.js';
import { consentsByIdIn } from '../consent/consent.service.js';
import { neutralizeCell } from '../records/record-export.service.js';
import type { FormSubmissionView, SubmissionAnswerView } from './form.dto.js';
import { formSubmissions, type forms } from './form.schema.js';
import { loadForm } from './form.service.js';
import { SOURCE_PARAMETERS } from './form-submit.service.js';

type FormRow = typeof forms.$inferSelect;
type SubmissionRow = typeof formSubmissions.$inferSelect;

/** A page of the CSV download: the list's largest page. */
const EXPORT_BATCH = 200;

/** The source keys a submission keeps, in the order the CSV shows them. */
const SOURCE_COLUMNS = SOURCE_PARAMETERS;

const Cursor = z.object({ at: z.string().max(64), id: z.uuid() });
type CursorValue = z.infer<typeof Cursor>;

/** The keyset cursor given out after `row`. */
const cursorAfter = (row: Pick<SubmissionRow, 'createdAt' | 'id'>) =>
  Buffer.from(JSON.stringify({ at: row.createdAt, id: row.id })).toString('base64url');

/** A cursor this list gave out. @throws 400 `invalid_query` at `querystring.cursor` */
function parseCursor(cursor: string | undefined): CursorValue | undefined {
  if (!cursor) return undefined;
  try {
    const after = Cursor.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (Number.isNaN(Date.parse(after.at))) throw new Error('bad time');
    return after;
  } catch {
    throw badRequest('The cursor is not one this list gave out', 'querystring.cursor', 'invalid_query');
  }
}

/**
 * The registry entry of the form's object, or undefined when the object is gone (a retired or
 * purged custom object): its submissions are still listed, by the form's own labels.
 */
async function defOf(scope: TenantScope, object: string): Promise<ObjectDef | undefined> {
  try {
    return await objectDef(scope.tx, scope.ctx.orgId, object);
  } catch {
    return undefined;
  }
}

/** One page of a form's submissions, newest first, after `after` (keyset on created_at, id). */
function pageOf(scope: TenantScope, formId: string, limit: number, after: CursorValue | undefined) {
  return scope.tx
    .select()
    .from(formSubmissions)
    .where(
      and(
        eq(formSubmissions.orgId, scope.ctx.orgId),
        eq(formSubmissions.formId, formId),
        after
          ? or(
              lt(formSubmissions.createdAt, after.at),
              and(eq(formSubmissions.createdAt, after.at), lt(formSubmissions.id, after.id)),
            )
          : undefined,
      ),
    )
    .orderBy(desc(formSubmissions.createdAt), desc(formSubmissions.id))
    .limit(limit);
}

/** A value of a field as an admin reads it: a choice's label, Yes/No, a linked record's name. */
function textOf(field: FieldDef | undefined, value: unknown, names: Map<string, string>): string {
  if (value === null || value === undefined) return '';
  const optionLabel = (v: unknown) => field?.options?.find((o) => o.value === String(v))?.label ?? String(v);
  if (Array.isArray(value)) {
    if (field?.type === 'relation') return value.map((id) => names.get(String(id)) ?? String(id)).join(', ');
    return value.map(optionLabel).join(', ');
  }
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (field && ['select', 'multi_select', 'status'].includes(field.type)) return optionLabel(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The keys of `values` in the form's order, then those no longer on the form, in stored order. */
function orderedKeys(form: FormRow, values: Record<string, unknown>): string[] {
  const onForm = form.fields.map((f) => f.key).filter((k) => values[k] !== undefined);
  const gone = Object.keys(values).filter((k) => !form.fields.some((f) => f.key === k));
  return [...onForm, ...gone];
}

/**
 * What the rows' answers, records and consents need, read in one query each: the names of the
 * linked records of relation answers, the records' names and e-mails, the consents given.
 */
async function resolve(scope: TenantScope, def: ObjectDef | undefined, rows: SubmissionRow[]) {
  // Linked records of relation answers (a many-to-many field's picks), by their object.
  const linked = new Map<string, string[]>();
  for (const r of rows)
    for (const [key, value] of Object.entries(r.values)) {
      const field = def?.fields.find((f) => f.key === key);
      if (field?.type !== 'relation' || !field.relation || !Array.isArray(value)) continue;
      const ids = linked.get(field.relation.object) ?? [];
      ids.push(...value.map(String).filter((id) => z.uuid().safeParse(id).success));
      linked.set(field.relation.object, ids);
    }
  const names = new Map<string, string>();
  for (const [object, ids] of linked)
    for (const [id, name] of await recordTitlesIn(scope, object, ids).catch(() => new Map<string, string>()))
      names.set(id, name);

  const recordIds = [...new Set(rows.map((r) => r.recordId))];
  const titles = def
    ? await recordTitlesIn(scope, def.key, recordIds).catch(() => new Map<string, string>())
    : new Map<string, string>();
  const emails = await recordEmailsIn(scope, def, recordIds);

  const consentIds = rows.map((r) => r.consentId).filter((id): id is string => Boolean(id));
  return { names, titles, emails, consents: await consentsByIdIn(scope, consentIds) };
}

/**
 * The e-mail of each record: a contact's primary e-mail, a custom object's first e-mail field;
 * none for other objects.
 */
async function recordEmailsIn(
  scope: TenantScope,
  def: ObjectDef | undefined,
  ids: string[],
): Promise<Map<string, string>> {
  if (!def || ids.length === 0) return new Map();
  if (def.key === 'contact') {
    const { rows } = await scope.conn.query<{ id: string; email: string | null }>(
      'select id, email from contacts where org_id = $1 and id = any($2::uuid[])',
      [scope.ctx.orgId, ids],
    );
    return new Map(rows.flatMap((r) => (r.email ? [[r.id, r.email] as const] : [])));
  }
  const field = def.custom && def.fields.find((f) => f.type === 'email' && f.storage.kind === 'custom');
  if (!def.custom || !field) return new Map();
  const { rows } = await scope.conn.query<{ id: string; email: string | null }>(
    `select id, custom ->> $4 as email from records
      where org_id = $1 and object_id = $2 and id = any($3::uuid[])`,
    [scope.ctx.orgId, def.custom.id, ids, field.key],
  );
  return new Map(rows.flatMap((r) => (r.email ? [[r.id, r.email] as const] : [])));
}

type Resolved = Awaited<ReturnType<typeof resolve>>;

function viewOf(
  form: FormRow,
  def: ObjectDef | undefined,
  r: SubmissionRow,
  got: Resolved,
): FormSubmissionView {
  const answers: SubmissionAnswerView[] = orderedKeys(form, r.values).map((key) => {
    const onForm = form.fields.find((f) => f.key === key);
    const field = def?.fields.find((f) => f.key === key);
    return {
      key,
      label: onForm?.label ?? key,
      type: field?.type ?? null,
      value: r.values[key],
      text: textOf(field, r.values[key], got.names),
      removed: !onForm,
    };
  });
  const consent = r.consentId ? got.consents.get(r.consentId) : undefined;
  const proof = (consent?.proof ?? {}) as { text?: unknown };
  return {
    id: r.id,
    form_id: r.formId,
    form_version: r.formVersion,
    channel: r.channel as 'page' | 'ingest',
    record: {
      object: r.object,
      id: r.recordId,
      name: got.titles.get(r.recordId) ?? null,
      email: got.emails.get(r.recordId) ?? null,
    },
    created_record: r.createdRecord,
    values: r.values,
    answers,
    source: r.source,
    consent_id: r.consentId,
    consent: consent
      ? {
          id: consent.id,
          channel: consent.channel,
          purpose: consent.purpose,
          status: consent.status,
          text: typeof proof.text === 'string' ? proof.text : '',
          at: consent.at,
        }
      : null,
    ip: r.ip,
    created_at: r.createdAt,
  };
}

/**
 * A form's submissions, newest first, a page of `limit` after `cursor` (keyset on the time and
 * id, so a page is as fast deep in the list as at its head): each value under its field's label
 * with the text an admin reads (a choice's label, Yes/No, a linked record's name; a field since
 * removed from the form by its key, `removed: true`), the record's name and e-mail, the consent
 * given. `total`: all the form's submissions, on the first page (null on the next ones).
 * @throws 404 for a form of no such id in the tenant, 400 `invalid_query` at the cursor
 */
export async function listSubmissions(
  services: Services,
  ctx: TenantContext,
  formId: string,
  query: { limit: number; cursor?: string | undefined },
): Promise<{ data: FormSubmissionView[]; next_cursor: string | null; total: number | null }> {
  const after = parseCursor(query.cursor);
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const form = await loadForm(scope, formId);
      const rows = await pageOf(scope, formId, query.limit + 1, after);
      const page = rows.slice(0, query.limit);
      // Counted on the first page only (the list keeps it): about 25 ms for 100,000 submissions.
      const [counted] = after
        ? [undefined]
        : await scope.tx
            .select({ n: count() })
            .from(formSubmissions)
            .where(and(eq(formSubmissions.orgId, ctx.orgId), eq(formSubmissions.formId, formId)));
      const def = await defOf(scope, form.object);
      const got = await resolve(scope, def, page);
      const last = page.at(-1);
      return {
        data: page.map((r) => viewOf(form, def, r, got)),
        next_cursor: rows.length > query.limit && last ? cursorAfter(last) : null,
        total: counted ? Number(counted.n) : null,
      };
    },
    { readOnly: true },
  );
}

/**
 * Streams a form's submissions as CSV, newest first, page by page (each page its own short tenant
 * transaction, so memory stays flat): the time, the record (name, e-mail, link id, new or
 * matched), the channel, one column per field of the form under its label (a choice's label,
 * Yes/No), then one per field since removed (`<key> (removed)`), the source and the consent.
 * Every cell is formula-neutralized (the records export's `neutralizeCell`). The form is found
 * before the stream starts, so an unknown one is a 404 problem, not a broken download.
 * @throws 404 for a form of no such id in the tenant
 */
export async function exportSubmissions(
  services: Services,
  ctx: TenantContext,
  formId: string,
): Promise<{ form: FormRow; stream: Readable }> {
  const read = <T>(fn: (scope: TenantScope) => Promise<T>) =>
    withTenant(services.database, ctx, fn, { readOnly: true });
  const { form, gone } = await read(async (scope) => {
    const form = await loadForm(scope, formId);
    // The keys no longer on the form that some submission holds: their columns come last.
    const { rows } = await scope.conn.query<{ key: string }>(
      `select distinct jsonb_object_keys("values") as key from form_submissions
        where org_id = $1 and form_id = $2 order by 1`,
      [ctx.orgId, formId],
    );
    const onForm = new Set(form.fields.map((f) => f.key));
    return { form, gone: rows.map((r) => r.key).filter((k) => !onForm.has(k)) };
  });
  const keys = [...form.fields.map((f) => f.key), ...gone];
  const header = [
    'Submitted at',
    'Record',
    'Record e-mail',
    'Record id',
    'New record',
    'Channel',
    ...form.fields.map((f) => f.label),
    ...gone.map((k) => `${k} (removed)`),
    ...SOURCE_COLUMNS,
    'Consent',
    'Consent text',
  ];
  async function* lines() {
    yield `\uFEFF${stringify([header.map(neutralizeCell)])}`;
    let after: CursorValue | undefined;
    for (;;) {
      const batch = await read(async (scope) => {
        const rows = await pageOf(scope, formId, EXPORT_BATCH, after);
        const def = await defOf(scope, form.object);
        const got = await resolve(scope, def, rows);
        return { rows, views: rows.map((r) => viewOf(form, def, r, got)) };
      });
      if (batch.views.length)
        yield stringify(
          batch.views.map((s) => {
            const byKey = new Map(s.answers.map((a) => [a.key, a.text]));
            return [
              s.created_at,
              s.record.name ?? '',
              s.record.email ?? '',
              s.record.id,
              s.created_record ? 'Yes' : 'No',
              s.channel,
              ...keys.map((k) => byKey.get(k) ?? ''),
              ...SOURCE_COLUMNS.map((k) => (typeof s.source[k] === 'string' ? (s.source[k] as string) : '')),
              s.consent ? `${s.consent.status}: ${s.consent.purpose} by ${s.consent.channel}` : '',
              s.consent?.text ?? '',
            ].map(neutralizeCell);
          }),
        );
      const last = batch.rows.at(-1);
      if (batch.rows.length < EXPORT_BATCH || !last) return;
      after = { at: last.createdAt, id: last.id };
    }
  }
  return { form, stream: Readable.from(lines()) };
}
