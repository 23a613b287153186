import type { SqlExecutor } from '../../db/client.js';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import type { EventEnvelope } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import {
  DUPLICATE_SPECS,
  type DuplicateObject,
  type DuplicateSpec,
  exactPairsSql,
  type KeyKind,
  rankOf,
  reasonOf,
  SIMILAR_PAIRS_OF_RECORDS_SQL,
  similarPairsSql,
} from './duplicate-keys.js';

/**
 * The duplicates finder's background work. A full scan recomputes a tenant's blocking keys and
 * candidate pairs; a refresh recomputes them for the records changed since (marked dirty from
 * record events). Both run as the `duplicates.refresh` job, at most one queued and one running
 * per tenant and object, and both work in short transactions (a few thousand records or keys
 * each), so on the embedded database (one connection) other requests keep being answered.
 */

export const DUPLICATES_QUEUE = 'duplicates.refresh';
export type DuplicatesJob = { org_id: string; object: DuplicateObject };

/**
 * Records whose keys one transaction of a scan recomputes, and keys whose pairs it recomputes (a
 * block is never split). Smaller on the embedded database, whose one connection every request
 * waits for: each transaction there takes tens of milliseconds.
 */
const chunksFor = (services: Services) =>
  services.database.kind === 'embedded' ? { records: 500, keys: 1_000 } : { records: 2_000, keys: 5_000 };
/** More changed records than this waiting, and a refresh runs a full scan instead. */
const FULL_SCAN_ABOVE = 50_000;

/**
 * A full scan of at least this many records refreshes the planner's statistics of the tables it
 * filled. Without them (a first scan, or autovacuum off or behind) PostgreSQL takes the tenant's
 * millions of keys and pairs for a few dozen rows and scans them all where an index probe does:
 * a refresh of 1,000 contacts took 18 s instead of under 1 s (bench/duplicates.bench.ts).
 */
const ANALYZE_AFTER = 10_000;

/**
 * `ANALYZE` of a table, as the database's login role (the tables' owner; the tenant role may not).
 * Statistics are a help, not a need: should it fail, the scan goes on without them.
 */
async function analyze(services: Services, table: 'duplicate_keys' | 'duplicate_pairs'): Promise<void> {
  try {
    await services.database.exec(`analyze ${table}`);
  } catch {
    // Plans stay as they were; every statement of the scan is correct without statistics.
  }
}

const systemCtx = (orgId: string): TenantContext => ({ orgId, actor: { type: 'system', id: null } });

/**
 * Enqueues the refresh job in the caller's transaction (`conn`) or on its own. A job already
 * queued for the tenant and object absorbs this one (pg-boss `stately` policy).
 */
export async function requestDuplicatesRefresh(
  services: Services,
  conn: SqlExecutor | null,
  orgId: string,
  object: DuplicateObject,
): Promise<void> {
  await services.jobs.send<DuplicatesJob>(
    conn,
    DUPLICATES_QUEUE,
    { org_id: orgId, object },
    {
      singletonKey: `${orgId}:${object}`,
      startAfter: 1,
    },
  );
}

/** Event types that can change a record's blocking keys. */
const KEY_EVENTS = [
  'created',
  'updated',
  'archived',
  'restored',
  'deleted',
  'merged',
  'merge_undone',
] as const;

/**
 * The fields of an `<object>.updated` event's `changes` that the blocking keys read
 * (`duplicate-keys.ts`: a contact's names, e-mails and phones; a company's name, domain and phone).
 */
const KEY_FIELDS: Record<DuplicateObject, ReadonlySet<string>> = {
  contact: new Set(['first_name', 'last_name', 'emails', 'phones']),
  company: new Set(['name', 'domain', 'phone']),
};

/**
 * Whether an event can change its record's blocking keys: every one but an `updated` whose
 * `changes` name only other fields (a tag, an owner, a lead status: a workflow's or a bulk action's
 * usual change), which would only queue a refresh that finds nothing new. An `updated` without a
 * readable `changes` counts as changing them.
 */
function touchesKeys(e: EventEnvelope, object: DuplicateObject): boolean {
  if (!e.type.endsWith('.updated')) return true;
  const changes = (e.data as { changes?: unknown } | null)?.changes;
  if (!changes || typeof changes !== 'object') return true;
  return Object.keys(changes).some((field) => KEY_FIELDS[object].has(field));
}

/**
 * Defines the refresh job and the event consumer that marks changed records dirty (one insert
 * and at most one job per object for a whole dispatched batch, such as an import's).
 */
export function defineDuplicateJobs(services: Services): void {
  services.jobs.define<DuplicatesJob>(
    {
      name: DUPLICATES_QUEUE,
      policy: 'stately',
      retryLimit: 5,
      heartbeatSeconds: 30,
      expireInSeconds: 4 * 3600,
    },
    async ({ data }) => refreshDuplicates(services, data.org_id, data.object),
  );
  services.events.register({
    name: 'duplicates.keys',
    types: (['contact', 'company'] as const).flatMap((o) => KEY_EVENTS.map((verb) => `${o}.${verb}`)),
    // Marking a record dirty twice leaves it dirty once, and the refresh job is one per tenant.
    idempotent: true,
    handle: async (batch: EventEnvelope[], scope) => {
      for (const object of ['contact', 'company'] as const) {
        const ids = [
          ...new Set(
            batch
              .filter((e) => e.subject.object === object && touchesKeys(e, object))
              .map((e) => e.subject.id),
          ),
        ];
        if (ids.length === 0) continue;
        await scope.conn.query(
          `insert into duplicate_dirty (org_id, object, record_id)
           select $1, $2, unnest($3::uuid[]) on conflict do nothing`,
          [scope.ctx.orgId, object, ids],
        );
        await requestDuplicatesRefresh(services, scope.conn, scope.ctx.orgId, object);
      }
    },
  });
}

type ScanRow = { state: 'queued' | 'running' | 'done'; dirty: number };

/**
 * A refresh waits while an import runs in the tenant (and looks again this many seconds later),
 * so an import of a million contacts is not slowed by scans of what it has written so far (it
 * was: 3,000 rows/s instead of 11,000, bench/import.bench.ts); the scan runs once, after it.
 */
const IMPORT_RECHECK_SECONDS = 10;

/**
 * True while an import or an undo runs in the tenant. Reads the imports table by name (the
 * imports module depends on this one, so this one may not import it); the status is the ledger's.
 */
async function importRunning(services: Services, ctx: TenantContext): Promise<boolean> {
  return withTenant(services.database, ctx, async ({ conn }) => {
    const { rows } = await conn.query<{ running: boolean }>(
      `select exists (select 1 from imports where org_id = $1 and status in ('running', 'reverting')) as running`,
      [ctx.orgId],
    );
    return rows[0]?.running === true;
  });
}

/**
 * The job: a full scan when none has run yet, one was asked for, or too many records changed;
 * otherwise the changed records' keys and blocks, a chunk per transaction, until none is left.
 */
export async function refreshDuplicates(services: Services, orgId: string, object: DuplicateObject) {
  const ctx = systemCtx(orgId);
  const spec = DUPLICATE_SPECS[object];
  if (await importRunning(services, ctx)) {
    await services.jobs.send<DuplicatesJob>(
      null,
      DUPLICATES_QUEUE,
      { org_id: orgId, object },
      { singletonKey: `${orgId}:${object}`, startAfter: IMPORT_RECHECK_SECONDS },
    );
    return;
  }
  const scan = await withTenant(services.database, ctx, async ({ conn }) => {
    const { rows } = await conn.query<ScanRow>(
      `select s.state, (select count(*)::int from (select 1 from duplicate_dirty d
                          where d.org_id = $1 and d.object = $2 limit ${FULL_SCAN_ABOVE + 1}) x) as dirty
         from (select 1) one left join duplicate_scans s on s.org_id = $1 and s.object = $2`,
      [orgId, object],
    );
    return rows[0];
  });
  if (!scan?.state || scan.state !== 'done' || scan.dirty > FULL_SCAN_ABOVE) {
    await fullScan(services, ctx, object, spec);
  }
  for (;;) {
    const done = await withTenant(services.database, ctx, async ({ conn }) => {
      const { rows } = await conn.query<{ record_id: string }>(
        `delete from duplicate_dirty where org_id = $1 and object = $2 and record_id in (
           select record_id from duplicate_dirty where org_id = $1 and object = $2 limit $3)
         returning record_id`,
        [orgId, object, chunksFor(services).records],
      );
      if (rows.length === 0) return true;
      await refreshRecords(
        conn,
        orgId,
        object,
        spec,
        rows.map((r) => r.record_id),
      );
      return false;
    });
    if (done) return;
  }
}

/**
 * Recomputes the keys of `ids`, then the pairs of every exact key they left or joined, and their
 * similar-name pairs with their neighbours (not their whole blocks, which may be large).
 */
async function refreshRecords(
  conn: SqlExecutor,
  orgId: string,
  object: DuplicateObject,
  spec: DuplicateSpec,
  ids: string[],
): Promise<void> {
  const removed = await conn.query<{ kind: KeyKind; key: string }>(
    `delete from duplicate_keys where org_id = $1 and object = $2 and record_id = any($3::uuid[])
     returning kind, key`,
    [orgId, object, ids],
  );
  const added = await conn.query<{ kind: KeyKind; key: string }>(
    `insert into duplicate_keys (org_id, object, record_id, kind, key, detail)
     select $1, $2, k.record_id, k.kind, k.key, k.detail from (${spec.keysSql((id) => `${id} = any($3::uuid[])`)}) k
     on conflict do nothing returning kind, key`,
    [orgId, object, ids],
  );
  const blocks = new Map<KeyKind, Set<string>>();
  for (const { kind, key } of [...removed.rows, ...added.rows]) {
    if (kind === 'block') continue;
    if (!blocks.has(kind)) blocks.set(kind, new Set());
    blocks.get(kind)!.add(key);
  }
  for (const [kind, keys] of blocks) await replacePairs(conn, orgId, object, spec, kind, { keys: [...keys] });
  await conn.query(
    `delete from duplicate_pairs where org_id = $1 and object = $2 and reason = 'similar_name'
        and (record_a = any($3::uuid[]) or record_b = any($3::uuid[]))`,
    [orgId, object, ids],
  );
  await conn.query(SIMILAR_PAIRS_OF_RECORDS_SQL, [orgId, object, ids, rankOf(spec, 'block')]);
}

/** Which blocks of a kind: some keys, or a range of keys `(lo, hi]` (null: unbounded). */
type BlockSelection = { keys: string[] } | { lo: string | null; hi: string | null };

/** Replaces the pairs of the selected blocks of `kind` with those their keys make now. */
async function replacePairs(
  conn: SqlExecutor,
  orgId: string,
  object: DuplicateObject,
  spec: DuplicateSpec,
  kind: KeyKind,
  selection: BlockSelection,
): Promise<void> {
  const reason = reasonOf(kind);
  const rank = rankOf(spec, kind);
  const params = 'keys' in selection ? [selection.keys] : [selection.lo, selection.hi];
  // The selection over `column`, its parameters numbered from `$first`.
  const where = (column: string, first: number) =>
    'keys' in selection
      ? `${column} = any($${first}::text[])`
      : `($${first}::text is null or ${column} > $${first}) and ($${first + 1}::text is null or ${column} <= $${first + 1})`;
  await conn.query(
    `delete from duplicate_pairs where org_id = $1 and object = $2 and reason = $3 and ${where('block', 4)}`,
    [orgId, object, reason, ...params],
  );
  if (kind === 'block') {
    await conn.query(similarPairsSql(where('k.key', 4)), [orgId, object, rank, ...params]);
  } else {
    await conn.query(exactPairsSql(where('k.key', 5)), [orgId, object, kind, rank, ...params]);
  }
}

/**
 * Recomputes every key and pair of a tenant's object: keys a chunk of records at a time (in id
 * order, so a chunk also clears the keys of records deleted since), then pairs a range of keys at
 * a time. Records changed meanwhile stay marked and are refreshed after it.
 */
async function fullScan(
  services: Services,
  ctx: TenantContext,
  object: DuplicateObject,
  spec: DuplicateSpec,
): Promise<void> {
  const { orgId } = ctx;
  const db = services.database;
  const started = performance.now();
  const { records: RECORD_CHUNK, keys: KEY_CHUNK } = chunksFor(services);
  const startedAt = await withTenant(db, ctx, async ({ conn }) => {
    const { rows } = await conn.query<{ started_at: string }>(
      `insert into duplicate_scans (org_id, object, state, started_at) values ($1, $2, 'running', clock_timestamp())
       on conflict (org_id, object) do update set state = 'running', started_at = excluded.started_at
       returning started_at`,
      [orgId, object],
    );
    return rows[0]!.started_at;
  });

  let after: string | null = null;
  let scanned = 0;
  for (;;) {
    const last: string | null = await withTenant(db, ctx, async ({ conn }) => {
      // The chunk's upper id; its range also clears the keys of records deleted since.
      const { rows } = await conn.query<{ id: string }>(
        `select id from ${spec.table} where org_id = $1 and ($2::uuid is null or id > $2)
          order by id offset $3 limit 1`,
        [orgId, after, RECORD_CHUNK - 1],
      );
      const hi = rows[0]?.id ?? null;
      const range = (id: string) => `($3::uuid is null or ${id} > $3) and ($4::uuid is null or ${id} <= $4)`;
      await conn.query(
        `delete from duplicate_keys where org_id = $1 and object = $2 and ${range('record_id')}`,
        [orgId, object, after, hi],
      );
      await conn.query(
        `insert into duplicate_keys (org_id, object, record_id, kind, key, detail)
         select $1, $2, k.record_id, k.kind, k.key, k.detail from (${spec.keysSql(range)}) k
         on conflict do nothing`,
        [orgId, object, after, hi],
      );
      return hi;
    });
    if (!last) break;
    after = last;
    scanned += RECORD_CHUNK;
  }
  if (scanned >= ANALYZE_AFTER) await analyze(services, 'duplicate_keys');

  for (const kind of [...spec.exact, 'block'] as KeyKind[]) {
    let lo: string | null = null;
    for (;;) {
      const hi: string | null = await withTenant(db, ctx, async ({ conn }) => {
        const { rows } = await conn.query<{ key: string }>(
          `select key from duplicate_keys where org_id = $1 and object = $2 and kind = $3
              ${lo === null ? '' : 'and key > $5'} order by key offset $4 limit 1`,
          lo === null ? [orgId, object, kind, KEY_CHUNK] : [orgId, object, kind, KEY_CHUNK, lo],
        );
        const upper = rows[0]?.key ?? null;
        await replacePairs(conn, orgId, object, spec, kind, { lo, hi: upper });
        return upper;
      });
      if (hi === null) break;
      lo = hi;
    }
  }

  if (scanned >= ANALYZE_AFTER) await analyze(services, 'duplicate_pairs');

  await withTenant(db, ctx, async ({ conn }) => {
    await conn.query(
      `update duplicate_scans set state = 'done', finished_at = clock_timestamp(), duration_ms = $3
        where org_id = $1 and object = $2`,
      [orgId, object, Math.round(performance.now() - started)],
    );
    // Changes marked before the scan started are in it; later ones are refreshed next.
    await conn.query(`delete from duplicate_dirty where org_id = $1 and object = $2 and marked_at < $3`, [
      orgId,
      object,
      startedAt,
    ]);
  });
}
