import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { type Database, rawTransaction, type SqlExecutor } from '../../db/client.js';
import { forgetCachedSessions } from '../auth/auth.routes.js';
import type { FileStore } from '../files/file-store.js';
import type { JobQueue } from '../jobs/job-queue.js';
import { newestMigration, quoteIdent } from './backup.js';

/**
 * One organization on its own (issue 26): exported with every row of every tenant table and its
 * stored files into one `.tar.gz`, restored alone into the same install (after it was deleted) or
 * another one, and purged with every row and file.
 *
 * The archive (`cairn-org-<slug>-<UTC time>.tar.gz`, readable with `tar tzf`):
 * - `manifest.json`: the organization, the migration its rows were written under, and the row
 *   count and order-free checksum of the organization's rows in every table (`OrganizationManifest`);
 * - `tables/<table>.jsonl`: one row a line, as PostgreSQL's `row_to_json` wrote it (decimals,
 *   timestamps and byte strings are never parsed by JavaScript, so nothing is rounded);
 * - `users/users.jsonl`: the members' user rows; with credentials also `users/accounts.jsonl`
 *   (their e-mail-and-password sign-in) and `users/two_factors.jsonl`;
 * - `files/<file id>`: the bytes of every stored file.
 *
 * A tenant table is any table of the `public` schema with an `org_id` column (`organization_id`
 * for better-auth's members and invitations) that the tenant role may read, found in the
 * catalogue, so tables added later are carried without code here. Export, restore and purge need a role that reads and writes every
 * row (a superuser, as migrations and `pg_dump` do).
 */

export const ORGANIZATION_ARCHIVE_FORMAT = 1;

export type OrganizationTableSum = { table: string; rows: number; checksum: string };

export type OrganizationManifest = {
  format: typeof ORGANIZATION_ARCHIVE_FORMAT;
  kind: 'cairn-organization';
  organization: { id: string; name: string; slug: string };
  exported_at: string;
  /** The newest migration applied where it was exported; a restore needs the same. */
  migration: string | null;
  /** Whether members' passwords and second factors are in the archive. */
  credentials: boolean;
  users: number;
  files: number;
  tables: OrganizationTableSum[];
};

export class OrganizationArchiveError extends Error {
  constructor(
    readonly code:
      | 'organization_not_found'
      | 'organization_exists'
      | 'migration_mismatch'
      | 'user_conflict'
      | 'not_an_archive'
      | 'verify_failed',
    message: string,
  ) {
    super(message);
  }
}

type TenantTable = { name: string; orgColumn: string; columns: string[] };

/** Transaction settings that make a row's text form (and so its checksum) the same everywhere. */
const STABLE_TEXT = [
  "set local time zone 'UTC'",
  "set local datestyle = 'ISO, MDY'",
  "set local intervalstyle = 'postgres'",
  'set local extra_float_digits = 3',
  "set local bytea_output = 'hex'",
];

/** Every tenant table, with the columns a restore writes (not generated ones), in name order. */
async function tenantTables(conn: SqlExecutor): Promise<TenantTable[]> {
  const { rows } = await conn.query<{ name: string; org_column: string; columns: string[] }>(
    `select c.relname as name,
            (select a.attname from pg_attribute a
              where a.attrelid = c.oid and a.attname in ('org_id', 'organization_id') and not a.attisdropped
              order by a.attname desc limit 1) as org_column,
            array(select a.attname::text from pg_attribute a
                   where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                     and a.attgenerated = '' and a.attidentity <> 'a'
                   order by a.attnum) as columns
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p')
        and exists (select 1 from pg_attribute a where a.attrelid = c.oid
                     and a.attname in ('org_id', 'organization_id') and not a.attisdropped)
        -- Install-level tables about an organization (its plan, suspension, API-call counts: issue
        -- 30) are the operator's, revoked from the tenant role: they stay with the install.
        and has_table_privilege('cairn_app', c.oid, 'SELECT')
      order by c.relname`,
  );
  return rows.map((r) => ({ name: r.name, orgColumn: r.org_column, columns: r.columns }));
}

/** Row count and checksum of the organization's rows in every tenant table. */
async function organizationSums(
  conn: SqlExecutor,
  tables: TenantTable[],
  orgId: string,
): Promise<OrganizationTableSum[]> {
  const sums: OrganizationTableSum[] = [];
  for (const t of [...tables, { name: 'organizations', orgColumn: 'id', columns: [] }]) {
    const { rows } = await conn.query<{ rows: string; checksum: string }>(
      `select count(*)::text as rows, coalesce(sum(hashtextextended(r::text, 0)::numeric), 0)::text as checksum
         from ${quoteIdent(t.name)} as r where ${quoteIdent(t.orgColumn)} = $1`,
      [orgId],
    );
    sums.push({ table: t.name, rows: Number(rows[0]!.rows), checksum: rows[0]!.checksum });
  }
  return sums.sort((a, b) => a.table.localeCompare(b.table));
}

/** Streams the rows of a query into a JSON-lines file through a cursor, 2,000 at a time. */
async function dumpRows(conn: SqlExecutor, sql: string, params: unknown[], file: string): Promise<number> {
  const out = createWriteStream(file, { mode: 0o600 });
  let count = 0;
  try {
    await conn.query(
      `declare cairn_org_export no scroll cursor for select row_to_json(r)::text as j from (${sql}) as r`,
      params,
    );
    for (;;) {
      const { rows } = await conn.query<{ j: string }>('fetch 2000 from cairn_org_export');
      if (rows.length === 0) break;
      count += rows.length;
      if (!out.write(`${rows.map((r) => r.j).join('\n')}\n`))
        await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    }
    await conn.query('close cairn_org_export');
  } finally {
    await new Promise<void>((resolve, reject) =>
      out.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  }
  return count;
}

/**
 * Exports one organization into `file` (a `.tar.gz`), from one consistent snapshot.
 * @param options.credentials whether members' password hashes and second-factor secrets go in
 *   (for moving an organization between installs; leave out for an archive a person keeps)
 * @param options.fileStore where its stored files are read from
 * @throws OrganizationArchiveError `organization_not_found`
 */
export async function exportOrganization(
  database: Database,
  orgId: string,
  file: string,
  options: { credentials: boolean; fileStore: FileStore },
): Promise<OrganizationManifest> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'cairn-org-export-'));
  try {
    const { manifest, keys } = await rawTransaction(database, async (conn) => {
      await conn.query('set transaction isolation level repeatable read, read only');
      for (const s of STABLE_TEXT) await conn.query(s);
      await conn.query(`select set_config('app.org_id', $1, true)`, [orgId]);
      const { rows: orgs } = await conn.query<{ id: string; name: string; slug: string }>(
        'select id, name, slug from organizations where id = $1',
        [orgId],
      );
      const org = orgs[0];
      if (!org) throw new OrganizationArchiveError('organization_not_found', `no organization ${orgId}`);
      const tables = await tenantTables(conn);
      await mkdir(path.join(work, 'tables'));
      await mkdir(path.join(work, 'users'));
      await dumpRows(
        conn,
        'select * from organizations where id = $1',
        [orgId],
        path.join(work, 'tables', 'organizations.jsonl'),
      );
      for (const t of tables)
        await dumpRows(
          conn,
          `select * from ${quoteIdent(t.name)} where ${quoteIdent(t.orgColumn)} = $1`,
          [orgId],
          path.join(work, 'tables', `${t.name}.jsonl`),
        );
      const memberUsers = 'select user_id from members where organization_id = $1';
      const users = await dumpRows(
        conn,
        `select * from users where id in (${memberUsers}) order by id`,
        [orgId],
        path.join(work, 'users', 'users.jsonl'),
      );
      if (options.credentials) {
        await dumpRows(
          conn,
          `select * from accounts where provider_id = 'credential' and user_id in (${memberUsers})`,
          [orgId],
          path.join(work, 'users', 'accounts.jsonl'),
        );
        await dumpRows(
          conn,
          `select * from two_factors where user_id in (${memberUsers})`,
          [orgId],
          path.join(work, 'users', 'two_factors.jsonl'),
        );
      }
      const { rows: stored } = await conn.query<{ id: string; key: string }>(
        `select id, storage_key as key from files where org_id = $1 and status = 'stored' and storage_key is not null`,
        [orgId],
      );
      const sums = await organizationSums(conn, tables, orgId);
      const manifest: OrganizationManifest = {
        format: ORGANIZATION_ARCHIVE_FORMAT,
        kind: 'cairn-organization',
        organization: org,
        exported_at: new Date().toISOString(),
        migration: await newestMigration(conn),
        credentials: options.credentials,
        users,
        files: stored.length,
        tables: sums,
      };
      return { manifest, keys: stored };
    });
    await mkdir(path.join(work, 'files'));
    for (const k of keys)
      await pipeline(await options.fileStore.open(k.key), createWriteStream(path.join(work, 'files', k.id)));
    await writeFile(path.join(work, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await packDirectory(work, file);
    return manifest;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Packs a directory's files (one level of folders) into a gzipped tar, manifest first. */
async function packDirectory(dir: string, file: string): Promise<void> {
  const names = ['manifest.json'];
  for (const folder of ['tables', 'users', 'files'])
    for (const name of (await readdir(path.join(dir, folder))).sort()) names.push(`${folder}/${name}`);
  const pack = tar.pack();
  const written = pipeline(pack, createGzip(), createWriteStream(`${file}.partial`, { mode: 0o600 }));
  for (const name of names) {
    const full = path.join(dir, name);
    const { size } = await stat(full);
    await new Promise<void>((resolve, reject) => {
      const entry = pack.entry({ name, size, mode: 0o600 }, (error) => (error ? reject(error) : resolve()));
      createReadStream(full).on('error', reject).pipe(entry);
    });
  }
  pack.finalize();
  await written;
  await rename(`${file}.partial`, file);
}

/** Unpacks an archive into `dir`, refusing any entry name outside the three folders. */
async function unpack(file: string, dir: string): Promise<void> {
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const name = header.name;
      const allowed =
        header.type === 'file' &&
        (name === 'manifest.json' ||
          /^(tables|users)\/[a-z0-9_]+\.jsonl$/.test(name) ||
          /^files\/[0-9a-f-]{36}$/.test(name));
      if (!allowed) {
        stream.resume();
        reject(new OrganizationArchiveError('not_an_archive', `unexpected entry in the archive: ${name}`));
        return;
      }
      const target = path.join(dir, name);
      mkdir(path.dirname(target), { recursive: true })
        .then(() => pipeline(stream as unknown as Readable, createWriteStream(target, { mode: 0o600 })))
        .then(() => next(), reject);
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  try {
    await Promise.all([pipeline(createReadStream(file), createGunzip(), extract), done]);
  } catch (error) {
    throw error instanceof OrganizationArchiveError
      ? error
      : new OrganizationArchiveError(
          'not_an_archive',
          `not an organization archive: ${(error as Error).message}`,
        );
  }
}

/** Inserts a JSON-lines file's rows into a table, 1,000 at a time, through PostgreSQL's own JSON. */
async function loadRows(conn: SqlExecutor, table: string, columns: string[], file: string): Promise<number> {
  const cols = columns.map(quoteIdent).join(', ');
  const insert = `insert into ${quoteIdent(table)} (${cols}) select ${cols} from json_populate_recordset(null::${quoteIdent(table)}, $1::json)`;
  let batch: string[] = [];
  let count = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await conn.query(insert, [`[${batch.join(',')}]`]);
    count += batch.length;
    batch = [];
  };
  for await (const line of createInterface({
    input: createReadStream(file),
    crlfDelay: Number.POSITIVE_INFINITY,
  })) {
    if (!line) continue;
    batch.push(line);
    if (batch.length >= 1000) await flush();
  }
  await flush();
  return count;
}

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

export type OrganizationRestoreReport = {
  organization: OrganizationManifest['organization'];
  tables: number;
  rows: number;
  users_created: number;
  files: number;
  duration_ms: number;
};

/**
 * Restores an exported organization into `database`, in one transaction: its members' users
 * (those the install does not have yet; without credentials in the archive they sign in after
 * "Forgot password"), the organization, every tenant row with its id, then its files; the row
 * count and checksum of every table are compared with the manifest before the commit.
 * @throws OrganizationArchiveError `not_an_archive`; `organization_exists` (the id is in use:
 *   delete it first); `migration_mismatch` (migrate the older side first); `user_conflict` (an
 *   e-mail of the archive belongs to another user here); `verify_failed` (nothing is kept)
 */
export async function restoreOrganization(
  database: Database,
  file: string,
  options: { fileStore: FileStore },
): Promise<OrganizationRestoreReport> {
  const started = Date.now();
  const work = mkdtempSync(path.join(os.tmpdir(), 'cairn-org-restore-'));
  const put: string[] = [];
  try {
    await unpack(file, work);
    let manifest: OrganizationManifest;
    try {
      manifest = JSON.parse(await readFile(path.join(work, 'manifest.json'), 'utf8')) as OrganizationManifest;
    } catch {
      throw new OrganizationArchiveError('not_an_archive', 'the archive has no readable manifest.json');
    }
    if (manifest.kind !== 'cairn-organization' || manifest.format !== ORGANIZATION_ARCHIVE_FORMAT)
      throw new OrganizationArchiveError(
        'not_an_archive',
        'not a Cairn organization archive of a known format',
      );
    const orgId = manifest.organization.id;
    const report = await rawTransaction(database, async (conn) => {
      for (const s of STABLE_TEXT) await conn.query(s);
      // Rows go back as they were: no trigger re-derives them, and foreign keys between the
      // tables are checked by the checksums instead of in insertion order.
      await conn.query('set local session_replication_role = replica');
      await conn.query(`select set_config('app.org_id', $1, true)`, [orgId]);
      const migration = await newestMigration(conn);
      if (migration !== manifest.migration)
        throw new OrganizationArchiveError(
          'migration_mismatch',
          `the archive was written under migration ${manifest.migration}, this database is at ${migration}`,
        );
      const { rows: clash } = await conn.query('select 1 from organizations where id = $1', [orgId]);
      if (clash.length)
        throw new OrganizationArchiveError(
          'organization_exists',
          `organization ${manifest.organization.name} (${orgId}) is already here; delete it before restoring it`,
        );
      const usersCreated = await restoreUsers(conn, work);
      const tables = await tenantTables(conn);
      let rows = await loadRows(
        conn,
        'organizations',
        await columnsOf(conn, 'organizations'),
        path.join(work, 'tables', 'organizations.jsonl'),
      );
      for (const t of tables) {
        const source = path.join(work, 'tables', `${t.name}.jsonl`);
        if (await exists(source)) rows += await loadRows(conn, t.name, t.columns, source);
      }
      const mismatches = compare(manifest.tables, await organizationSums(conn, tables, orgId));
      if (mismatches.length)
        throw new OrganizationArchiveError(
          'verify_failed',
          `restored rows differ from the archive: ${mismatches.join('; ')}`,
        );
      const { rows: stored } = await conn.query<{ id: string; key: string; type: string | null }>(
        `select id, storage_key as key, content_type as type from files
          where org_id = $1 and status = 'stored' and storage_key is not null`,
        [orgId],
      );
      for (const f of stored) {
        const source = path.join(work, 'files', f.id);
        if (!(await exists(source))) continue;
        await options.fileStore.put(f.key, source, f.type ?? 'application/octet-stream');
        put.push(f.key);
      }
      return { tables: tables.length + 1, rows, users_created: usersCreated, files: put.length };
    });
    return { organization: manifest.organization, ...report, duration_ms: Date.now() - started };
  } catch (error) {
    for (const key of put) await options.fileStore.remove(key).catch(() => undefined);
    throw error;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function columnsOf(conn: SqlExecutor, table: string): Promise<string[]> {
  const { rows } = await conn.query<{ name: string }>(
    `select attname::text as name from pg_attribute
      where attrelid = $1::regclass and attnum > 0 and not attisdropped and attgenerated = '' and attidentity <> 'a'
      order by attnum`,
    [`public.${table}`],
  );
  return rows.map((r) => r.name);
}

/**
 * The archive's users that this install does not have (same id): created, with their password
 * and second factor when the archive carries them; without, two-factor sign-in is off for them
 * until they set it up again. A user here with the same e-mail and another id is a conflict.
 */
async function restoreUsers(conn: SqlExecutor, work: string): Promise<number> {
  const users = (await readFile(path.join(work, 'users', 'users.jsonl'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => ({ line, user: JSON.parse(line) as { id: string; email: string } }));
  if (users.length === 0) return 0;
  const { rows: here } = await conn.query<{ id: string; email: string }>(
    'select id, email from users where id = any($1::uuid[]) or email = any($2::text[])',
    [users.map((u) => u.user.id), users.map((u) => u.user.email)],
  );
  const ids = new Set(here.map((r) => r.id));
  const conflicts = here.filter((r) => !users.some((u) => u.user.id === r.id)).map((r) => r.email);
  if (conflicts.length)
    throw new OrganizationArchiveError(
      'user_conflict',
      `these e-mails belong to other users in this install: ${conflicts.join(', ')}`,
    );
  const fresh = users.filter((u) => !ids.has(u.user.id));
  if (fresh.length === 0) return 0;
  const freshIds = new Set(fresh.map((u) => u.user.id));
  const only = async (name: string) => {
    const file = path.join(work, 'users', `${name}.jsonl`);
    if (!(await exists(file))) return [];
    return (await readFile(file, 'utf8'))
      .split('\n')
      .filter((line) => line && freshIds.has((JSON.parse(line) as { user_id: string }).user_id));
  };
  const insertLines = async (table: string, lines: string[]) => {
    if (!lines.length) return;
    const cols = (await columnsOf(conn, table)).map(quoteIdent).join(', ');
    await conn.query(
      `insert into ${quoteIdent(table)} (${cols}) select ${cols} from json_populate_recordset(null::${quoteIdent(table)}, $1::json)`,
      [`[${lines.join(',')}]`],
    );
  };
  await insertLines(
    'users',
    fresh.map((u) => u.line),
  );
  const accounts = await only('accounts');
  const secondFactors = await only('two_factors');
  await insertLines('accounts', accounts);
  await insertLines('two_factors', secondFactors);
  const withSecret = new Set(secondFactors.map((line) => (JSON.parse(line) as { user_id: string }).user_id));
  const without = [...freshIds].filter((id) => !withSecret.has(id));
  if (without.length)
    await conn.query('update users set two_factor_enabled = false where id = any($1::uuid[])', [without]);
  return fresh.length;
}

function compare(expected: OrganizationTableSum[], actual: OrganizationTableSum[]): string[] {
  const found = new Map(actual.map((t) => [t.table, t]));
  const out: string[] = [];
  for (const e of expected) {
    const a = found.get(e.table);
    if (!a) {
      if (e.rows > 0) out.push(`${e.table}: missing here`);
      continue;
    }
    if (a.rows !== e.rows || a.checksum !== e.checksum)
      out.push(
        `${e.table}: ${a.rows} rows (checksum ${a.checksum}), archive ${e.rows} (checksum ${e.checksum})`,
      );
  }
  return out;
}

export type OrganizationPurgeReport = {
  tables: number;
  rows: number;
  files: number;
  /** Queued jobs of the organization (reminders, deliveries, scheduled runs) dropped unrun. */
  jobs: number;
};

/**
 * Deletes an organization with every row of every tenant table and every stored file. Works in
 * short transactions of at most 5,000 rows (on the embedded database other requests keep
 * answering between them); the organization's own row goes last, so a purge cut short is
 * taken up again by the next run. Its members' sessions lose it (they pick another organization).
 * Its jobs still waiting in `jobs` are dropped with it (`JobQueue.dropQueuedOf`).
 */
export async function purgeOrganization(
  database: Database,
  orgId: string,
  fileStore: FileStore,
  jobs: Pick<JobQueue, 'dropQueuedOf'>,
): Promise<OrganizationPurgeReport> {
  const { tables, keys } = await rawTransaction(database, async (conn) => {
    const tables = await tenantTables(conn);
    await conn.query(`select set_config('app.org_id', $1, true)`, [orgId]);
    const { rows } = await conn.query<{ key: string }>(
      'select storage_key as key from files where org_id = $1 and storage_key is not null',
      [orgId],
    );
    return { tables, keys: rows.map((r) => r.key) };
  });
  let files = 0;
  for (const key of keys) {
    await fileStore.remove(key);
    files += 1;
  }
  let rows = 0;
  for (const t of tables) {
    for (;;) {
      const deleted = await rawTransaction(database, async (conn) => {
        await conn.query('set local session_replication_role = replica');
        await conn.query(`select set_config('app.org_id', $1, true)`, [orgId]);
        const { rows: gone } = await conn.query(
          `delete from ${quoteIdent(t.name)} where ctid in (
             select ctid from ${quoteIdent(t.name)} where ${quoteIdent(t.orgColumn)} = $1 limit 5000) returning 1`,
          [orgId],
        );
        return gone.length;
      });
      rows += deleted;
      if (deleted < 5000) break;
    }
  }
  rows += await rawTransaction(database, async (conn) => {
    await conn.query('update sessions set active_organization_id = null where active_organization_id = $1', [
      orgId,
    ]);
    const { rows: gone } = await conn.query('delete from organizations where id = $1 returning 1', [orgId]);
    return gone.length;
  });
  const dropped = await jobs.dropQueuedOf(orgId);
  // Its members' sessions this process reuses end now (other processes: within SESSION_CACHE_MS).
  forgetCachedSessions();
  return { tables: tables.length + 1, rows, files, jobs: dropped };
}
