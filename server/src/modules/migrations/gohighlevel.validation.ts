import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import { toE164 } from '../../platform/registry/phone.js';
import { recordsOfExternalIds } from '../imports/import-bulk.js';
import { listMembers } from '../organizations/organization.service.js';
import { outboundPolicyOf } from '../webhooks/webhook.service.js';
import { GHL_DEFAULT_BASE_URL, GhlClient } from './gohighlevel.client.js';
import {
  asProblem,
  type Contact,
  cairnKeyOf,
  cellOf,
  customValuesOf,
  FIELD_TYPE,
  type GhlField,
  type GhlInput,
  type Opportunity,
  type Pipeline,
  readContacts,
  readOpportunities,
  str,
  type User,
} from './gohighlevel.service.js';

type Json = Record<string, unknown>;

/** One field of a sampled record, as GoHighLevel has it and as Cairn stored it. */
type Compared = { field: string; source: string; cairn: string; same: boolean };

/** A source record (or definition) with no counterpart in Cairn, and why. */
type Mismatch = { object: string; source_id: string; name: string; reason: string };

export type GhlValidation = {
  location_id: string;
  counts: Record<string, { source: number; in_cairn: number; missing: number }>;
  /** Up to `MISMATCHES_PER_OBJECT` of each object's records missing in Cairn, with the reason. */
  mismatches: Mismatch[];
  samples: { object: string; source_id: string; record_id: string | null; fields: Compared[] }[];
  /** Where each object's source count comes from: read again now, or as the migration read it. */
  source_of: Record<string, 'gohighlevel' | 'migration'>;
  requests: { sent: number; retried_429: number };
};

/** Missing records listed per object (the count says how many there are in all). */
export const MISMATCHES_PER_OBJECT = 20;

/** The notes and tasks a migration read (its staged records): the source of their counts. */
export type StagedActivities = { notes: Json[]; tasks: Json[] };

const lower = (v: unknown) => str(v).trim().toLowerCase();
const cmp = (field: string, source: string, cairn: string, same = source === cairn): Compared => ({
  field,
  source,
  cairn,
  same,
});

/** The location's users, pipelines and custom field definitions (the requests the migration sent). */
async function readDefinitions(client: GhlClient, locationId: string) {
  const users = (
    (await client.request<{ users?: User[] }>('GET', 'users/', { locationId })).users ?? []
  ).filter((u) => typeof u?.id === 'string');
  const pipelines = (
    (await client.request<{ pipelines?: Pipeline[] }>('GET', 'opportunities/pipelines', { locationId }))
      .pipelines ?? []
  ).filter((p) => typeof p?.id === 'string');
  const fields: GhlField[] = [];
  for (const objectKey of ['contact', 'opportunity']) {
    const res = await client.request<{ fields?: GhlField[] }>(
      'GET',
      `custom-fields/object-key/${objectKey}`,
      { locationId },
    );
    for (const f of res.fields ?? [])
      if (typeof f?.id === 'string') fields.push({ ...f, objectKey: f.objectKey ?? objectKey });
  }
  return { users, pipelines, fields };
}

/**
 * The validation report after a migration (issue 33): reads the location again (users,
 * pipelines and stages, custom field definitions, contacts, opportunities) and takes the notes
 * and tasks as the migration read them (reading them again costs two requests per contact), then
 * finds each in Cairn: records by their GoHighLevel id (external id), companies by GoHighLevel
 * business id or name, pipelines and stages by name, custom fields by key, tags on the contacts,
 * users among the members by e-mail. Per object: counts (source, in Cairn, missing), the missing
 * ones listed with the reason, and a sample (up to `sample` of each) compared field by field.
 */
export async function validateGoHighLevel(
  services: Services,
  ctx: TenantContext,
  input: Omit<GhlInput, 'dry_run'> & { sample: number; staged: StagedActivities },
): Promise<GhlValidation> {
  const client = new GhlClient({
    baseUrl: input.base_url ?? GHL_DEFAULT_BASE_URL,
    token: input.token,
    locationId: input.location_id,
    policy: outboundPolicyOf(services),
  });
  let contacts: Contact[];
  let opportunities: Opportunity[];
  let defs: Awaited<ReturnType<typeof readDefinitions>>;
  try {
    defs = await readDefinitions(client, input.location_id);
    contacts = await readContacts(client, input.location_id);
    opportunities = await readOpportunities(client, input.location_id);
  } catch (error) {
    throw asProblem(error);
  }
  const members = await listMembers(services, ctx);
  const report = await withTenant(
    services.database,
    ctx,
    (scope) => compare(scope, input, { ...defs, contacts, opportunities, members }),
    { readOnly: true },
  );
  return { ...report, requests: { sent: client.stats.requests, retried_429: client.stats.retried_429 } };
}

async function compare(
  scope: TenantScope,
  input: { location_id: string; sample: number; staged: StagedActivities },
  src: {
    users: User[];
    pipelines: Pipeline[];
    fields: GhlField[];
    contacts: Contact[];
    opportunities: Opportunity[];
    members: { email: string }[];
  },
): Promise<Omit<GhlValidation, 'requests'>> {
  const orgId = scope.ctx.orgId;
  const q = async <T>(text: string, params: unknown[]) =>
    (await scope.conn.query(text, [orgId, ...params])).rows as T[];
  const counts: GhlValidation['counts'] = {};
  const mismatches: Mismatch[] = [];
  /** Counts one object and lists (some of) its missing records. */
  const tally = <T>(
    object: string,
    list: T[],
    found: (r: T) => boolean,
    describe: (r: T) => { id: string; name: string; reason?: string },
  ) => {
    let inCairn = 0;
    let listed = 0;
    for (const r of list)
      if (found(r)) inCairn += 1;
      else if (listed < MISMATCHES_PER_OBJECT) {
        listed += 1;
        const d = describe(r);
        mismatches.push({ object, source_id: d.id, name: d.name, reason: d.reason ?? 'not found in Cairn' });
      }
    counts[object] = { source: list.length, in_cairn: inCairn, missing: list.length - inCairn };
  };

  // ---- members (GoHighLevel users are matched to members by e-mail, never created)
  const memberEmails = new Set(src.members.map((m) => m.email.toLowerCase()));
  tally(
    'member',
    src.users,
    (u) => Boolean(u.email && memberEmails.has(u.email.toLowerCase())),
    (u) => ({
      id: u.id,
      name: u.email ?? u.name ?? '',
      reason: 'no member with this e-mail: invite them (their records got the importer as owner)',
    }),
  );

  // ---- pipelines and stages, by name (the opportunity import creates missing stages)
  const stageRows = await q<{ pipeline: string; stage: string | null }>(
    `select lower(p.name) as pipeline, lower(s.name) as stage from pipelines p
       left join pipeline_stages s on s.org_id = p.org_id and s.pipeline_id = p.id
      where p.org_id = $1 and p.archived_at is null`,
    [],
  );
  const pipelineNames = new Set(stageRows.map((r) => r.pipeline));
  const stageKeys = new Set(stageRows.map((r) => `${r.pipeline}|${r.stage}`));
  tally(
    'pipeline',
    src.pipelines,
    (p) => pipelineNames.has(lower(p.name)),
    (p) => ({ id: p.id, name: p.name }),
  );
  const stages = src.pipelines.flatMap((p) => (p.stages ?? []).map((s) => ({ p, s })));
  tally(
    'stage',
    stages,
    ({ p, s }) => stageKeys.has(`${lower(p.name)}|${lower(s.name)}`),
    ({ p, s }) => ({ id: s.id, name: `${p.name} / ${s.name}` }),
  );

  // ---- custom field definitions, by object and key
  const cairnFields = new Set(
    (
      await q<{ object: string; key: string }>(
        'select object, key from custom_fields where org_id = $1 and retired_at is null',
        [],
      )
    ).map((f) => `${f.object}|${f.key}`),
  );
  const objectOf = (f: GhlField) => (str(f.objectKey) === 'opportunity' ? 'opportunity' : 'contact');
  tally(
    'custom_field',
    src.fields,
    (f) => FIELD_TYPE[str(f.dataType)] != null && cairnFields.has(`${objectOf(f)}|${cairnKeyOf(f)}`),
    (f) => ({
      id: f.id,
      name: str(f.name) || str(f.fieldKey),
      reason:
        FIELD_TYPE[str(f.dataType)] == null
          ? `type ${str(f.dataType) || 'unknown'} has no Cairn field: its values are in the contacts' notes`
          : `no ${objectOf(f)} field ${cairnKeyOf(f)} in Cairn`,
    }),
  );

  // ---- contacts and the tags on them
  const contactIds = await recordsOfExternalIds(
    scope,
    'contact',
    src.contacts.map((c) => c.id),
  );
  tally(
    'contact',
    src.contacts,
    (c) => contactIds.has(c.id),
    (c) => ({ id: c.id, name: str(c.email) || [str(c.firstName), str(c.lastName)].join(' ').trim() }),
  );
  const storedTags = new Map(
    (
      await q<{ id: string; tags: string[] }>(
        'select id, tags from contacts where org_id = $1 and id = any($2::uuid[])',
        [[...contactIds.values()]],
      )
    ).map((r) => [r.id, new Set(r.tags.map(lower))]),
  );
  const tagsOf = (c: Contact) =>
    Array.isArray(c.tags) ? [...new Set((c.tags as unknown[]).map(lower).filter(Boolean))] : [];
  const onContact = src.contacts.flatMap((c) => tagsOf(c).map((tag) => ({ c, tag })));
  const hasTag = ({ c, tag }: { c: Contact; tag: string }) =>
    storedTags.get(contactIds.get(c.id) ?? '')?.has(tag) ?? false;
  const distinctTags = [...new Set(onContact.map((x) => x.tag))];
  const tagsInCairn = new Set(onContact.filter(hasTag).map((x) => x.tag));
  tally(
    'tag',
    distinctTags,
    (tag) => tagsInCairn.has(tag),
    (tag) => ({ id: tag, name: tag, reason: 'on none of the migrated contacts' }),
  );
  tally('contact_tag', onContact, hasTag, ({ c, tag }) => ({
    id: c.id,
    name: tag,
    reason: contactIds.has(c.id) ? 'the contact in Cairn lacks this tag' : 'the contact is not in Cairn',
  }));

  // ---- companies: a contact's GoHighLevel business (id, else name)
  const businesses = new Map<string, { external: string; name: string }>();
  for (const c of src.contacts) {
    const name = str(c.companyName).trim();
    const external = str(c.businessId).trim();
    if (!name && !external) continue;
    const key = external || `name:${name.toLowerCase()}`;
    if (!businesses.has(key)) businesses.set(key, { external, name: name || external });
  }
  const companyIds = await recordsOfExternalIds(
    scope,
    'company',
    [...businesses.values()].flatMap((b) => (b.external ? [b.external] : [])),
  );
  const companyNames = new Set(
    (
      await q<{ name: string }>(
        'select lower(name) as name from companies where org_id = $1 and archived_at is null and lower(name) = any($2::text[])',
        [[...businesses.values()].map((b) => b.name.toLowerCase())],
      )
    ).map((r) => r.name),
  );
  tally(
    'company',
    [...businesses.values()],
    (b) => (b.external ? companyIds.has(b.external) : false) || companyNames.has(b.name.toLowerCase()),
    (b) => ({ id: b.external || b.name, name: b.name }),
  );

  // ---- opportunities
  const oppIds = await recordsOfExternalIds(
    scope,
    'opportunity',
    src.opportunities.map((o) => o.id),
  );
  const stageIds = new Set(stages.map(({ s }) => s.id));
  tally(
    'opportunity',
    src.opportunities,
    (o) => oppIds.has(o.id),
    (o) => ({
      id: o.id,
      name: str(o.name),
      reason: stageIds.has(str(o.pipelineStageId))
        ? 'not found in Cairn'
        : 'its pipeline stage is not among the pipelines (not migrated)',
    }),
  );

  // ---- notes and tasks (as the migration read them), by their GoHighLevel id
  const activity = async (object: 'note' | 'task', list: Json[]) => {
    const table = object === 'note' ? 'notes' : 'tasks';
    const found = new Map(
      (
        await q<{ external_id: string; id: string }>(
          `select x.external_id, x.record_id as id from external_ids x
             join ${table} r on r.org_id = x.org_id and r.id = x.record_id
            where x.org_id = $1 and x.object = $2 and x.external_id = any($3::text[])`,
          [object, list.map((r) => str(r.id))],
        )
      ).map((r) => [r.external_id, r.id]),
    );
    tally(
      object,
      list,
      (r) => found.has(str(r.id)),
      (r) => ({
        id: str(r.id),
        name: (str(r.title) || str(r.body)).slice(0, 80),
        reason: contactIds.has(str(r.contactId)) ? 'not found in Cairn' : 'its contact is not in Cairn',
      }),
    );
    return found;
  };
  const noteIds = await activity('note', input.staged.notes);
  const taskIds = await activity('task', input.staged.tasks);

  // ---- samples, field by field
  const pick = <T>(list: T[], idOf: (r: T) => string | undefined) =>
    list.slice(0, input.sample).map((r) => ({ r, id: idOf(r) ?? null }));
  const byId = async (text: string, ids: (string | null)[]) =>
    new Map((await q<Json>(text, [ids.filter(Boolean)])).map((r) => [String(r.id), r] as const));
  const sampleContacts = pick(src.contacts, (c) => contactIds.get(c.id));
  const sampleOpps = pick(src.opportunities, (o) => oppIds.get(o.id));
  const sampleNotes = pick(input.staged.notes, (n) => noteIds.get(str(n.id)));
  const sampleTasks = pick(input.staged.tasks, (t) => taskIds.get(str(t.id)));
  const storedContacts = await byId(
    'select id, first_name, last_name, email, phone, tags, custom from contacts where org_id = $1 and id = any($2::uuid[])',
    sampleContacts.map((x) => x.id),
  );
  const storedOpps = await byId(
    'select id, title, amount::text as amount, custom from opportunities where org_id = $1 and id = any($2::uuid[])',
    sampleOpps.map((x) => x.id),
  );
  const storedNotes = await byId(
    'select id, body_text from notes where org_id = $1 and id = any($2::uuid[])',
    sampleNotes.map((x) => x.id),
  );
  const storedTasks = await byId(
    `select id, title, to_char(due_at at time zone 'UTC', 'YYYY-MM-DD') as due from tasks where org_id = $1 and id = any($2::uuid[])`,
    sampleTasks.map((x) => x.id),
  );
  const fieldById = new Map(src.fields.map((f) => [f.id, f]));
  /** A record's custom values with a Cairn field, compared with what Cairn holds. */
  const customCompared = (object: string, r: Json, stored: Json): Compared[] =>
    customValuesOf(r).flatMap(({ id, value }) => {
      const f = fieldById.get(id);
      const type = f ? FIELD_TYPE[str(f.dataType)] : null;
      if (!f || !type || objectOf(f) !== object) return [];
      const key = cairnKeyOf(f);
      const held = (stored.custom as Json | undefined)?.[key];
      const cairn = Array.isArray(held) ? held.map(str).join('; ') : str(held);
      const source = cellOf(type, value);
      return [cmp(`custom.${key}`, source, cairn, lower(source) === lower(cairn))];
    });
  const samples: GhlValidation['samples'] = [
    ...sampleContacts.map(({ r, id }) => {
      const c = (id && storedContacts.get(id)) || {};
      const first = str(r.firstName) || (!r.lastName ? str(r.name ?? r.contactName) : '');
      return {
        object: 'contact',
        source_id: r.id,
        record_id: id,
        fields: [
          cmp('first_name', first, str(c.first_name)),
          cmp('last_name', str(r.lastName), str(c.last_name)),
          cmp('email', lower(r.email), lower(c.email)),
          cmp('phone', str(r.phone), str(c.phone), (toE164(str(r.phone)) ?? str(r.phone)) === str(c.phone)),
          cmp(
            'tags',
            tagsOf(r).sort().join('; '),
            Array.isArray(c.tags) ? (c.tags as unknown[]).map(lower).sort().join('; ') : '',
          ),
          ...customCompared('contact', r, c),
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
          ...customCompared('opportunity', r, o),
        ],
      };
    }),
    ...sampleNotes.map(({ r, id }) => {
      const n = (id && storedNotes.get(id)) || {};
      const body = [str(r.title), str(r.body)].filter(Boolean).join('\n\n');
      const squash = (v: string) => v.replace(/\s+/g, ' ').trim();
      return {
        object: 'note',
        source_id: str(r.id),
        record_id: id,
        fields: [cmp('body', body, str(n.body_text), squash(body) === squash(str(n.body_text)))],
      };
    }),
    ...sampleTasks.map(({ r, id }) => {
      const t = (id && storedTasks.get(id)) || {};
      const due = Date.parse(str(r.dueDate));
      return {
        object: 'task',
        source_id: str(r.id),
        record_id: id,
        fields: [
          cmp('title', (str(r.title) || 'GoHighLevel task').slice(0, 500), str(t.title)),
          cmp('due_date', Number.isFinite(due) ? new Date(due).toISOString().slice(0, 10) : '', str(t.due)),
        ],
      };
    }),
  ];
  const source_of: GhlValidation['source_of'] = Object.fromEntries(
    Object.keys(counts).map((o) => [o, o === 'note' || o === 'task' ? 'migration' : 'gohighlevel']),
  );
  return { location_id: input.location_id, counts, mismatches, samples, source_of };
}
