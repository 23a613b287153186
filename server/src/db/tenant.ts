import { sql } from 'drizzle-orm';
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
};

/** What a tenant unit of work receives: the transaction, its context, and the raw connection. */
export type TenantScope = {
  tx: Tx;
  ctx: TenantContext;
  /** The transaction's own connection (for pg-boss `send({db})` and hand-written SQL). */
  conn: SqlExecutor;
};

/** The unprivileged role every tenant query runs as: it cannot bypass row-level security. */
export const APP_ROLE = 'cairn_app';

/**
 * The one way to touch tenant data (DESIGN invariant 3): opens a transaction, switches to the
 * unprivileged `cairn_app` role and sets `app.org_id`, so row-level security hides every other
 * tenant even from a query that forgets its `org_id` filter. Queries still filter by `org_id`.
 * Everything `fn` does commits or rolls back together (events and enqueued jobs included).
 */
export async function withTenant<T>(
  database: Database,
  ctx: TenantContext,
  fn: (scope: TenantScope) => Promise<T>,
): Promise<T> {
  if (!isId(ctx.orgId)) throw new Error(`withTenant: orgId is not a uuid: ${ctx.orgId}`);
  return database.db.transaction(async (tx) => {
    await tx.execute(
      sql`select set_config('role', ${APP_ROLE}, true), set_config('app.org_id', ${ctx.orgId}, true)`,
    );
    return fn({ tx, ctx, conn: rawConnectionOf(tx) });
  });
}

/**
 * The driver connection under a Drizzle transaction: a pg `PoolClient` or a PGlite `Transaction`,
 * both of which answer `query(text, params) -> {rows}`. Drizzle keeps it on its session.
 */
export function rawConnectionOf(tx: Tx): SqlExecutor {
  const client = (tx as unknown as { session: { client: SqlExecutor } }).session.client;
  return { query: (text, params) => client.query(text, params) };
}
