import type { Query } from 'drizzle-orm';
import type { Tx } from './client.js';

/** The part of a Drizzle select query builder (and of its session) a prepared read needs. */
type Internals = {
  _prepare(name: string): PreparedInternals;
  session: {
    prepareQuery(query: Query, fields: unknown, name: string, arrayMode: boolean): PreparedInternals;
  };
};
type PreparedInternals = {
  /** `{ sql, params }`, kept by Drizzle's PgPreparedQuery on every driver. */
  query: Query;
  fields: unknown;
  joinsNotNullableMap: unknown;
  execute(values: Record<string, unknown>): Promise<unknown[]>;
};

/**
 * A Drizzle select built once per process and run in any transaction, for hot reads (issue 18:
 * building the SQL of a read by id was a tenth of its CPU). `build` writes the select with
 * `sql.placeholder(...)` for each value; on the first call its SQL and result mapping are kept,
 * and every later call only fills the placeholders and runs the same text as a named prepared
 * statement (PostgreSQL parses it once per connection). Results are mapped by Drizzle exactly as
 * the builder's own `await` would.
 *
 * Relies on Drizzle's internal `_prepare` and `session.prepareQuery` (drizzle-orm 0.45, what a
 * builder's `.prepare()` calls); the contact read tests fail if an upgrade changes them.
 */
export function preparedSelect<Row>(
  name: string,
  build: (tx: Tx) => unknown,
): (tx: Tx, values: Record<string, unknown>) => Promise<Row[]> {
  let kept: { query: Query; fields: unknown; joins: unknown } | undefined;
  return async (tx, values) => {
    if (!kept) {
      const prepared = (build(tx) as Internals)._prepare(name);
      kept = {
        query: prepared.query,
        fields: prepared.fields,
        joins: prepared.joinsNotNullableMap,
      };
    }
    const session = (tx as unknown as Internals).session;
    const query = session.prepareQuery(kept.query, kept.fields, name, true);
    query.joinsNotNullableMap = kept.joins;
    return (await query.execute(values)) as Row[];
  };
}
