import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { citext } from '@electric-sql/pglite/contrib/citext';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import pg from 'pg';
import type { Database, SqlExecutor } from '../../db/client.js';
import { lockDataDir } from '../../db/lock.js';

/**
 * Backups that restore (issue 26): a whole install's database, taken while it serves, with a
 * manifest of every table's row count and checksum, so a restore proves that nothing was lost.
 *
 * - Server (DATABASE_URL): `pg_dump --format=custom` run inside an exported snapshot, the manifest
 *   computed in the same snapshot (so it describes exactly the dump's rows); restored with
 *   `pg_restore --single-transaction` into an empty database.
 * - Embedded (PGlite): PGlite's own consistent copy of its data directory (`dumpDataDir`, a
 *   gzipped tarball taken between two statements), opened once in memory to compute the manifest
 *   (which also proves the copy opens); restored into an empty DATA_DIR.
 *
 * A backup is two files in the backup directory: `cairn-<kind>-<UTC time>.dump` or `.tar.gz`,
 * and `<same>.manifest.json`. A restore of one kind into the other is refused (`kind_mismatch`):
 * move between them with the organization export.
 */

export const BACKUP_FORMAT = 1;

export type TableSum = {
  /** `schema.table` */
  table: string;
  rows: number;
  /** The sum of a 64-bit hash of every row's text form (order-free), as a decimal string. */
  checksum: string;
};

export type BackupManifest = {
  format: typeof BACKUP_FORMAT;
  kind: Database['kind'];
  /** The backup file's name, beside this manifest. */
  file: string;
  /** ISO time the snapshot was taken. */
  taken_at: string;
  /** The newest migration applied, as the migrations ledger names it. */
  migration: string | null;
  server_version: string;
  bytes: number;
  /** Milliseconds from start to the manifest written. */
  duration_ms: number;
  tables: TableSum[];
};

export class BackupError extends Error {
  constructor(
    readonly code:
      | 'pg_dump_failed'
      | 'pg_restore_failed'
      | 'not_empty'
      | 'kind_mismatch'
      | 'manifest_missing'
      | 'verify_failed'
      | 'not_a_backup',
    message: string,
  ) {
    super(message);
  }
}

/** Session settings that make a row's text form the same on every server and client. */
const STABLE_TEXT = [
  "set time zone 'UTC'",
  "set datestyle = 'ISO, MDY'",
  "set intervalstyle = 'postgres'",
  'set extra_float_digits = 3',
  "set bytea_output = 'hex'",
  // Refuse rather than silently count only the rows row-level security lets through.
  'set row_security = off',
];

/**
 * Row count and checksum of every table outside the system schemas, in name order. Needs a role
 * that reads every row (a superuser or BYPASSRLS, as pg_dump does).
 */
export async function tableSums(conn: SqlExecutor): Promise<TableSum[]> {
  for (const statement of STABLE_TEXT) await conn.query(statement);
  const { rows: tables } = await conn.query<{ schema: string; name: string }>(
    `select schemaname as schema, tablename as name from pg_tables
      where schemaname not in ('pg_catalog', 'information_schema') and schemaname not like 'pg_temp%'
      order by 1, 2`,
  );
  const sums: TableSum[] = [];
  for (const t of tables) {
    const id = `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
    const { rows } = await conn.query<{ rows: string; checksum: string }>(
      `select count(*)::text as rows, coalesce(sum(hashtextextended(r::text, 0)::numeric), 0)::text as checksum from ${id} as r`,
    );
    sums.push({ table: `${t.schema}.${t.name}`, rows: Number(rows[0]!.rows), checksum: rows[0]!.checksum });
  }
  return sums;
}

/** A SQL identifier, double-quoted. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The newest migration applied, or null where the ledger is missing. */
export async function newestMigration(conn: SqlExecutor): Promise<string | null> {
  try {
    const { rows } = await conn.query<{ tag: string }>(
      'select tag from public.cairn_migrations order by tag desc limit 1',
    );
    return rows[0]?.tag ?? null;
  } catch {
    return null;
  }
}

/** A UTC time as it stands in backup file names (`2026-12-06T171322Z`). */
export const stamp = (d: Date) =>
  d
    .toISOString()
    .replace(/[:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

/** Where a backup's manifest lives: beside its file. */
export const manifestPathOf = (file: string) => `${file.replace(/\.(dump|tar\.gz)$/, '')}.manifest.json`;

/**
 * Takes a backup of `database` into `dir` while it serves.
 * @param databaseUrl the server URL (pg_dump connects with it); unused when embedded
 * @throws BackupError `pg_dump_failed` (server) when pg_dump is missing or fails
 */
export async function takeBackup(
  database: Database,
  dir: string,
  databaseUrl: string | undefined,
): Promise<BackupManifest> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const started = Date.now();
  const takenAt = new Date();
  const base = `cairn-${database.kind}-${stamp(takenAt)}`;
  if (database.kind === 'server') {
    const file = path.join(dir, `${base}.dump`);
    const partial = `${file}.partial`;
    const manifest = await database.withConnection(async (conn) => {
      await conn.query('begin isolation level repeatable read read only');
      try {
        const { rows } = await conn.query<{ snapshot: string }>('select pg_export_snapshot() as snapshot');
        const dump = runTool('pg_dump', [
          '--format=custom',
          `--snapshot=${rows[0]!.snapshot}`,
          `--file=${partial}`,
          '--no-password',
          `--dbname=${databaseUrl}`,
        ]);
        const [tables, migration, version] = await Promise.all([
          tableSums(conn),
          newestMigration(conn),
          conn.query<{ v: string }>('show server_version').then((r) => r.rows[0]!.v),
        ]);
        await dump.catch((error: Error) => {
          throw new BackupError('pg_dump_failed', error.message);
        });
        return { tables, migration, version };
      } finally {
        await conn.query('rollback');
      }
    });
    renameSync(partial, file);
    return writeManifest(file, database.kind, takenAt, started, manifest);
  }
  const pglite = database.pglite!;
  const file = path.join(dir, `${base}.tar.gz`);
  const blob = await pglite.dumpDataDir('gzip');
  const bytes = Buffer.from(await blob.arrayBuffer());
  writeFileSync(`${file}.partial`, bytes, { mode: 0o600 });
  const copy = await PGlite.create({ loadDataDir: new Blob([bytes]), extensions: { pg_trgm, citext } });
  try {
    const wrap = executorOf(copy);
    const [tables, migration, version] = [
      await tableSums(wrap),
      await newestMigration(wrap),
      (await copy.query<{ v: string }>('show server_version')).rows[0]!.v,
    ];
    renameSync(`${file}.partial`, file);
    return writeManifest(file, database.kind, takenAt, started, { tables, migration, version });
  } finally {
    await copy.close();
  }
}

function executorOf(db: PGlite): SqlExecutor {
  return {
    query: async <R>(text: string, params?: unknown[]) => ({ rows: (await db.query<R>(text, params)).rows }),
  };
}

function writeManifest(
  file: string,
  kind: Database['kind'],
  takenAt: Date,
  started: number,
  m: { tables: TableSum[]; migration: string | null; version: string },
): BackupManifest {
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    kind,
    file: path.basename(file),
    taken_at: takenAt.toISOString(),
    migration: m.migration,
    server_version: m.version,
    bytes: statSync(file).size,
    duration_ms: Date.now() - started,
    tables: m.tables,
  };
  writeFileSync(manifestPathOf(file), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  return manifest;
}

/** Reads the manifest beside a backup file. @throws BackupError `manifest_missing`, `not_a_backup` */
export function readManifest(file: string): BackupManifest {
  const at = manifestPathOf(file);
  if (!existsSync(file)) throw new BackupError('not_a_backup', `${file} does not exist`);
  if (!existsSync(at))
    throw new BackupError('manifest_missing', `${at} is missing: a backup is the file and its manifest`);
  const manifest = JSON.parse(readFileSync(at, 'utf8')) as BackupManifest;
  if (manifest.format !== BACKUP_FORMAT || !Array.isArray(manifest.tables)) {
    throw new BackupError('not_a_backup', `${at} is not a Cairn backup manifest`);
  }
  return manifest;
}

export type RestoreReport = { tables: number; rows: number; mismatches: string[]; duration_ms: number };

/** Tables whose count or checksum differ between what the manifest says and what is there. */
export function compareSums(expected: TableSum[], actual: TableSum[]): string[] {
  const have = new Map(actual.map((t) => [t.table, t]));
  const out: string[] = [];
  for (const e of expected) {
    const a = have.get(e.table);
    if (!a) out.push(`${e.table}: missing`);
    else if (a.rows !== e.rows) out.push(`${e.table}: ${a.rows} rows, the backup has ${e.rows}`);
    else if (a.checksum !== e.checksum) out.push(`${e.table}: same row count, different contents`);
  }
  for (const a of actual)
    if (!expected.some((e) => e.table === a.table)) out.push(`${a.table}: not in the backup`);
  return out;
}

/**
 * Restores a server backup into the empty database at `url`, then checks every table against the
 * manifest. The roles the migrations create (cairn_app, cairn_search) are created first when the
 * target cluster lacks them; object owners become the restoring role.
 * @throws BackupError `kind_mismatch`, `not_empty`, `pg_restore_failed`
 */
export async function restoreServer(file: string, url: string): Promise<RestoreReport> {
  const manifest = readManifest(file);
  if (manifest.kind !== 'server') {
    throw new BackupError(
      'kind_mismatch',
      `${file} is an embedded-database backup: restore it with DATABASE_URL unset`,
    );
  }
  const started = Date.now();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      `select count(*)::text as n from pg_tables where schemaname not in ('pg_catalog', 'information_schema')`,
    );
    if (Number(rows[0]!.n) > 0) {
      throw new BackupError(
        'not_empty',
        'the target database has tables: restore into an empty database (createdb)',
      );
    }
    await client.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cairn_app') THEN
        CREATE ROLE cairn_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
      END IF;
      IF NOT pg_has_role(current_user, 'cairn_app', 'MEMBER') THEN
        EXECUTE format('GRANT cairn_app TO %I', current_user);
      END IF;
      IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
         AND NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cairn_search') THEN
        CREATE ROLE cairn_search NOLOGIN BYPASSRLS;
      END IF;
    END $$`);
    await runTool('pg_restore', [
      '--single-transaction',
      '--exit-on-error',
      '--no-owner',
      '--no-password',
      `--dbname=${url}`,
      file,
    ]).catch((error: Error) => {
      throw new BackupError('pg_restore_failed', error.message);
    });
    // The search function runs as cairn_search (BYPASSRLS, migration 0005); --no-owner made it ours.
    await client.query(`DO $$ BEGIN
      IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
         AND to_regprocedure('cairn_search_ids(text, text, integer)') IS NOT NULL THEN
        ALTER FUNCTION cairn_search_ids(text, text, integer) OWNER TO cairn_search;
      END IF;
    END $$`);
    const actual = await tableSums({
      query: async (text, params) => ({ rows: (await client.query(text, params)).rows }),
    });
    return report(manifest, actual, started);
  } finally {
    await client.end();
  }
}

/**
 * Restores an embedded backup into `dataDir` (its `pg` directory must not hold a database), then
 * checks every table against the manifest.
 * @throws BackupError `kind_mismatch`, `not_empty`; DataDirLockedError when a process uses dataDir
 */
export async function restoreEmbedded(file: string, dataDir: string): Promise<RestoreReport> {
  const manifest = readManifest(file);
  if (manifest.kind !== 'embedded') {
    throw new BackupError(
      'kind_mismatch',
      `${file} is a PostgreSQL-server backup: restore it with DATABASE_URL set`,
    );
  }
  const started = Date.now();
  const root = path.resolve(dataDir);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const lock = lockDataDir(root);
  try {
    const dir = path.join(root, 'pg');
    if (existsSync(dir) && readdirSync(dir).length > 0) {
      throw new BackupError('not_empty', `${dir} already holds a database: restore into an empty DATA_DIR`);
    }
    const blob = new Blob([await readFile(file)]);
    const db = await PGlite.create({ dataDir: dir, loadDataDir: blob, extensions: { pg_trgm, citext } });
    try {
      return report(manifest, await tableSums(executorOf(db)), started);
    } finally {
      await db.close();
    }
  } finally {
    lock.release();
  }
}

function report(manifest: BackupManifest, actual: TableSum[], started: number): RestoreReport {
  const mismatches = compareSums(manifest.tables, actual);
  return {
    tables: actual.length,
    rows: actual.reduce((n, t) => n + t.rows, 0),
    mismatches,
    duration_ms: Date.now() - started,
  };
}

/** The backups in `dir` (those with a manifest), newest first. */
export function listBackups(dir: string): { file: string; manifest: BackupManifest }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^cairn-(server|embedded)-.*\.(dump|tar\.gz)$/.test(f))
    .map((f) => path.join(dir, f))
    .filter((f) => existsSync(manifestPathOf(f)))
    .map((file) => ({ file, manifest: readManifest(file) }))
    .sort((a, b) => b.manifest.taken_at.localeCompare(a.manifest.taken_at));
}

/** Keeps the newest `keep` backups in `dir`, deleting the others (file and manifest). */
export function pruneBackups(dir: string, keep: number): string[] {
  const removed: string[] = [];
  for (const { file } of listBackups(dir).slice(keep)) {
    rmSync(file, { force: true });
    rmSync(manifestPathOf(file), { force: true });
    removed.push(path.basename(file));
  }
  return removed;
}

/** Runs a PostgreSQL client tool; rejects with its last lines of stderr. */
function runTool(tool: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString()).slice(-4000);
    });
    child.on('error', (error) =>
      reject(new Error(`${tool}: ${error.message} (install the PostgreSQL client tools)`)),
    );
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${tool} exited ${code}: ${err.trim()}`)),
    );
  });
}
