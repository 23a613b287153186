import { Readable } from 'node:stream';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { toE164 } from '../../platform/registry/phone.js';
import { createImport, startImport, updateImport } from '../imports/import.service.js';
import { recordsOfExternalIds } from '../imports/import-bulk.js';
import { runImportOrFail } from '../imports/import-runner.service.js';
import { listMembers } from '../organizations/organization.service.js';
import { outboundPolicyOf } from '../webhooks/webhook.service.js';
import { GHL_DEFAULT_BASE_URL, GhlClient, GhlError } from './gohighlevel.client.js';

/** The queue that runs a migration's imports one after the other (companies, contacts, opportunities). */
export const GHL_MIGRATION_QUEUE = 'migration.gohighlevel';
export type GhlMigrationJob = { org_id: string; import_ids: string[] };

type Json = Record<string, unknown>;
type Contact = Json & { id: string };
type Opportunity = Json & { id: string };
type Pipeline = { id: string; name: string; stages?: { id: string; name: string }[] };
type User = { id: string; email?: string; name?: string; firstName?: string; lastName?: string };

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

const str = (v: unknown): string =>
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

/** Reads every contact of the location, 100 a page (GET /contacts/, paged by startAfterId and startAfter). */
async function readContacts(client: GhlClient, locationId: string): Promise<Contact[]> {
  const all: Contact[] = [];
  let startAfterId: string | undefined;
  let startAfter: number | undefined;
  for (let page = 0; page < 10_000; page++) {
    const res = await client.request<{
      contacts?: Contact[];
      meta?: { startAfterId?: string; startAfter?: number };
    }>('GET', 'contacts/', { locationId, limit: 100, startAfterId, startAfter });
    const contacts = (res.contacts ?? []).filter((c) => c && typeof c.id === 'string');
    all.push(...contacts);
    const last = contacts.at(-1);
    if (!last || contacts.length < 100) break;
    startAfterId = res.meta?.startAfterId ?? last.id;
    startAfter = res.meta?.startAfter ?? (Date.parse(str(last.dateAdded)) || undefined);
  }
  return all;
}

/** Reads every opportunity (GET /opportunities/search, paged by its meta's startAfterId and startAfter). */
async function readOpportunities(client: GhlClient, locationId: string): Promise<Opportunity[]> {
  const all: Opportunity[] = [];
  const seen = new Set<string>();
  let startAfterId: string | undefined;
  let startAfter: number | undefined;
  for (let page = 0; page < 10_000; page++) {
    const res = await client.request<{
      opportunities?: Opportunity[];
      meta?: { startAfterId?: string; startAfter?: number; nextPageUrl?: string | null };
    }>('GET', 'opportunities/search', { location_id: locationId, limit: 100, startAfterId, startAfter });
    const list = (res.opportunities ?? []).filter((o) => o && typeof o.id === 'string' && !seen.has(o.id));
    for (const o of list) seen.add(o.id);
    all.push(...list);
    if (list.length === 0 || !res.meta?.nextPageUrl || !res.meta.startAfterId) break;
    startAfterId = res.meta.startAfterId;
    startAfter = res.meta.startAfter;
  }
  return all;
}

const fullName = (u: User) => u.name ?? [u.firstName, u.lastName].filter(Boolean).join(' ');

/**
 * A GoHighLevel migration (issue 33): reads the location's contacts (their companies, tags and
 * custom values), users, pipelines and opportunities through its API v2 (`GhlClient`: rate
 * limits, 429 backoff), then either reports what an import would create, match (by GoHighLevel id,
 * e-mail, phone) and skip, and why (`dry_run`), or creates ordinary imports of them (companies,
 * contacts, opportunities: CSV files written from the API's records) and runs them in that order
 * in one job. Each is an import like any other: per-row outcomes, resumable from its checkpoint
 * (`POST /imports/{id}/start`), revertible (`POST /imports/{id}/revert`). A second run matches
 * what the first created (external ids), so nothing is doubled. Fields Cairn has no place for are
 * kept in a contact's notes and listed in the report.
 * @throws AppError 422 `token_revoked`, `quota_exhausted`, `source_unreachable`, `source_error`;
 * nothing is written when reading fails
 */
export async function migrateGoHighLevel(
  services: Services,
  ctx: TenantContext,
  input: GhlInput,
): Promise<GhlReport> {
  const client = new GhlClient({
    baseUrl: input.base_url ?? GHL_DEFAULT_BASE_URL,
    token: input.token,
    locationId: input.location_id,
    policy: outboundPolicyOf(services),
  });
  let contacts: Contact[];
  let opportunities: Opportunity[];
  let pipelines: Pipeline[];
  let users: User[];
  try {
    users =
      (await client.request<{ users?: User[] }>('GET', 'users/', { locationId: input.location_id })).users ??
      [];
    pipelines =
      (
        await client.request<{ pipelines?: Pipeline[] }>('GET', 'opportunities/pipelines', {
          locationId: input.location_id,
        })
      ).pipelines ?? [];
    contacts = await readContacts(client, input.location_id);
    opportunities = await readOpportunities(client, input.location_id);
  } catch (error) {
    throw asProblem(error);
  }
  const userEmail = new Map(users.filter((u) => u.email).map((u) => [u.id, u.email!.toLowerCase()]));
  const report: GhlReport = {
    dry_run: input.dry_run,
    location_id: input.location_id,
    read: {
      users: users.length,
      pipelines: pipelines.length,
      contacts: contacts.length,
      opportunities: opportunities.length,
    },
    objects: {
      company: outcome(),
      contact: outcome(),
      opportunity: outcome(),
      stage: outcome(),
      member: outcome(),
    },
    unplaced_fields: [],
    requests: { sent: client.stats.requests, retried_429: client.stats.retried_429 },
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
    ],
  ];
  const contactMeta: { id: string; email: string; phone: string; named: boolean }[] = [];
  for (const c of contacts) {
    const extra: string[] = [];
    for (const [k, v] of Object.entries(c)) {
      if (CONTACT_KNOWN.has(k)) continue;
      if (k === 'customFields' && Array.isArray(v)) {
        for (const f of v as { id?: string; key?: string; value?: unknown; field_value?: unknown }[]) {
          const value = f?.value ?? f?.field_value;
          const fieldKey = `customFields.${f?.key ?? f?.id ?? '?'}`;
          note('contact', fieldKey, value, 'notes');
          if (value !== undefined && value !== null && value !== '') extra.push(`${fieldKey}: ${str(value)}`);
        }
        continue;
      }
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
    ['GoHighLevel id', 'Title', 'Amount', 'Contact', 'Pipeline', 'Stage', 'Owner'],
  ];
  for (const o of opportunities) {
    for (const [k, v] of Object.entries(o))
      if (!OPPORTUNITY_KNOWN.has(k)) note('opportunity', k, v, 'report');
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
    },
    { readOnly: true },
  );
  report.requests = { sent: client.stats.requests, retried_429: client.stats.retried_429 };
  if (input.dry_run) return report;

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
      ].map((target, index) => ({ index, target })),
      {},
    ],
    [
      'opportunity',
      opportunityRows,
      ['external_id', 'title', 'amount', 'contact', 'pipeline', 'stage', 'owner'].map((target, index) => ({
        index,
        target,
      })),
      { create_missing_stages: true, ...(stageOrder.length ? { stage_order: stageOrder } : {}) },
    ],
  ];
  const ids: string[] = [];
  for (const [object, rows, mapping, options] of files) {
    if (rows.length < 2) continue;
    const created = await createImport(services, ctx, {
      object,
      fileName: `GoHighLevel ${input.location_id} ${object}s.csv`,
      stream: Readable.from([csv(rows)]),
      truncated: () => false,
    });
    await updateImport(services, ctx, created.id, { mapping, dedup: 'update_empty', options } as Parameters<
      typeof updateImport
    >[3]);
    await startImport(services, ctx, created.id, { enqueue: false });
    report.import_ids[object] = created.id;
    ids.push(created.id);
  }
  if (ids.length)
    await withTenant(services.database, ctx, (scope) =>
      services.jobs.send(scope.conn, GHL_MIGRATION_QUEUE, {
        org_id: ctx.orgId,
        import_ids: ids,
      } satisfies GhlMigrationJob),
    );
  return report;
}

/**
 * Runs a migration's imports one after the other (a later one refers to what an earlier created).
 * An import that throws is marked failed with the error, and the ones after it are left queued:
 * `POST /imports/{id}/start` resumes each from its checkpoint.
 */
export function defineGhlMigrationJobs(services: Services): void {
  services.jobs.define<GhlMigrationJob>({ name: GHL_MIGRATION_QUEUE }, async ({ data }) => {
    for (const id of data.import_ids) {
      const status = await runImportOrFail(services, data.org_id, id);
      if (['failed', 'cancelled', 'overtaken'].includes(status)) return;
    }
  });
}

/** One field of a sampled record, as GoHighLevel has it and as Cairn stored it. */
type Compared = { field: string; source: string; cairn: string; same: boolean };
export type GhlValidation = {
  location_id: string;
  counts: Record<string, { source: number; in_cairn: number; missing: number }>;
  samples: { object: string; source_id: string; record_id: string | null; fields: Compared[] }[];
  requests: { sent: number; retried_429: number };
};

/**
 * The validation report after a migration: reads the location again and finds each record in
 * Cairn by its GoHighLevel id (external id): counts per object (in GoHighLevel, in Cairn,
 * missing), and a sample of records (up to `sample` of each object) compared field by field.
 */
export async function validateGoHighLevel(
  services: Services,
  ctx: TenantContext,
  input: Omit<GhlInput, 'dry_run'> & { sample: number },
): Promise<GhlValidation> {
  const client = new GhlClient({
    baseUrl: input.base_url ?? GHL_DEFAULT_BASE_URL,
    token: input.token,
    locationId: input.location_id,
    policy: outboundPolicyOf(services),
  });
  let contacts: Contact[];
  let opportunities: Opportunity[];
  try {
    contacts = await readContacts(client, input.location_id);
    opportunities = await readOpportunities(client, input.location_id);
  } catch (error) {
    throw asProblem(error);
  }
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const contactIds = await recordsOfExternalIds(
        scope,
        'contact',
        contacts.map((c) => c.id),
      );
      const oppIds = await recordsOfExternalIds(
        scope,
        'opportunity',
        opportunities.map((o) => o.id),
      );
      const pick = <T extends { id: string }>(list: T[], found: Map<string, string>) =>
        list.slice(0, input.sample).map((r) => ({ r, id: found.get(r.id) ?? null }));
      const sampleContacts = pick(contacts, contactIds);
      const sampleOpps = pick(opportunities, oppIds);
      const q = async (text: string, ids: (string | null)[]) =>
        new Map(
          ((await scope.conn.query(text, [ctx.orgId, ids.filter(Boolean)])).rows as Json[]).map((r) => [
            String(r.id),
            r,
          ]),
        );
      const storedContacts = await q(
        'select id, first_name, last_name, email, phone, tags from contacts where org_id = $1 and id = any($2::uuid[])',
        sampleContacts.map((x) => x.id),
      );
      const storedOpps = await q(
        'select id, title, amount::text as amount from opportunities where org_id = $1 and id = any($2::uuid[])',
        sampleOpps.map((x) => x.id),
      );
      const cmp = (field: string, source: string, cairn: string, same = source === cairn): Compared => ({
        field,
        source,
        cairn,
        same,
      });
      const lower = (v: unknown) => str(v).trim().toLowerCase();
      const samples: GhlValidation['samples'] = [
        ...sampleContacts.map(({ r, id }) => {
          const c = (id && storedContacts.get(id)) || {};
          const tags = Array.isArray(r.tags) ? (r.tags as unknown[]).map(lower).sort().join('; ') : '';
          const first = str(r.firstName) || (!r.lastName ? str(r.name ?? r.contactName) : '');
          return {
            object: 'contact',
            source_id: r.id,
            record_id: id,
            fields: [
              cmp('first_name', first, str(c.first_name)),
              cmp('last_name', str(r.lastName), str(c.last_name)),
              cmp('email', lower(r.email), lower(c.email)),
              cmp(
                'phone',
                str(r.phone),
                str(c.phone),
                (toE164(str(r.phone)) ?? str(r.phone)) === str(c.phone),
              ),
              cmp(
                'tags',
                tags,
                Array.isArray(c.tags) ? (c.tags as unknown[]).map(lower).sort().join('; ') : '',
              ),
            ],
          };
        }),
        ...sampleOpps.map(({ r, id }) => {
          const o = (id && storedOpps.get(id)) || {};
          const amount = str(r.monetaryValue);
          return {
            object: 'opportunity',
            source_id: r.id,
            record_id: id,
            fields: [
              cmp('title', str(r.name), str(o.title)),
              cmp(
                'amount',
                amount,
                str(o.amount),
                amount === '' ? o.amount == null : Number(amount) === Number(o.amount),
              ),
            ],
          };
        }),
      ];
      const count = (source: number, found: number) => ({ source, in_cairn: found, missing: source - found });
      return {
        location_id: input.location_id,
        counts: {
          contact: count(contacts.length, contactIds.size),
          opportunity: count(opportunities.length, oppIds.size),
        },
        samples,
        requests: { sent: client.stats.requests, retried_429: client.stats.retried_429 },
      };
    },
    { readOnly: true },
  );
}

/** A GoHighLevel read error as the problem the API answers. */
function asProblem(error: unknown): unknown {
  if (error instanceof GhlError)
    return new AppError(error.code === 'quota_exhausted' ? 429 : 422, error.code, error.message, {
      path: error.code === 'token_revoked' ? 'body.token' : 'body.location_id',
    });
  return error;
}
