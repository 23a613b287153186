// The loop of batch updates (contact-updates, opportunity-updates): the items checked and applied
// one after another in memory to records read (locked) once, then written all at once.
import { and, eq, inArray } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { TenantScope } from '../../db/tenant.js';
import { AppError, conflict, notFound } from '../../platform/errors/app-error.js';
import { emitEvents, type NewEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';

/**
 * One update of a batch. `input` as a function gets the record as the items before this one left
 * it and answers its update, or null for none; it may be called more than once (the first time
 * to read ahead what the batch refers to) and must not have side effects.
 */
export type RecordChange<V, I> = { id: string; input: I | ((current: V) => I | null) };

/**
 * What became of one change: the record before and after it (`written` false when its input was
 * null: nothing written), or why it was refused (it changed nothing).
 */
export type RecordChangeResult<V> =
  | { ok: true; before: V; after: V; written: boolean }
  | { ok: false; error: AppError };

/** A record while a batch is applied: its row and view as the items so far left them. */
export type ChangeState<R, V> = { row: R; view: V; written: boolean };

/** A tenant table whose records a batch changes. */
type RecordTable = PgTable & { orgId: PgColumn; id: PgColumn };

/** How one kind of record is changed in a batch. */
export type ChangeSpec<T extends RecordTable, V, I, S> = {
  /** The record's name in errors: `Contact`. */
  label: string;
  table: T;
  /** Views of rows, as the API shows them. */
  views(rows: T['$inferSelect'][]): Promise<V[]>;
  /** A record's state before the batch, from its row and view. */
  start(row: T['$inferSelect'], view: V): S;
  /** Reads, once, what the items refer to (every input as the records are before the batch). */
  readAhead(inputs: I[]): Promise<void>;
  /**
   * Applies one item to its record in memory (its row and view replaced).
   * @returns the item's events @throws AppError to refuse the item (before changing anything)
   */
  apply(s: S, input: I): Promise<NewEvent[]>;
  /** Writes the records the batch changed, in a few statements. */
  write(states: S[]): Promise<void>;
};

/** The rows of `table` with these ids in the scope's tenant, by id; locked for update when `lock`. */
async function rowsOf<T extends RecordTable>(
  scope: TenantScope,
  table: T,
  ids: string[],
  lock: boolean,
): Promise<T['$inferSelect'][]> {
  const query = scope.tx
    .select()
    .from(table as PgTable)
    .where(and(eq(table.orgId, scope.ctx.orgId), inArray(table.id, ids)))
    .orderBy(table.id);
  return (lock ? await query.for('update') : await query) as T['$inferSelect'][];
}

/**
 * Applies `changes` in order, in memory, to the records they name (read and locked once, in id
 * order; a missing one is a 404, an archived one a 409 `archived`), then writes the changed ones
 * with `spec.write` and their events with one insert. The last item of each record gets the
 * record's view as stored as its `after`.
 * @returns one result per change, in order
 */
export async function applyChanges<
  T extends RecordTable,
  V extends { id: string },
  I,
  S extends ChangeState<T['$inferSelect'] & { archivedAt: string | null }, V>,
>(
  scope: TenantScope,
  services: Services,
  changes: RecordChange<V, I>[],
  spec: ChangeSpec<T, V, I, S>,
): Promise<RecordChangeResult<V>[]> {
  const ids = [...new Set(changes.map((c) => c.id))].sort();
  if (ids.length === 0) return [];
  const rows = await rowsOf(scope, spec.table, ids, true);
  const views = await spec.views(rows);
  const state = new Map<string, S>(rows.map((row, i) => [row.id as string, spec.start(row, views[i]!)]));
  const inputOf = (change: RecordChange<V, I>, s: S) =>
    typeof change.input === 'function' ? (change.input as (current: V) => I | null)(s.view) : change.input;
  await spec.readAhead(
    changes.flatMap((change) => {
      const s = state.get(change.id);
      const input = s && !s.row.archivedAt ? inputOf(change, s) : null;
      return input ? [input] : [];
    }),
  );
  const results: RecordChangeResult<V>[] = [];
  const events: NewEvent[] = [];
  for (const change of changes) {
    const s = state.get(change.id);
    try {
      if (!s) throw notFound(spec.label, change.id);
      if (s.row.archivedAt)
        throw conflict(
          `This ${spec.label.toLowerCase()} is archived; restore it first`,
          undefined,
          'archived',
        );
      const input = inputOf(change, s);
      const before = s.view;
      if (input) {
        events.push(...(await spec.apply(s, input)));
        s.written = true;
      }
      results.push({ ok: true, before, after: s.view, written: Boolean(input) });
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      results.push({ ok: false, error });
    }
  }
  const written = [...state.entries()].filter(([, s]) => s.written);
  if (written.length === 0) return results;
  await spec.write(written.map(([, s]) => s));
  await emitEvents(scope, services.jobs, events);
  const storedRows = await rowsOf(
    scope,
    spec.table,
    written.map(([id]) => id),
    false,
  );
  const stored = new Map((await spec.views(storedRows)).map((v) => [v.id, v]));
  const last = new Map<string, number>();
  for (const [i, change] of changes.entries()) if (results[i]!.ok) last.set(change.id, i);
  for (const [id, i] of last) {
    const r = results[i]!;
    if (r.ok && r.written) results[i] = { ...r, after: stored.get(id)! };
  }
  return results;
}
