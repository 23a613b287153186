import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Database, SqlExecutor } from './client.js';

/** The folder drizzle-kit writes to (`drizzle.config.ts`), shipped with the server. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

export type Migration = { tag: string; hash: string; statements: string[] };

export type MigrationStatus = {
  applied: { tag: string; appliedAt: string }[];
  /** In the repository, not yet in the database. */
  pending: string[];
  /** In the database, not in the repository (the database is newer than this code). */
  unknown: string[];
  /** Applied, but the file in the repository has changed since. */
  changed: string[];
  /** True when the database and the repository agree. */
  current: boolean;
};

/** The migrations in the repository, in order (drizzle-kit's journal). */
export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const journal = JSON.parse(readFileSync(`${dir}meta/_journal.json`, 'utf8')) as {
    entries: { idx: number; tag: string }[];
  };
  return [...journal.entries]
    .sort((a, b) => a.idx - b.idx)
    .map(({ tag }) => {
      const text = readFileSync(`${dir}${tag}.sql`, 'utf8');
      return {
        tag,
        hash: createHash('sha256').update(text).digest('hex'),
        statements: text
          .split('--> statement-breakpoint')
          .map((s) => s.trim())
          .filter(Boolean),
      };
    });
}

const LEDGER = `create table if not exists public.cairn_migrations (
  tag text primary key,
  hash text not null,
  applied_at timestamptz not null default now()
)`;
// Any constant works: it serialises concurrent `migrate` runs from several processes.
const MIGRATION_LOCK_KEY = 727_146_001;

/** Compares the database's ledger with the repository's migrations. */
export async function migrationStatus(database: Database, dir = MIGRATIONS_DIR): Promise<MigrationStatus> {
  return statusOn(database.raw, readMigrations(dir));
}

async function statusOn(conn: SqlExecutor, migrations: Migration[]): Promise<MigrationStatus> {
  const exists = await conn.query<{ ok: boolean }>(
    `select to_regclass('public.cairn_migrations') is not null as ok`,
  );
  const rows = exists.rows[0]?.ok
    ? (
        await conn.query<{ tag: string; hash: string; applied_at: string }>(
          'select tag, hash, applied_at::text from public.cairn_migrations order by tag',
        )
      ).rows
    : [];
  const known = new Map(migrations.map((m) => [m.tag, m]));
  const applied = new Map(rows.map((r) => [r.tag, r]));
  const pending = migrations.filter((m) => !applied.has(m.tag)).map((m) => m.tag);
  const unknown = rows.filter((r) => !known.has(r.tag)).map((r) => r.tag);
  const changed = rows.filter((r) => known.has(r.tag) && known.get(r.tag)!.hash !== r.hash).map((r) => r.tag);
  return {
    applied: rows.map((r) => ({ tag: r.tag, appliedAt: r.applied_at })),
    pending,
    unknown,
    changed,
    current: pending.length === 0 && unknown.length === 0 && changed.length === 0,
  };
}

/**
 * Applies the pending migrations, each in its own transaction, holding an advisory lock so that
 * several processes starting at once apply each migration exactly once.
 * @returns the tags applied by this call
 * @throws when the database holds migrations this code does not know (refusing to run old code
 *   against a newer schema) or when a migration fails (that migration is rolled back)
 */
export async function migrate(database: Database, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = readMigrations(dir);
  return database.withConnection(async (conn) => {
    await conn.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await conn.exec(LEDGER);
      const status = await statusOn(conn, migrations);
      if (status.unknown.length > 0) {
        throw new Error(
          `The database has migrations this version of Cairn does not know: ${status.unknown.join(', ')}. ` +
            'Run the newer version, or restore a backup that matches this one.',
        );
      }
      const done: string[] = [];
      for (const m of migrations.filter((x) => status.pending.includes(x.tag))) {
        await conn.exec('begin');
        // A migration may rewrite a large table: no statement timeout (the pool's default has one).
        await conn.exec('set local statement_timeout = 0');
        try {
          for (const statement of m.statements) await conn.exec(statement);
          await conn.query('insert into public.cairn_migrations (tag, hash) values ($1, $2)', [
            m.tag,
            m.hash,
          ]);
          await conn.exec('commit');
        } catch (error) {
          await conn.exec('rollback');
          throw new Error(`Migration ${m.tag} failed: ${(error as Error).message}`, { cause: error });
        }
        done.push(m.tag);
      }
      return done;
    } finally {
      await conn.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  });
}
