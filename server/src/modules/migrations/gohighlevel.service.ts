import { Readable } from 'node:stream';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { toE164 } from '../../platform/registry/phone.js';
import { createCustomField } from '../custom-fields/custom-field.service.js';
import { createImport, importStateIn, startImport, updateImport } from '../imports/import.service.js';
import { recordsOfExternalIds } from '../imports/import-bulk.js';
import { listMembers } from '../organizations/organization.service.js';
import { type GhlClient, GhlError } from './gohighlevel.client.js';

type Json = Record<string, unknown>;
export type Contact = Json & { id: string };
export type Opportunity = Json & { id: string };
export type Pipeline = { id: string; name: string; stages?: { id: string; name: string }[] };
export type User = { id: string; email?: string; name?: string; firstName?: string; lastName?: string };

/** Contact fields of GoHighLevel a Cairn contact has a place for. */
const CONTACT_KNOWN = new Set([
  'id',
  'locationId',
  'firstName',
  'lastName',
  'name',
  'contactName',
  'email',
  'phone',
  'companyName',
  'businessId',
  'tags',
  'source',
  'assignedTo',
  'dateAdded',
  'dateUpdated',
  'firstNameLowerCase',
  'lastNameLowerCase',
  'fullNameLowerCase',
  'emailLowerCase',
  'type',
]);
/** Opportunity fields of GoHighLevel a Cairn opportunity has a place for. */
const OPPORTUNITY_KNOWN = new Set([
  'id',
  'locationId',
  'name',
  'monetaryValue',
  'pipelineId',
  'pipelineStageId',
  'contactId',
  'contact',
  'assignedTo',
  'createdAt',
  'updatedAt',
  'indexVersion',
  'lastStageChangeAt',
  'lastStatusChangeAt',
  'lastActionDate',
]);

export type GhlInput = {
  token: string;
  location_id: string;
  base_url?: string | undefined;
  dry_run: boolean;
};

type Outcome = { created: number; matched: number; skipped: number; reasons: Record<string, number> };
const outcome = (): Outcome => ({ created: 0, matched: 0, skipped: 0, reasons: {} });
const because = (o: Outcome, kind: 'created' | 'matched' | 'skipped', reason: string) => {
  o[kind] += 1;
  const key = `${kind}: ${reason}`;
  o.reasons[key] = (o.reasons[key] ?? 0) + 1;
};

/** A field Cairn has no place for: kept in the record's notes (contacts) and listed here. */
type Unplaced = { object: string; field: string; records: number; kept_in: string; sample: string };

export type GhlReport = {
  dry_run: boolean;
  location_id: string;
  read: Record<string, number>;
  objects: Record<string, Outcome>;
  unplaced_fields: Unplaced[];
  requests: { sent: number; retried_429: number };
  import_ids: Record<string, string>;
};

export const str = (v: unknown): string =>
  v === null || v === undefined
    ? ''
    : typeof v === 'string'
      ? v
      : typeof v === 'number' || typeof v === 'boolean'
        ? String(v)
        : JSON.stringify(v);

function csv(rows: string[][]): string {
  const cell = (c: string) => (/[",\n\r;]/.test(c) || c !== c.trim() ? `"${c.replaceAll('"', '""')}"` : c);
  return `${rows.map((r) => r.map(cell).join(',')).join('\r\n')}\r\n`;
}

/** A paging position of GoHighLevel's search lists (their meta's startAfterId and startAfter). */
export type GhlPage = { startAfterId?: string | undefined; startAfter?: number | undefined };

/** One page of contacts, 100 (GET /contacts/); `next` null after the last page. */
export async function contactsPage(
  client: GhlClient,
  locationId: string,
  at: GhlPage,
): Promise<{ list: Contact[]; next: GhlPage | null }> {
  const res = await client.request<{
    contacts?: Contact[];
    meta?: { startAfterId?: string; startAfter?: number };
  }>('GET', 'contacts/', {
    locationId,
    limit: 100,
    startAfterId: at.startAfterId,
    startAfter: at.startAfter,
  });
  const list = (res.contacts ?? []).filter((c) => c && typeof c.id === 'string');
  const last = list.at(-1);
  if (!last || list.length < 100) return { list, next: null };
  return {
    list,
    next: {
      startAfterId: res.meta?.startAfterId ?? last.id,
      startAfter: res.meta?.startAfter ?? (Date.parse(str(last.dateAdded)) || undefined),
    },
  };
}

/** One page of opportunities (GET /opportunities/search); `next` null after the last page. */
export async function opportunitiesPage(
  client: GhlClient,
  locationId: string,
  at: GhlPage,
): Promise<{ list: Opportunity[]; next: GhlPage | null }> {
  const res = await client.request<{
    opportunities?: Opportunity[];
    meta?: { startAfterId?: string; startAfter?: number; nextPageUrl?: string | null };
  }>('GET', 'opportunities/search', {
    location_id: locationId,
    limit: 100,
    startAfterId: at.startAfterId,
    startAfter: at.startAfter,
  });
  const list = (res.opportunities ?? []).filter((o) => o && typeof o.id === 'string');
  if (list.length === 0 || !res.meta?.nextPageUrl || !res.meta.startAfterId) return { list, next: null };
  return { list, next: { startAfterId: res.meta.startAfterId, startAfter: res.meta.startAfter } };
}

async function readAll<T extends { id: string }>(
  page: (at: GhlPage) => Promise<{ list: T[]; next: GhlPage | null }>,
): Promise<T[]> {
  const all = new Map<string, T>();
  let at: GhlPage = {};
  for (let i = 0; i < 10_000; i++) {
    const { list, next } = await page(at);
    for (const r of list) all.set(r.id, r);
    if (!next) break;
    at = next;
  }
  return [...all.values()];
}
export const readContacts = (client: GhlClient, locationId: string) =>
  readAll((at) => contactsPage(client, locationId, at));
export const readOpportunities = (client: GhlClient, locationId: string) =>
  readAll((at) => opportunitiesPage(client, locationId, at));

const fullName = (u: User) => u.name ?? [u.firstName, u.lastName].filter(Boolean).join(' ');

/** What a migration read from GoHighLevel (from its staged records). */
export type GhlData = {
  users: User[];
  pipelines: Pipeline[];
  customFields: GhlField[];
  contacts: Contact[];
  opportunities: Opportunity[];
  notes: Json[];
  tasks: Json[];
};

/** A custom field definition of GoHighLevel (GET /custom-fields/object-key/{objectKey}). */
export type GhlField = Json & {
  id: string;
  name?: string;
  fieldKey?: string;
  dataType?: string;
  objectKey?: string;
  options?: unknown[];
  picklistOptions?: unknown[];
};

/** GoHighLevel's custom field types and the Cairn field type each becomes (null: no place). */
export const FIELD_TYPE: Record<string, string | null> = {
  TEXT: 'text',
  LARGE_TEXT: 'long_text',
  TEXTBOX_LIST: 'long_text',
  NUMERICAL: 'number',
  PHONE: 'phone',
  MONETORY: 'currency',
  DATE: 'date',
  SINGLE_OPTIONS: 'select',
  RADIO: 'select',
  MULTIPLE_OPTIONS: 'multi_select',
  CHECKBOX: 'multi_select',
  FILE_UPLOAD: null,
};

/** A GoHighLevel custom field's Cairn key: its fieldKey's last part (`contact.pet_name`: `pet_name`). */
export function cairnKeyOf(f: GhlField): string {
  const base = (str(f.fieldKey).split('.').at(-1) || str(f.name) || f.id)
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  const key = /^[a-z]/.test(base) ? base : `ghl_${base}`;
  return key.slice(0, 48);
}

/** A select's options from GoHighLevel's (strings or {key,label}), unique by value. */
function optionsOf(f: GhlField): { value: string; label: string }[] {
  const raw = (
    Array.isArray(f.options) ? f.options : Array.isArray(f.picklistOptions) ? f.picklistOptions : []
  ) as unknown[];
  const seen = new Set<string>();
  const out: { value: string; label: string }[] = [];
  for (const o of raw) {
    const label = (
      typeof o === 'string' ? o : str((o as Json)?.label ?? (o as Json)?.name ?? (o as Json)?.key)
    )
      .trim()
      .slice(0, 100);
    if (!label || seen.has(label.toLowerCase())) continue;
    seen.add(label.toLowerCase());
    out.push({ value: label, label });
  }
  return out.slice(0, 200);
}

/** A custom value as an import cell of the field's Cairn type. */
export function cellOf(type: string, value: unknown): string {
  if (Array.isArray(value)) return value.map(str).filter(Boolean).join('; ');
  if (type === 'date') {
    const t = typeof value === 'number' ? value : Date.parse(str(value));
    return Number.isFinite(t) ? new Date(t).toISOString().slice(0, 10) : str(value);
  }
  return str(value);
}

/** A custom value of a record (`customFields: [{id, value}]`, `field_value`, `fieldValue`). */
export const customValuesOf = (r: Json): { id: string; value: unknown }[] =>
  (Array.isArray(r.customFields) ? (r.customFields as Json[]) : []).flatMap((f) => {
    const value = f?.value ?? f?.field_value ?? f?.fieldValue ?? f?.fieldValueString;
    const id = str(f?.id ?? f?.key);
    return id && value !== undefined && value !== null && value !== '' ? [{ id, value }] : [];
  });

/**
 * Plans a GoHighLevel migration from what was read (issue 33): reports what an import would
 * create, match (by GoHighLevel id, e-mail, phone) and skip, and why; unless `dryRun`, creates
 * the custom fields (on the right object) and ordinary imports (companies, contacts,
 * opportunities, notes, tasks: CSV files written from the API's records), each resumable and
 * revertible under /imports. Members are matched by e-mail, else listed. Fields Cairn has no
 * place for are kept (contacts: notes; tasks: description) and listed in the report.
 * `onImport` is told each import created, in the order they must run.
 */
export async function planGoHighLevel(
  services: Services,
  ctx: TenantContext,
  data: GhlData,
  input: { location_id: string; dry_run: boolean; requests: { sent: number; retried_429: number } },
  onImport: (object: string, id: string) => Promise<void> = async () => {},
  importIdOf?: (object: string) => string,
): Promise<GhlReport> {
  const { users, pipelines, contacts, opportunities } = data;
  const userEmail = new Map(users.filter((u) => u.email).map((u) => [u.id, u.email!.toLowerCase()]));
  const report: GhlReport = {
    dry_run: input.dry_run,
    location_id: input.location_id,
    read: {
      users: users.length,
      pipelines: pipelines.length,
      custom_fields: data.customFields.length,
      contacts: contacts.length,
      opportunities: opportunities.length,
      notes: data.notes.length,
      tasks: data.tasks.length,
    },
    objects: {
      company: outcome(),
      contact: outcome(),
      opportunity: outcome(),
      stage: outcome(),
      member: outcome(),
      custom_field: outcome(),
      note: outcome(),
      task: outcome(),
    },
    unplaced_fields: [],
    requests: input.requests,
    import_ids: {},
  };

  // Fields with no place in Cairn: counted per field, kept in the contact's notes.
  const unplaced = new Map<string, Unplaced>();
  const note = (object: string, field: string, value: unknown, keptIn: string) => {
    if (value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0))
      return;
    const key = `${object}.${field}`;
    const u = unplaced.get(key) ?? {
      object,
      field,
      records: 0,
      kept_in: keptIn,
      sample: str(value).slice(0, 200),
    };
    u.records += 1;
    unplaced.set(key, u);
  };

  // ---- custom field definitions: a Cairn custom field on the same object, matched by key and type
  const existingFields = await withTenant(
    services.database,
    ctx,
    async (scope) =>
      (
        await scope.conn.query(
          'select object, key, type from custom_fields where org_id = $1 and retired_at is null',
          [ctx.orgId],
        )
      ).rows as { object: string; key: string; type: string }[],
    { readOnly: true },
  );
  /** GoHighLevel field id: where its values go (a Cairn custom field, or null: no place). */
  const fieldPlace = new Map<string, { object: string; key: string; type: string; label: string } | null>();
  const toCreate: {
    object: string;
    key: string;
    type: string;
    label: string;
    options: { value: string; label: string }[];
  }[] = [];
  for (const f of data.customFields) {
    const object = str(f.objectKey) === 'opportunity' ? 'opportunity' : 'contact';
    const type = FIELD_TYPE[str(f.dataType)] ?? null;
    const options = optionsOf(f);
    const label = (str(f.name) || str(f.fieldKey) || f.id).slice(0, 100);
    const kind =
      type && (type === 'select' || type === 'multi_select') && options.length === 0 ? 'long_text' : type;
    if (!kind) {
      fieldPlace.set(f.id, null);
      because(
        report.objects.custom_field!,
        'skipped',
        `type ${str(f.dataType) || 'unknown'} has no Cairn field (values kept in notes or listed)`,
      );
      continue;
    }
    const key = cairnKeyOf(f);
    const same = existingFields.find((x) => x.object === object && x.key === key);
    if (same && same.type !== kind) {
      fieldPlace.set(f.id, null);
      because(
        report.objects.custom_field!,
        'skipped',
        `a Cairn field ${key} of another type exists (values kept in notes or listed)`,
      );
      continue;
    }
    const planned = toCreate.find((x) => x.object === object && x.key === key);
    if (planned && planned.type !== kind) {
      fieldPlace.set(f.id, null);
      because(
        report.objects.custom_field!,
        'skipped',
        `two GoHighLevel fields share the key ${key} (values kept in notes or listed)`,
      );
      continue;
    }
    fieldPlace.set(f.id, { object, key, type: kind, label });
    if (same || planned) because(report.objects.custom_field!, 'matched', 'key and type');
    else {
      toCreate.push({ object, key, type: kind, label, options });
      because(report.objects.custom_field!, 'created', 'new');
    }
  }
  const customColumns = (object: string) => [
    ...new Set([...fieldPlace.values()].flatMap((p) => (p && p.object === object ? [p.key] : []))),
  ];
  const contactCustom = customColumns('contact');
  const opportunityCustom = customColumns('opportunity');
  /** A record's custom values as cells of `columns`; values with no place are given to `unplacedValue`. */
  const customCells = (
    object: string,
    r: Json,
    columns: string[],
    unplacedValue: (field: string, value: unknown) => void,
  ) => {
    const cells = columns.map(() => '');
    for (const { id, value } of customValuesOf(r)) {
      const place = fieldPlace.get(id);
      if (place && place.object === object) cells[columns.indexOf(place.key)] = cellOf(place.type, value);
      else {
        const def = data.customFields.find((f) => f.id === id);
        unplacedValue(`customFields.${def?.fieldKey ?? def?.name ?? id}`, value);
      }
    }
    return cells;
  };

  // ---- companies (GoHighLevel's business of a contact: businessId and companyName)
  const companies = new Map<string, { ref: string; name: string; external: string }>();
  for (const c of contacts) {
    const name = str(c.companyName).trim();
    const business = str(c.businessId).trim();
    if (!name && !business) continue;
    const key = business || `name:${name.toLowerCase()}`;
    if (!companies.has(key))
      companies.set(key, { ref: business || name, name: name || business, external: business });
  }
  // ---- contacts
  const contactRows: string[][] = [
    [
      'GoHighLevel id',
      'First name',
      'Last name',
      'Email',
      'Phone',
      'Company',
      'Tags',
      'Source',
      'Owner',
      'Notes',
      ...contactCustom.map((k) => `custom.${k}`),
    ],
  ];
  const contactMeta: { id: string; email: string; phone: string; named: boolean }[] = [];
  for (const c of contacts) {
    const extra: string[] = [];
    const custom = customCells('contact', c, contactCustom, (fieldKey, value) => {
      note('contact', fieldKey, value, 'notes');
      extra.push(`${fieldKey}: ${str(value)}`);
    });
    for (const [k, v] of Object.entries(c)) {
      if (CONTACT_KNOWN.has(k) || k === 'customFields') continue;
      note('contact', k, v, 'notes');
      if (v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0))
        extra.push(`${k}: ${str(v)}`);
    }
    const business = str(c.businessId).trim();
    const tags = Array.isArray(c.tags) ? (c.tags as unknown[]).map(str).filter(Boolean) : [];
    const first = str(c.firstName) || (!c.lastName ? str(c.name ?? c.contactName) : '');
    contactRows.push([
      c.id,
      first,
      str(c.lastName),
      str(c.email),
      str(c.phone),
      business || str(c.companyName),
      tags.join('; '),
      str(c.source),
      userEmail.get(str(c.assignedTo)) ?? '',
      extra.length ? `GoHighLevel fields:\n${extra.join('\n')}` : '',
      ...custom,
    ]);
    contactMeta.push({
      id: c.id,
      email: str(c.email).trim().toLowerCase(),
      phone: toE164(str(c.phone)) ?? '',
      named: Boolean(first || c.lastName || c.email || c.phone),
    });
  }
  // ---- opportunities
  const stageOf = new Map<string, { pipeline: string; stage: string }>();
  const stageOrder: string[] = [];
  for (const p of pipelines)
    for (const s of p.stages ?? []) {
      stageOf.set(s.id, { pipeline: p.name, stage: s.name });
      if (!stageOrder.includes(s.name) && stageOrder.length < 50) stageOrder.push(s.name);
    }
  const opportunityRows: string[][] = [
    [
      'GoHighLevel id',
      'Title',
      'Amount',
      'Contact',
      'Pipeline',
      'Stage',
      'Owner',
      ...opportunityCustom.map((k) => `custom.${k}`),
    ],
  ];
  for (const o of opportunities) {
    for (const [k, v] of Object.entries(o))
      if (!OPPORTUNITY_KNOWN.has(k) && k !== 'customFields') note('opportunity', k, v, 'report');
    const custom = customCells('opportunity', o, opportunityCustom, (field, value) =>
      note('opportunity', field, value, 'report'),
    );
    const where = stageOf.get(str(o.pipelineStageId));
    if (!where) {
      because(report.objects.opportunity!, 'skipped', 'its pipeline stage is not among the pipelines read');
      continue;
    }
    opportunityRows.push([
      o.id,
      str(o.name),
      str(o.monetaryValue),
      str(o.contactId ?? (o.contact as Json | undefined)?.id),
      where.pipeline,
      where.stage,
      userEmail.get(str(o.assignedTo)) ?? '',
      ...custom,
    ]);
  }
  // ---- notes and tasks of the contacts (GET /contacts/{id}/notes and /tasks)
  const contactIds = new Set(contacts.map((c) => c.id));
  const noteRows: string[][] = [['GoHighLevel id', 'Body', 'Contact']];
  for (const n of data.notes) {
    const contactId = str(n.contactId);
    if (!contactIds.has(contactId)) {
      because(report.objects.note!, 'skipped', 'its contact is not among the contacts read');
      continue;
    }
    const body = [str(n.title), str(n.body)].filter(Boolean).join('\n\n');
    if (!body.trim()) {
      because(report.objects.note!, 'skipped', 'empty');
      continue;
    }
    for (const k of ['color', 'pinned']) note('note', k, n[k], 'report');
    noteRows.push([str(n.id), body, contactId]);
  }
  const taskRows: string[][] = [
    ['GoHighLevel id', 'Title', 'Description', 'Due date', 'Assignee', 'Contact'],
  ];
  for (const task of data.tasks) {
    const contactId = str(task.contactId);
    if (!contactIds.has(contactId)) {
      because(report.objects.task!, 'skipped', 'its contact is not among the contacts read');
      continue;
    }
    const due = Date.parse(str(task.dueDate));
    if (task.completed === true) note('task', 'completed', true, 'description');
    taskRows.push([
      str(task.id),
      (str(task.title) || 'GoHighLevel task').slice(0, 500),
      [str(task.body), task.completed === true ? '(completed in GoHighLevel)' : '']
        .filter(Boolean)
        .join('\n'),
      Number.isFinite(due) ? new Date(due).toISOString().slice(0, 10) : '',
      userEmail.get(str(task.assignedTo)) ?? '',
      contactId,
    ]);
  }
  report.unplaced_fields = [...unplaced.values()];

  // ---- what exists: matched by GoHighLevel id (external id), e-mail, phone; members by e-mail
  const members = await listMembers(services, ctx);
  const memberEmails = new Set(members.map((m) => m.email.toLowerCase()));
  for (const u of users)
    if (u.email && memberEmails.has(u.email.toLowerCase()))
      because(report.objects.member!, 'matched', 'e-mail');
    else
      because(
        report.objects.member!,
        'skipped',
        `not a member of this workspace (invite ${u.email ?? fullName(u)} first; their records get the importer as owner)`,
      );
  await withTenant(
    services.database,
    ctx,
    async (scope) => {
      const q = async <T>(text: string, params: unknown[]) =>
        (await scope.conn.query(text, [ctx.orgId, ...params])).rows as T[];
      const byExternal = await recordsOfExternalIds(
        scope,
        'contact',
        contactMeta.map((c) => c.id),
      );
      const emails = new Set(
        (
          await q<{ email: string }>(
            'select email from contact_emails where org_id = $1 and active and email = any($2::text[])',
            [contactMeta.map((c) => c.email).filter(Boolean)],
          )
        ).map((r) => r.email),
      );
      const phones = new Set(
        (
          await q<{ phone: string }>(
            'select phone from contacts where org_id = $1 and archived_at is null and phone = any($2::text[])',
            [contactMeta.map((c) => c.phone).filter(Boolean)],
          )
        ).map((r) => r.phone),
      );
      const earlier = new Set<string>();
      for (const c of contactMeta) {
        const o = report.objects.contact!;
        if (!c.named) because(o, 'skipped', 'no name, e-mail or phone');
        else if (byExternal.has(c.id)) because(o, 'matched', 'GoHighLevel id (imported before)');
        else if (c.email && emails.has(c.email)) because(o, 'matched', 'e-mail');
        else if (c.phone && phones.has(c.phone)) because(o, 'matched', 'phone');
        else if ((c.email && earlier.has(`e:${c.email}`)) || (c.phone && earlier.has(`p:${c.phone}`)))
          because(o, 'matched', 'an earlier GoHighLevel contact of the same e-mail or phone');
        else because(o, 'created', 'new');
        if (c.email) earlier.add(`e:${c.email}`);
        if (c.phone) earlier.add(`p:${c.phone}`);
      }
      const companyExternal = await recordsOfExternalIds(
        scope,
        'company',
        [...companies.values()].flatMap((c) => (c.external ? [c.external] : [])),
      );
      const names = new Set(
        (
          await q<{ name: string }>(
            'select lower(name) as name from companies where org_id = $1 and archived_at is null and lower(name) = any($2::text[])',
            [[...companies.values()].map((c) => c.name.toLowerCase())],
          )
        ).map((r) => r.name),
      );
      for (const c of companies.values())
        if (c.external && companyExternal.has(c.external))
          because(report.objects.company!, 'matched', 'GoHighLevel id (imported before)');
        else if (names.has(c.name.toLowerCase())) because(report.objects.company!, 'matched', 'name');
        else because(report.objects.company!, 'created', 'new');
      const oppExternal = await recordsOfExternalIds(
        scope,
        'opportunity',
        opportunityRows.slice(1).map((r) => r[0]!),
      );
      for (const r of opportunityRows.slice(1))
        because(
          report.objects.opportunity!,
          oppExternal.has(r[0]!) ? 'matched' : 'created',
          oppExternal.has(r[0]!) ? 'GoHighLevel id (imported before)' : 'new',
        );
      const stages = new Set(
        (
          await q<{ k: string }>(
            `select lower(p.name) || '|' || lower(s.name) as k from pipeline_stages s join pipelines p on p.org_id = s.org_id and p.id = s.pipeline_id
            where s.org_id = $1 and p.archived_at is null`,
            [],
          )
        ).map((r) => r.k),
      );
      for (const p of pipelines)
        for (const s of p.stages ?? [])
          because(
            report.objects.stage!,
            stages.has(`${p.name.toLowerCase()}|${s.name.toLowerCase()}`) ? 'matched' : 'created',
            stages.has(`${p.name.toLowerCase()}|${s.name.toLowerCase()}`) ? 'pipeline and stage name' : 'new',
          );
      for (const [object, rows] of [
        ['note', noteRows],
        ['task', taskRows],
      ] as const) {
        const known = new Set(
          (
            await q<{ external_id: string }>(
              'select external_id from external_ids where org_id = $1 and object = $2 and external_id = any($3::text[])',
              [object, rows.slice(1).map((r) => r[0]!)],
            )
          ).map((r) => r.external_id),
        );
        for (const r of rows.slice(1))
          because(
            report.objects[object]!,
            known.has(r[0]!) ? 'matched' : 'created',
            known.has(r[0]!) ? 'GoHighLevel id (imported before)' : 'new',
          );
      }
    },
    { readOnly: true },
  );
  if (input.dry_run) return report;

  // ---- the run: the custom fields first (an import maps columns onto existing fields)
  for (const f of toCreate)
    if (!existingFields.some((x) => x.object === f.object && x.key === f.key))
      await createCustomField(services, ctx, f.object, {
        label: f.label,
        key: f.key,
        type: f.type,
        required: false,
        ...(f.options.length && (f.type === 'select' || f.type === 'multi_select')
          ? { options: f.options }
          : {}),
        description: 'From GoHighLevel',
      } as Parameters<typeof createCustomField>[3]);

  // ---- the run: ordinary imports, written from the records read, run in order by one job
  const companyRows = [
    ['GoHighLevel id', 'Name'],
    ...[...companies.values()].map((c) => [c.external, c.name]),
  ];
  const files: [string, string[][], { index: number; target: string | null }[], Json][] = [
    [
      'company',
      companyRows,
      [
        { index: 0, target: 'external_id' },
        { index: 1, target: 'name' },
      ],
      {},
    ],
    [
      'contact',
      contactRows,
      [
        'external_id',
        'first_name',
        'last_name',
        'email',
        'phone',
        'company',
        'tags',
        'source',
        'owner',
        'notes',
        ...contactCustom.map((k) => `custom.${k}`),
      ].map((target, index) => ({ index, target })),
      {},
    ],
    [
      'opportunity',
      opportunityRows,
      [
        'external_id',
        'title',
        'amount',
        'contact',
        'pipeline',
        'stage',
        'owner',
        ...opportunityCustom.map((k) => `custom.${k}`),
      ].map((target, index) => ({
        index,
        target,
      })),
      { create_missing_stages: true, ...(stageOrder.length ? { stage_order: stageOrder } : {}) },
    ],
    ['note', noteRows, ['external_id', 'body', 'contact'].map((target, index) => ({ index, target })), {}],
    [
      'task',
      taskRows,
      ['external_id', 'title', 'description', 'due_date', 'assignee', 'contact'].map((target, index) => ({
        index,
        target,
      })),
      {},
    ],
  ];
  for (const [object, rows, mapping, options] of files) {
    if (rows.length < 2) continue;
    // A keyed import (`importIdOf`) created by an earlier try of this run is taken as it is: a
    // worker that died after creating it and before the plan was stored creates no second one.
    const id = importIdOf?.(object);
    const earlier = id
      ? await withTenant(services.database, ctx, (scope) => importStateIn(scope, id), { readOnly: true })
      : undefined;
    if (!earlier) {
      const created = await createImport(services, ctx, {
        object,
        fileName: `GoHighLevel ${input.location_id} ${object}s.csv`,
        stream: Readable.from([csv(rows)]),
        truncated: () => false,
        id,
      });
      report.import_ids[object] = created.id;
    } else report.import_ids[object] = id!;
    if (!earlier || earlier.status === 'draft') {
      await updateImport(services, ctx, report.import_ids[object]!, {
        mapping,
        dedup: 'update_empty',
        options,
      } as Parameters<typeof updateImport>[3]);
      await startImport(services, ctx, report.import_ids[object]!, { enqueue: false });
    }
    await onImport(object, report.import_ids[object]!);
  }
  return report;
}

/** A GoHighLevel read error as the problem the API answers. */
export function asProblem(error: unknown): unknown {
  if (error instanceof GhlError)
    return new AppError(error.code === 'quota_exhausted' ? 429 : 422, error.code, error.message, {
      path: error.code === 'token_revoked' ? 'body.token' : 'body.location_id',
    });
  return error;
}
