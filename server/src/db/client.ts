import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { citext } from '@electric-sql/pglite/contrib/citext';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import { drizzle as drizzleNodePg, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite, type PgliteDatabase } from 'drizzle-orm/pglite';
import pg from 'pg';
import { type DataDirLock, lockDataDir } from './lock.js';

/**
 * No relational schema: queries name their tables (`db.select().from(contacts)`), so the client
 * does not need every module's tables and `db/` imports nothing from `modules/`. drizzle-kit finds
 * the tables itself (drizzle.config.ts).
 */
export type Schema = Record<string, never>;
/** The Drizzle handle, the same type over both drivers. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
/** A Drizzle transaction, the same type over both drivers. */
export type Tx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;

/** A raw SQL executor: `$1`-style parameters, rows back. Used by the migrator and pg-boss. */
export type SqlExecutor = {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
};

export type Database = {
  kind: 'embedded' | 'server';
  db: Db;
  /** Runs a statement outside any transaction (as the connecting role). */
  raw: SqlExecutor;
  /** Runs several `;`-separated statements without parameters (migrations). */
  exec(sqlText: string): Promise<void>;
  /**
   * Runs `fn` on one dedicated connection (session-level state such as advisory locks holds for
   * the whole call). Embedded: the single PGlite connection.
   */
  withConnection<T>(
    fn: (conn: SqlExecutor & { exec(sqlText: string): Promise<void> }) => Promise<T>,
  ): Promise<T>;
  /** The PGlite instance when embedded (pg-boss's adapter needs it). */
  pglite: PGlite | undefined;
  /** The pool when on a server. */
  pool: pg.Pool | undefined;
  /**
   * Milliseconds a statement may run outside an HTTP request (jobs, imports, commands); requests
   * carry their own shorter budget (`db/budget.ts`). Server: also every connection's default.
   */
  jobStatementTimeoutMs: number;
  close(): Promise<void>;
};

export type OpenDatabaseOptions = {
  /** PostgreSQL server URL; embedded when absent. */
  databaseUrl?: string | undefined;
  /** Embedded: the data directory (the database lives in `dataDir/pg`); `memory://` for tests. */
  dataDir?: string;
  /** Server: connections in the pool. */
  poolSize?: number;
  /** See `Database.jobStatementTimeoutMs`; default 120,000. */
  jobStatementTimeoutMs?: number;
  /** Server: how long a request waits for a free pool connection before a 503, ms; default 5,000. */
  connectTimeoutMs?: number;
};

/**
 * Opens the system of record: a PostgreSQL server when `databaseUrl` is given, otherwise the
 * embedded PGlite under `dataDir/pg` with `pg_trgm` and `citext` loaded. The embedded directory
 * is locked against a second process (PGlite does not lock it and two writers corrupt it).
 * @throws DataDirLockedError when another live process holds the embedded directory
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const jobStatementTimeoutMs = options.jobStatementTimeoutMs ?? 120_000;
  if (options.databaseUrl) {
    return openServer(
      options.databaseUrl,
      options.poolSize ?? 10,
      jobStatementTimeoutMs,
      options.connectTimeoutMs,
    );
  }
  return openEmbedded(options.dataDir ?? './data', jobStatementTimeoutMs);
}

async function openServer(
  url: string,
  max: number,
  jobStatementTimeoutMs: number,
  connectTimeoutMs = 5_000,
): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    application_name: 'cairn',
    // The backstop for statements outside a tenant transaction; a tenant transaction sets its own.
    statement_timeout: jobStatementTimeoutMs,
    // A request queued behind a full pool fails (503) instead of waiting without limit.
    connectionTimeoutMillis: connectTimeoutMs,
    // Statements may be sent before the previous one's answer (https://node-postgres.com/features/pipelining);
    // awaited one by one they behave as without. Read-only tenant transactions use it (db/tenant.ts).
    pipeline: true,
  } as pg.PoolConfig);
  pool.on('error', () => {
    // An idle client lost its connection; the pool replaces it. Queries in flight still fail.
  });
  const db = drizzleNodePg(pool) as NodePgDatabase<Schema> as unknown as Db;
  return {
    kind: 'server',
    db,
    raw: { query: async (text, params) => ({ rows: (await pool.query(text, params)).rows }) },
    exec: async (text) => {
      await pool.query(text);
    },
    withConnection: async (fn) => {
      const client = await pool.connect();
      try {
        return await fn({
          query: async (text, params) => ({ rows: (await client.query(text, params)).rows }),
          exec: async (text) => {
            await client.query(text);
          },
        });
      } finally {
        client.release();
      }
    },
    pglite: undefined,
    pool,
    jobStatementTimeoutMs,
    close: () => pool.end(),
  };
}

async function openEmbedded(dataDir: string, jobStatementTimeoutMs: number): Promise<Database> {
  let lock: DataDirLock | undefined;
  let dir: string | undefined;
  if (dataDir !== 'memory://') {
    const root = path.resolve(dataDir);
    mkdirSync(root, { recursive: true, mode: 0o700 });
    lock = lockDataDir(root);
    dir = path.join(root, 'pg');
  }
  try {
    const pglite = await PGlite.create({
      dataDir: dir,
      extensions: { pg_trgm, citext },
    });
    const db = drizzlePglite(pglite) as PgliteDatabase<Schema> as unknown as Db;
    const raw: SqlExecutor = {
      query: async <R>(text: string, params?: unknown[]) => ({
        rows: (await pglite.query<R>(text, params)).rows,
      }),
    };
    const exec = async (text: string) => {
      await pglite.exec(text);
    };
    return {
      kind: 'embedded',
      db,
      raw,
      exec,
      withConnection: (fn) => fn({ ...raw, exec }),
      pglite,
      pool: undefined,
      jobStatementTimeoutMs,
      close: async () => {
        await pglite.close();
        lock?.release();
      },
    };
  } catch (error) {
    lock?.release();
    throw error;
  }
}

/**
 * Runs `fn` in one transaction on one connection as the connecting role, outside any tenant
 * (operator work: organization export, restore and purge). Commits when `fn` resolves, rolls back
 * when it throws. On the embedded database the transaction is exclusive (PGlite's own
 * `transaction`): no other statement of the process runs inside it, as a plain `begin` on the
 * shared connection would let one do.
 */
export async function rawTransaction<T>(
  database: Database,
  fn: (conn: SqlExecutor) => Promise<T>,
): Promise<T> {
  if (database.pglite)
    return database.pglite.transaction(async (tx) =>
      fn({ query: async (text, params) => ({ rows: (await tx.query(text, params)).rows as never[] }) }),
    );
  return database.withConnection(async (conn) => {
    await conn.query('begin');
    try {
      const result = await fn(conn);
      await conn.query('commit');
      return result;
    } catch (error) {
      await conn.query('rollback');
      throw error;
    }
  });
}
