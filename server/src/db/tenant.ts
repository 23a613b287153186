import type { PGlite } from '@electric-sql/pglite';
import type { RelationalSchemaConfig, TablesRelationalConfig } from 'drizzle-orm';
import { NodePgSession, NodePgTransaction } from 'drizzle-orm/node-postgres';
import type { PgDialect } from 'drizzle-orm/pg-core';
import { PgliteSession, PgliteTransaction } from 'drizzle-orm/pglite';
import pg from 'pg';
import type { AccessProfile } from '../platform/access/access-profile.types.js';
import { type CallerPresence, currentDbBudget, type DbBudget, QueryCanceledError } from './budget.js';
import type { Database, SqlExecutor, Tx } from './client.js';
import { isId } from './ids.js';

/** Who did it (DESIGN invariant 6, the event envelope's `actor`). */
export type Actor = {
  type: 'user' | 'api_key' | 'workflow' | 'system' | 'import';
  id: string | null;
};

/** The tenant and principal a unit of work runs for. `orgId` always comes from the principal. */
export type TenantContext = {
  orgId: string;
  actor: Actor;
  traceId?: string | undefined;
  /**
   * The principal's access profile when it is narrower than a built-in role (a custom role, a
   * scoped API key): every shared record path applies it (`platform/access/access-profile.ts`).
   * Absent for the built-in roles, workflows and the system.
   */
  access?: AccessProfile | undefined;
  /**
   * The principal's role key in the organization (`admin`, `user`, `viewer` or a custom role's),
   * for rules that depend on it (who may set a status); absent for work no member started.
   */
  role?: string | undefined;
};

/** What a tenant unit of work receives: the transaction, its context, and the raw connection. */
export type TenantScope = {
  tx: Tx;
  ctx: TenantContext;
  /** The transaction's own connection (for pg-boss `send({db})` and hand-written SQL). */
  conn: SqlExecutor;
  /**
   * The connection runs in pipeline mode (a PostgreSQL server, see `db/client.ts`): a statement may
   * be sent on `conn` before the answer to the one before it, and they still run in order. Absent
   * on the embedded database, where each statement must be awaited before the next is sent.
   */
  pipeline?: boolean;
  /**
   * When set, `emitEvent` / `emitEvents` collect the ids of the events they append here instead of
   * each enqueuing its own dispatch job; the owner of the scope sends them as one dispatch job
   * before its transaction commits (`flushDispatch`): a workflow step batch's events cost one job,
   * not one per event.
   */
  deferredDispatch?: string[];
};

/** The unprivileged role every tenant query runs as: it cannot bypass row-level security. */
export const APP_ROLE = 'cairn_app';

/**
 * The one way to touch tenant data (DESIGN invariant 3): opens a transaction, switches to the
 * unprivileged `cairn_app` role and sets `app.org_id`, so row-level security hides every other
 * tenant even from a query that forgets its `org_id` filter. Queries still filter by `org_id`.
 * Everything `fn` does commits or rolls back together (events and enqueued jobs included).
 *
 * Bounded (issue 18): the transaction runs under the current `DbBudget` (an HTTP request's
 * `STATEMENT_TIMEOUT_MS`, else the database's job timeout). PostgreSQL's `statement_timeout` bounds
 * each statement, set in the same statement as role and tenant; the whole transaction has the same
 * deadline, checked before each statement, so work made of many short statements is cut too. When
 * the request's client goes away, the running statement is cancelled (server: a protocol
 * CancelRequest) and no further statement runs. Both raise SQLSTATE 57014, which the HTTP layer
 * answers with 503 `statement_timeout`.
 *
 * Embedded (PGlite): the engine runs each statement synchronously on this thread, so no timer can
 * interrupt a statement once it runs (`statement_timeout` is accepted but never fires, measured);
 * only the between-statement deadline holds there, and long work must be made of short statements.
 */
export async function withTenant<T>(
  database: Database,
  ctx: TenantContext,
  fn: (scope: TenantScope) => Promise<T>,
  options: TenantOptions = {},
): Promise<T> {
  if (!isId(ctx.orgId)) throw new Error(`withTenant: orgId is not a uuid: ${ctx.orgId}`);
  const budget = currentDbBudget() ?? { timeoutMs: database.jobStatementTimeoutMs };
  const guard = new StatementGuard(budget);
  guard.check();
  // Literals, not parameters, so that begin and the settings travel as one simple query: the role
  // is a constant, the org id a checked uuid and the timeout an integer.
  const settings =
    `select set_config('role', '${APP_ROLE}', true), set_config('app.org_id', '${ctx.orgId}', true), ` +
    `set_config('statement_timeout', '${Math.max(1, Math.round(budget.timeoutMs))}', true)` +
    (options.readOnly ? `, set_config('transaction_read_only', 'on', true)` : '');
  if (database.pool) {
    if (options.readOnly) return serverReadTransaction(database, database.pool, guard, settings, ctx, fn);
    return serverTransaction(database, database.pool, guard, settings, ctx, fn);
  }
  return embeddedTransaction(database, guard, settings, ctx, fn);
}

export type TenantOptions = {
  /**
   * The unit of work only reads. PostgreSQL enforces it (`transaction_read_only`: a write fails
   * with SQLSTATE 25006), and on a PostgreSQL server the transaction costs fewer round trips:
   * begin and the tenant settings travel in the same write as the first statement (node-postgres
   * pipelining), and the commit is not waited for (nothing to commit), sent with the connection's
   * next traffic. Use it on the hot read paths (a record by id, a list page, search).
   */
  readOnly?: boolean;
};

/** Drizzle internals a hand-opened transaction needs: the dialect and the schema's table map. */
type DrizzleInternals = { dialect: PgDialect; schema: RelationalSchemaConfig<TablesRelationalConfig> };
const internalsOf = (database: Database) => (database.db as unknown as { session: DrizzleInternals }).session;

/**
 * A Drizzle transaction over `client`, a server connection (or a guarded stand-in for one) on
 * which the caller has begun the transaction: the same dialect and schema as `database`.
 */
function drizzleTxOver(database: Database, client: { query: (...args: never[]) => unknown }): Tx {
  const { dialect, schema } = internalsOf(database);
  const session = new NodePgSession(client as unknown as pg.PoolClient, dialect, schema, {});
  return new NodePgTransaction(dialect, session, schema) as unknown as Tx;
}

async function serverTransaction<T>(
  database: Database,
  pool: pg.Pool,
  guard: StatementGuard,
  settings: string,
  ctx: TenantContext,
  fn: (scope: TenantScope) => Promise<T>,
): Promise<T> {
  const checkedOut = await checkOut(pool, guard);
  const { client } = checkedOut;
  const guarded = {
    query: (...args: Parameters<pg.PoolClient['query']>) => {
      guard.check();
      return (client.query as (...a: unknown[]) => unknown)(...args);
    },
  };
  try {
    // begin and the tenant settings in one round trip (simple-query protocol, two statements).
    await client.query(`begin; ${settings}`);
    const tx = drizzleTxOver(database, guarded);
    const result = await fn({ tx, ctx, conn: rawConnectionOf(tx), pipeline: true });
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => {
      checkedOut.discard = true;
    });
    throw error;
  } finally {
    checkedOut.release();
  }
}

/**
 * A read-only tenant transaction on the server, pipelined (https://node-postgres.com/features/pipelining;
 * the pool runs in pipeline mode, see `db/client.ts`). The stream is corked from `begin` until
 * the first statement is queued, so both leave in one write; should `begin` or the settings fail,
 * the transaction is aborted and the statement behind them fails too (SQLSTATE 25P02), and its
 * result is never used. The commit is queued without waiting and leaves with the connection's
 * next write (or on the next turn of the event loop): a read-only transaction has nothing to
 * commit, and the next user of the connection gets its statements answered after the commit's.
 */
async function serverReadTransaction<T>(
  database: Database,
  pool: pg.Pool,
  guard: StatementGuard,
  settings: string,
  ctx: TenantContext,
  fn: (scope: TenantScope) => Promise<T>,
): Promise<T> {
  const checkedOut = await checkOut(pool, guard);
  const { client } = checkedOut;
  const stream = streamOf(client);
  let corked = true;
  const uncork = () => {
    if (!corked) return;
    corked = false;
    stream.uncork();
  };
  stream.cork();
  const begun = client.query(`begin; ${settings}`);
  begun.catch(() => {
    // Awaited below; this keeps an early failure from being reported as unhandled meanwhile.
  });
  const guarded = {
    query: (...args: Parameters<pg.PoolClient['query']>) => {
      guard.check();
      const result = (client.query as (...a: unknown[]) => Promise<unknown>)(...args);
      uncork();
      result.catch(() => {
        // Reported through the chain below (begin's failure first, when it failed).
      });
      return begun.then(() => result);
    },
  };
  try {
    const tx = drizzleTxOver(database, guarded);
    const result = await fn({ tx, ctx, conn: rawConnectionOf(tx) });
    uncork();
    await begun;
    stream.cork();
    client.query('commit').catch(() => {
      // Nothing to commit in a read-only transaction; a broken connection is dropped by the pool.
    });
    setImmediate(() => stream.uncork());
    return result;
  } catch (error) {
    uncork();
    client.query('rollback').catch(() => {
      // A broken connection is dropped by the pool; the caller gets the original error.
    });
    throw error;
  } finally {
    checkedOut.release();
  }
}

/**
 * A pool connection for one tenant transaction. Waiting longer than the pool's connection timeout
 * is a 57014 timeout like any other. When the caller goes away the running statement is cancelled
 * and the connection is not reused: a late CancelRequest must never hit the next request.
 */
async function checkOut(pool: pg.Pool, guard: StatementGuard) {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    if (/timeout/i.test(String((error as Error).message))) throw new QueryCanceledError('timeout');
    throw error;
  }
  const checkedOut = {
    client,
    discard: false,
    release: () => {
      stop();
      client.release(checkedOut.discard || undefined);
    },
  };
  const stop = guard.onClientGone(() => {
    checkedOut.discard = true;
    cancelRunningQuery(client);
  });
  return checkedOut;
}

/** The socket under a pg client (corked around pipelined writes). */
const streamOf = (client: pg.PoolClient) =>
  (client as unknown as { connection: { stream: { cork(): void; uncork(): void } } }).connection.stream;

async function embeddedTransaction<T>(
  database: Database,
  guard: StatementGuard,
  settings: string,
  ctx: TenantContext,
  fn: (scope: TenantScope) => Promise<T>,
): Promise<T> {
  const { dialect, schema } = internalsOf(database);
  return database.pglite!.transaction(async (ptx) => {
    await ptx.query(settings);
    const guarded = {
      query: (...args: Parameters<typeof ptx.query>) => {
        guard.check();
        return ptx.query(...args);
      },
      exec: (...args: Parameters<typeof ptx.exec>) => {
        guard.check();
        return ptx.exec(...args);
      },
    };
    const session = new PgliteSession(guarded as unknown as PGlite, dialect, schema, {});
    const tx = new PgliteTransaction(dialect, session, schema) as unknown as Tx;
    return fn({ tx, ctx, conn: rawConnectionOf(tx) });
  });
}

/** The deadline and the caller's presence, checked before each statement of a transaction. */
class StatementGuard {
  private readonly deadline: number;
  private readonly caller: CallerPresence | undefined;

  constructor(budget: DbBudget) {
    this.deadline = Date.now() + budget.timeoutMs;
    this.caller = budget.caller;
  }

  /** @throws QueryCanceledError once the deadline passed or the caller went away */
  check(): void {
    if (this.caller?.gone) throw new QueryCanceledError('client_gone');
    if (Date.now() > this.deadline) throw new QueryCanceledError('timeout');
  }

  /** Calls `cancel` when the caller goes away; returns the unsubscribe. */
  onClientGone(cancel: () => void): () => void {
    return this.caller ? this.caller.onGone(cancel) : () => {};
  }
}

/**
 * Asks the server to cancel what `client` runs now: a CancelRequest on a new socket, as libpq's
 * PQcancel does (https://www.postgresql.org/docs/15/protocol-flow.html#id-1.10.6.7.10). No pool
 * slot and no authentication needed; the cancelled statement fails with 57014.
 */
function cancelRunningQuery(client: pg.PoolClient): void {
  const { processID, secretKey, host, port } = client as unknown as {
    processID: number | null;
    secretKey: number | null;
    host: string;
    port: number;
  };
  if (processID === null || secretKey === null) return;
  // pg's Connection does the protocol; its typings omit connect() and cancel().
  const connection = new pg.Connection() as unknown as {
    on(event: string, listener: () => void): void;
    connect(portOrPath: number | string, host: string): void;
    cancel(processID: number, secretKey: number): void;
  };
  connection.on('error', () => {
    // Best effort: the statement then ends at its statement_timeout.
  });
  connection.on('connect', () => {
    connection.cancel(processID, secretKey);
  });
  connection.connect(host.startsWith('/') ? `${host}/.s.PGSQL.${port}` : port, host);
}

/**
 * The driver connection under a Drizzle transaction: a pg `PoolClient` or a PGlite `Transaction`,
 * both of which answer `query(text, params) -> {rows}`. Drizzle keeps it on its session.
 */
export function rawConnectionOf(tx: Tx): SqlExecutor {
  const client = (tx as unknown as { session: { client: SqlExecutor } }).session.client;
  return { query: (text, params) => client.query(text, params) };
}

/**
 * Sends statements of one tenant transaction in order, each thunk sending one statement (one
 * `conn.query`, called at once). On a connection in pipeline mode (`scope.pipeline`) they leave
 * together, without waiting for each other's answers; on the embedded database each waits for the
 * answer to the one before. Answers come back in order, and the first failure is the one thrown:
 * the statements behind a failed one fail only as "transaction aborted" (SQLSTATE 25P02).
 * @returns the answers, in order
 */
export async function sendInOrder(
  scope: TenantScope,
  statements: readonly (() => Promise<unknown>)[],
): Promise<unknown[]> {
  if (!scope.pipeline) {
    const answers: unknown[] = [];
    for (const statement of statements) answers.push(await statement());
    return answers;
  }
  // Sent now, before the caller's next statement (an async function runs up to its first await).
  const sent = statements.map((statement) => {
    let answer: Promise<unknown>;
    try {
      answer = statement();
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.catch(() => {
      // Awaited below, in order: the first failure is thrown.
    });
    return answer;
  });
  const answers: unknown[] = [];
  for (const answer of sent) answers.push(await answer);
  return answers;
}
