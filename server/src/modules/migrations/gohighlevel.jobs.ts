import { createHash } from 'node:crypto';
import { and, desc, eq, inArray } from 'drizzle-orm';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { seal, unseal } from '../../platform/crypto/sealed.js';
import { conflict, notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { importStateIn, startImport } from '../imports/import.service.js';
import { runImportOrFail } from '../imports/import-runner.service.js';
import { outboundPolicyOf } from '../webhooks/webhook.service.js';
import { GHL_DEFAULT_BASE_URL, GhlClient, GhlError, TokenBucket } from './gohighlevel.client.js';
import {
  type Contact,
  contactsPage,
  type GhlData,
  type GhlField,
  type GhlPage,
  type GhlReport,
  type Opportunity,
  opportunitiesPage,
  type Pipeline,
  planGoHighLevel,
  type User,
} from './gohighlevel.service.js';
import { type GhlCursor, ghlMigrationRecords, ghlMigrations } from './migration.schema.js';

/** The queue of GoHighLevel migrations: one job reads a location, plans and runs its imports. */
export const GHL_MIGRATION_QUEUE = 'migration.gohighlevel';
/** Where pg-boss puts a migration job whose worker died on each of its tries. */
export const GHL_STALLED_QUEUE = 'migration.gohighlevel.stalled';
export type GhlMigrationJob = { org_id: string; migration_id: string; after_quota?: boolean };

/** The purpose label a migration's API token is sealed under (`platform/crypto/sealed.ts`). */
const TOKEN_PURPOSE = 'gohighlevel-token';

/** The objects read, in order (notes and tasks per contact, after the contacts). */
const OBJECTS = [
  'users',
  'pipelines',
  'custom_fields',
  'contacts',
  'opportunities',
  'notes',
  'tasks',
] as const;
type ObjectName = (typeof OBJECTS)[number];

/**
 * Records read from GoHighLevel held before they are stored with their cursor (one transaction):
 * ten pages of 100. A crash re-reads at most these.
 */
const STORE_EVERY_RECORDS = 1000;

/** The imports of a run, in the order they run: a later one refers to what an earlier created. */
const IMPORT_ORDER = ['company', 'contact', 'opportunity', 'note', 'task'];

type Row = typeof ghlMigrations.$inferSelect;
type Json = Record<string, unknown>;

export type GhlStatus = 'queued' | 'reading' | 'importing' | 'stopped' | 'failed' | 'completed';

export type GhlMigrationView = {
  id: string;
  location_id: string;
  base_url: string;
  token: string;
  dry_run: boolean;
  notes_and_tasks: boolean;
  status: GhlStatus;
  progress: Record<string, { read: number; pages: number; done: boolean }>;
  requests: { sent: number; retried_429: number };
  error: { code: string; message: string } | null;
  report: GhlReport | null;
  import_ids: Record<string, string>;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
};

/** The token as the API shows it: masked, its last 4 characters only. */
const masked = (last4: string) => `••••${last4}`;

export function viewOf(r: Row): GhlMigrationView {
  const objects = OBJECTS.filter((o) => r.notesAndTasks || (o !== 'notes' && o !== 'tasks'));
  return {
    id: r.id,
    location_id: r.locationId,
    base_url: r.baseUrl,
    token: masked(r.tokenLast4),
    dry_run: r.dryRun,
    notes_and_tasks: r.notesAndTasks,
    status: r.status as GhlStatus,
    progress: Object.fromEntries(
      objects.map((o) => {
        const c = r.cursors[o];
        return [o, { read: c?.read ?? 0, pages: c?.pages ?? 0, done: c?.done ?? false }];
      }),
    ),
    requests: { sent: r.requests, retried_429: r.retried429 },
    error: r.errorCode ? { code: r.errorCode, message: r.errorMessage ?? '' } : null,
    report: (r.report as GhlReport | null) ?? null,
    import_ids: r.importIds,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    finished_at: r.finishedAt,
  };
}

export type GhlStartInput = {
  token: string;
  location_id: string;
  base_url?: string | undefined;
  dry_run: boolean;
  notes_and_tasks: boolean;
};

/**
 * Starts a GoHighLevel migration as a background job: the token is sealed at rest (write-only),
 * the job is sent in the same transaction. @returns the migration, `queued`
 */
export async function startGhlMigration(
  services: Services,
  ctx: TenantContext,
  input: GhlStartInput,
): Promise<GhlMigrationView> {
  return withTenant(services.database, ctx, async (scope) => {
    const [row] = await scope.tx
      .insert(ghlMigrations)
      .values({
        orgId: ctx.orgId,
        locationId: input.location_id,
        baseUrl: input.base_url ?? GHL_DEFAULT_BASE_URL,
        tokenSealed: seal(services.config.secret, TOKEN_PURPOSE, input.token),
        tokenLast4: input.token.slice(-4),
        dryRun: input.dry_run,
        notesAndTasks: input.notes_and_tasks,
        status: 'queued',
        createdBy: ctx.actor.type === 'user' ? ctx.actor.id : null,
      })
      .returning();
    await services.jobs.send(scope.conn, GHL_MIGRATION_QUEUE, {
      org_id: ctx.orgId,
      migration_id: row!.id,
    } satisfies GhlMigrationJob);
    return viewOf(row!);
  });
}

async function loadRow(services: Services, ctx: TenantContext, id: string): Promise<Row> {
  const [row] = await withTenant(
    services.database,
    ctx,
    (scope) =>
      scope.tx
        .select()
        .from(ghlMigrations)
        .where(and(eq(ghlMigrations.orgId, ctx.orgId), eq(ghlMigrations.id, id))),
    { readOnly: true },
  );
  if (!row) throw notFound('GoHighLevel migration', id);
  return row;
}

export const getGhlMigration = async (services: Services, ctx: TenantContext, id: string) =>
  viewOf(await loadRow(services, ctx, id));

/** The organization's migrations, the latest first (at most 50). */
export async function listGhlMigrations(services: Services, ctx: TenantContext): Promise<GhlMigrationView[]> {
  const rows = await withTenant(
    services.database,
    ctx,
    (scope) =>
      scope.tx
        .select()
        .from(ghlMigrations)
        .where(eq(ghlMigrations.orgId, ctx.orgId))
        .orderBy(desc(ghlMigrations.createdAt), desc(ghlMigrations.id))
        .limit(50),
    { readOnly: true },
  );
  return rows.map(viewOf);
}

/**
 * Resumes a stopped or failed migration from where it stopped (each object's cursor, each
 * import's checkpoint), with a new token when one is given (the old one was revoked).
 * @throws 409 `not_resumable` unless it is stopped or failed
 */
export async function resumeGhlMigration(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: { token?: string | undefined },
): Promise<GhlMigrationView> {
  return withTenant(services.database, ctx, async (scope) => {
    const [row] = await scope.tx
      .select()
      .from(ghlMigrations)
      .where(and(eq(ghlMigrations.orgId, ctx.orgId), eq(ghlMigrations.id, id)))
      .for('update');
    if (!row) throw notFound('GoHighLevel migration', id);
    if (!['stopped', 'failed'].includes(row.status))
      throw conflict(
        `The migration is ${row.status}: only a stopped or failed one is resumed`,
        'path.id',
        'not_resumable',
      );
    const [updated] = await scope.tx
      .update(ghlMigrations)
      .set({
        status: 'queued',
        errorCode: null,
        errorMessage: null,
        finishedAt: null,
        updatedAt: new Date().toISOString(),
        ...(input.token
          ? {
              tokenSealed: seal(services.config.secret, TOKEN_PURPOSE, input.token),
              tokenLast4: input.token.slice(-4),
            }
          : {}),
      })
      .where(and(eq(ghlMigrations.orgId, ctx.orgId), eq(ghlMigrations.id, id)))
      .returning();
    await services.jobs.send(scope.conn, GHL_MIGRATION_QUEUE, {
      org_id: ctx.orgId,
      migration_id: id,
    } satisfies GhlMigrationJob);
    return viewOf(updated!);
  });
}

/**
 * What the validation report reads a migration's source with: its token (unsealed), location,
 * and the notes and tasks it read (staged: reading them again costs two requests per contact).
 */
export async function migrationSource(services: Services, ctx: TenantContext, id: string) {
  const row = await loadRow(services, ctx, id);
  const staged = await withTenant(
    services.database,
    ctx,
    (scope) =>
      scope.tx
        .select({ object: ghlMigrationRecords.object, data: ghlMigrationRecords.data })
        .from(ghlMigrationRecords)
        .where(
          and(
            eq(ghlMigrationRecords.orgId, ctx.orgId),
            eq(ghlMigrationRecords.migrationId, id),
            inArray(ghlMigrationRecords.object, ['notes', 'tasks']),
          ),
        )
        .orderBy(ghlMigrationRecords.object, ghlMigrationRecords.sourceId),
    { readOnly: true },
  );
  return {
    token: unseal(services.config.secret, TOKEN_PURPOSE, row.tokenSealed),
    location_id: row.locationId,
    base_url: row.baseUrl,
    staged: {
      notes: staged.filter((r) => r.object === 'notes').map((r) => r.data),
      tasks: staged.filter((r) => r.object === 'tasks').map((r) => r.data),
    },
  };
}

const jobCtx = (row: Row): TenantContext => ({
  orgId: row.orgId,
  actor: row.createdBy ? { type: 'user', id: row.createdBy } : { type: 'system', id: null },
});

async function setRow(services: Services, row: Row, set: Partial<typeof ghlMigrations.$inferInsert>) {
  await withTenant(services.database, jobCtx(row), (scope) =>
    scope.tx
      .update(ghlMigrations)
      .set({ ...set, updatedAt: new Date().toISOString() })
      .where(and(eq(ghlMigrations.orgId, row.orgId), eq(ghlMigrations.id, row.id))),
  );
}

/** Points of a run where tests make the worker die (throw), as a killed process would stop there. */
export type GhlRunHooks = {
  /** An import is created (and queued), its id not stored with the migration yet. */
  importCreated?: (object: string) => void | Promise<void>;
};

/**
 * The id of a migration's import of `object`: a UUID version 5 (RFC 9562 §5.5, SHA-1 of the
 * migration's id as namespace and the object as name). The same on every try of a run, so a
 * run resumed after its worker died finds the import it created before storing it.
 */
export function importIdOf(migrationId: string, object: string): string {
  const hash = createHash('sha1')
    .update(Buffer.from(migrationId.replaceAll('-', ''), 'hex'))
    .update(`gohighlevel-import:${object}`)
    .digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The next UTC day, 5 minutes past midnight: when GoHighLevel's daily limit is counted anew. */
const nextUtcDay = () => {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1, 0, 5));
};

/**
 * Runs (or resumes) one migration: reads each object not read whole yet from its cursor, a page
 * at a time, each page stored with its cursor in one transaction; then plans from what was read
 * (a dry run's report) or creates and runs the imports one after the other. GoHighLevel refusing
 * the token (401/403), its daily limit or its being unreachable stops the migration with the
 * error (`stopped`, resumable; after the daily limit it resumes by itself the next UTC day). Any
 * other error is thrown: pg-boss tries again, from the cursors.
 */
export async function runGhlMigration(
  services: Services,
  data: GhlMigrationJob,
  hooks: GhlRunHooks = {},
): Promise<void> {
  const ctx0: TenantContext = { orgId: data.org_id, actor: { type: 'system', id: null } };
  let row: Row;
  try {
    row = await loadRow(services, ctx0, data.migration_id);
  } catch {
    return; // deleted meanwhile
  }
  const resumable =
    ['queued', 'reading', 'importing'].includes(row.status) ||
    (data.after_quota && row.status === 'stopped' && row.errorCode === 'quota_exhausted');
  if (!resumable) return;
  const ctx = jobCtx(row);
  if (row.status !== 'importing') {
    await setRow(services, row, { status: 'reading', errorCode: null, errorMessage: null });
    const client = new GhlClient({
      baseUrl: row.baseUrl,
      token: unseal(services.config.secret, TOKEN_PURPOSE, row.tokenSealed),
      locationId: row.locationId,
      policy: outboundPolicyOf(services),
      bucket: new TokenBucket(services.config.ghlRequestsPer10s, 10_000),
    });
    try {
      await readLocation(services, row, client);
    } catch (error) {
      if (!(error instanceof GhlError)) throw error;
      const quota = error.code === 'quota_exhausted';
      await setRow(services, row, {
        status: 'stopped',
        errorCode: error.code,
        errorMessage: quota
          ? `${error.message}. It resumes by itself after midnight UTC from where it stopped.`
          : error.message,
        requests: row.requests + client.stats.requests,
        retried429: row.retried429 + client.stats.retried_429,
      });
      if (quota)
        await services.jobs.send(
          null,
          GHL_MIGRATION_QUEUE,
          { ...data, after_quota: true } satisfies GhlMigrationJob,
          { startAfter: nextUtcDay() },
        );
      return;
    }
    row = await loadRow(services, ctx0, row.id);
    const read = await stagedData(services, row);
    const importIds: Record<string, string> = {};
    const report = await planGoHighLevel(
      services,
      ctx,
      read,
      {
        location_id: row.locationId,
        dry_run: row.dryRun,
        requests: { sent: row.requests, retried_429: row.retried429 },
      },
      async (object, id) => {
        await hooks.importCreated?.(object);
        importIds[object] = id;
        await setRow(services, row, { importIds: { ...importIds } });
      },
      (object) => importIdOf(row.id, object),
    );
    if (row.dryRun) {
      await setRow(services, row, { status: 'completed', report, finishedAt: new Date().toISOString() });
      return;
    }
    await setRow(services, row, { status: 'importing', report, importIds });
    row = await loadRow(services, ctx0, row.id);
  }
  // ---- the imports, in order (a later one refers to what an earlier created)
  // In this order (jsonb keeps its keys in an order of its own).
  for (const object of IMPORT_ORDER) {
    const importId = row.importIds[object];
    if (!importId) continue;
    const imp = await withTenant(services.database, ctx, (scope) => importStateIn(scope, importId));
    if (!imp || ['completed', 'reverted', 'reverting'].includes(imp.status)) continue;
    if (['failed', 'cancelled', 'draft'].includes(imp.status))
      await startImport(services, ctx, importId, { enqueue: false });
    const status = await runImportOrFail(services, row.orgId, importId);
    if (status !== 'completed') {
      const after = await withTenant(services.database, ctx, (scope) => importStateIn(scope, importId));
      await setRow(services, row, {
        status: 'failed',
        errorCode: 'import_failed',
        errorMessage: `The ${object} import ended ${status}${after?.error ? `: ${after.error}` : ''}. Resume to go on from its checkpoint.`,
      });
      return;
    }
  }
  await setRow(services, row, { status: 'completed', finishedAt: new Date().toISOString() });
}

/** Reads every object not read whole yet, from its cursor; each page stored with the cursor. */
async function readLocation(services: Services, row: Row, client: GhlClient): Promise<void> {
  const cursors: Record<string, GhlCursor> = structuredClone(row.cursors);
  const loc = row.locationId;
  const cursorOf = (o: ObjectName) => (cursors[o] ??= { done: false, pages: 0, read: 0 });
  /** Stores a page of `object` and the cursors (and request counts) in one transaction. */
  const store = async (pages: { object: string; list: Json[] }[]) => {
    await withTenant(services.database, jobCtx(row), async (scope) => {
      for (const { object, list } of pages) {
        const unique = [...new Map(list.map((r) => [String(r.id), r])).values()];
        if (unique.length)
          await scope.conn.query(
            `insert into ghl_migration_records (org_id, migration_id, object, source_id, data)
             select $1, $2, $3, e->>'id', e from jsonb_array_elements($4::jsonb) e
             on conflict (org_id, migration_id, object, source_id) do update set data = excluded.data`,
            [row.orgId, row.id, object, JSON.stringify(unique)],
          );
      }
      await scope.tx
        .update(ghlMigrations)
        .set({
          cursors,
          requests: row.requests + client.stats.requests,
          retried429: row.retried429 + client.stats.retried_429,
          updatedAt: new Date().toISOString(),
        })
        .where(and(eq(ghlMigrations.orgId, row.orgId), eq(ghlMigrations.id, row.id)));
    });
  };
  const single = async (object: ObjectName, read: () => Promise<Json[]>) => {
    const c = cursorOf(object);
    if (c.done) return;
    const list = await read();
    Object.assign(c, { done: true, pages: 1, read: list.length });
    await store([{ object, list }]);
  };
  /**
   * Reads `object` page by page from its cursor: the next page is requested while the ones read
   * are stored, and pages are stored `STORE_EVERY_RECORDS` at a time (one transaction with their
   * cursor, so a crash re-reads at most those). What was read is stored before an error stops it.
   */
  const paged = async (
    object: ObjectName,
    page: (at: GhlPage) => Promise<{ list: Json[]; next: GhlPage | null }>,
  ) => {
    const c = cursorOf(object);
    if (c.done) return;
    let held: Json[] = [];
    const flush = async (cursorMoved = false) => {
      if (held.length === 0 && !cursorMoved) return;
      const list = held;
      held = [];
      await store([{ object, list }]);
    };
    let pending = page({ startAfterId: c.startAfterId, startAfter: c.startAfter });
    try {
      while (!c.done) {
        const { list, next } = await pending;
        c.pages += 1;
        c.read += list.length;
        if (next) Object.assign(c, next);
        else c.done = true;
        held.push(...list);
        if (!c.done) {
          pending = page({ startAfterId: c.startAfterId, startAfter: c.startAfter });
          pending.catch(() => {}); // awaited on the next turn; this keeps it handled meanwhile
        }
        if (c.done || held.length >= STORE_EVERY_RECORDS) await flush(c.done);
      }
    } catch (error) {
      await flush();
      throw error;
    }
  };

  await single('users', async () =>
    ((await client.request<{ users?: User[] }>('GET', 'users/', { locationId: loc })).users ?? []).filter(
      (u) => typeof u?.id === 'string',
    ),
  );
  await single('pipelines', async () =>
    (
      (
        await client.request<{ pipelines?: Pipeline[] }>('GET', 'opportunities/pipelines', {
          locationId: loc,
        })
      ).pipelines ?? []
    ).filter((p) => typeof p?.id === 'string'),
  );
  await single('custom_fields', async () => {
    const out: GhlField[] = [];
    for (const objectKey of ['contact', 'opportunity']) {
      const res = await client.request<{ fields?: GhlField[] }>(
        'GET',
        `custom-fields/object-key/${objectKey}`,
        {
          locationId: loc,
        },
      );
      for (const f of res.fields ?? [])
        if (typeof f?.id === 'string') out.push({ ...f, objectKey: f.objectKey ?? objectKey });
    }
    return out;
  });
  await paged(
    'contacts',
    (at) => contactsPage(client, loc, at) as Promise<{ list: Json[]; next: GhlPage | null }>,
  );
  await paged(
    'opportunities',
    (at) => opportunitiesPage(client, loc, at) as Promise<{ list: Json[]; next: GhlPage | null }>,
  );
  if (!row.notesAndTasks) return;
  // Notes and tasks: GET /contacts/{id}/notes and /tasks for each contact read, in id order.
  const notes = cursorOf('notes');
  const tasks = cursorOf('tasks');
  while (!notes.done || !tasks.done) {
    const batch = await withTenant(
      services.database,
      jobCtx(row),
      async (scope) =>
        (
          await scope.conn.query(
            `select source_id from ghl_migration_records where org_id = $1 and migration_id = $2 and object = 'contacts'
              and source_id > $3 order by source_id limit 100`,
            [row.orgId, row.id, notes.afterContact ?? ''],
          )
        ).rows as { source_id: string }[],
      { readOnly: true },
    );
    if (batch.length === 0) {
      notes.done = true;
      tasks.done = true;
      await store([]);
      break;
    }
    // The batch's notes and tasks are stored together with the cursor in one transaction (and
    // what was read before an error stops it): a crash re-reads at most one batch of contacts.
    const heldNotes: Json[] = [];
    const heldTasks: Json[] = [];
    const flush = () =>
      store([
        { object: 'notes', list: heldNotes },
        { object: 'tasks', list: heldTasks },
      ]);
    try {
      for (const { source_id: contactId } of batch) {
        const path = `contacts/${encodeURIComponent(contactId)}`;
        const [n, t] = await Promise.all([
          client.request<{ notes?: Json[] }>('GET', `${path}/notes`).then((r) => r.notes ?? []),
          client.request<{ tasks?: Json[] }>('GET', `${path}/tasks`).then((r) => r.tasks ?? []),
        ]);
        const withContact = (list: Json[]) =>
          list
            .filter((x) => typeof x?.id === 'string')
            .map((x) => ({ ...x, contactId: x.contactId ?? contactId }));
        notes.afterContact = contactId;
        tasks.afterContact = contactId;
        notes.pages += 1;
        tasks.pages += 1;
        notes.read += n.length;
        tasks.read += t.length;
        heldNotes.push(...withContact(n));
        heldTasks.push(...withContact(t));
      }
    } catch (error) {
      await flush();
      throw error;
    }
    await flush();
  }
}

/** What the migration read, from its staged records. */
async function stagedData(services: Services, row: Row): Promise<GhlData> {
  const rows = await withTenant(
    services.database,
    jobCtx(row),
    (scope) =>
      scope.tx
        .select({ object: ghlMigrationRecords.object, data: ghlMigrationRecords.data })
        .from(ghlMigrationRecords)
        .where(and(eq(ghlMigrationRecords.orgId, row.orgId), eq(ghlMigrationRecords.migrationId, row.id)))
        .orderBy(ghlMigrationRecords.object, ghlMigrationRecords.sourceId),
    { readOnly: true },
  );
  const of = <T>(object: string) => rows.filter((r) => r.object === object).map((r) => r.data as T);
  const byDate = (a: Json, b: Json) =>
    (Date.parse(String(a.dateAdded ?? a.createdAt ?? '')) || 0) -
    (Date.parse(String(b.dateAdded ?? b.createdAt ?? '')) || 0);
  return {
    users: of<User>('users'),
    pipelines: of<Pipeline>('pipelines'),
    customFields: of<GhlField>('custom_fields'),
    contacts: of<Contact>('contacts').sort(byDate),
    opportunities: of<Opportunity>('opportunities'),
    notes: of<Json>('notes'),
    tasks: of<Json>('tasks'),
  };
}

/** A migration whose job pg-boss gave up on (its worker died on each try): stopped, resumable. */
async function markStalled(services: Services, data: GhlMigrationJob): Promise<void> {
  await withTenant(services.database, { orgId: data.org_id, actor: { type: 'system', id: null } }, (scope) =>
    scope.tx
      .update(ghlMigrations)
      .set({
        status: 'stopped',
        errorCode: 'worker_stopped',
        errorMessage:
          'The migration stopped: its worker ended on each of its tries (a process that died or lost its database). Resume it to go on from where it stopped.',
        updatedAt: new Date().toISOString(),
      })
      .where(and(eq(ghlMigrations.orgId, data.org_id), eq(ghlMigrations.id, data.migration_id))),
  );
}

/**
 * Defines the migration queue: a worker that dies mid-run stops refreshing its job, pg-boss hands
 * it out again (twice at most) and the run resumes from the stored cursors.
 */
export function defineGhlMigrationJobs(services: Services): void {
  services.jobs.define<GhlMigrationJob>({ name: GHL_STALLED_QUEUE }, ({ data }) =>
    markStalled(services, data),
  );
  services.jobs.define<GhlMigrationJob>(
    {
      name: GHL_MIGRATION_QUEUE,
      retryLimit: 2,
      heartbeatSeconds: 30,
      expireInSeconds: 24 * 60 * 60,
      deadLetter: GHL_STALLED_QUEUE,
    },
    ({ data }) => runGhlMigration(services, data),
  );
}
