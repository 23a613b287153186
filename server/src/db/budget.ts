import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * How long the database may work for the current unit of work, and whether its caller is still
 * there. An HTTP request runs under one (`STATEMENT_TIMEOUT_MS`, aborted when the client goes
 * away); work outside a request (jobs, imports, commands) has none and gets the database's longer
 * job timeout (`JOB_STATEMENT_TIMEOUT_MS`).
 */
export type DbBudget = {
  /** Milliseconds a statement, and a tenant transaction as a whole, may run. */
  timeoutMs: number;
  /** Told when the caller no longer wants the answer (its HTTP client disconnected). */
  caller?: CallerPresence | undefined;
};

/**
 * Whether the caller of a unit of work is still there: what an AbortSignal says, for the one use
 * here, made for one per HTTP request without an EventTarget's cost.
 */
export class CallerPresence {
  gone = false;
  private listeners: (() => void)[] = [];

  /** The caller went away: tells every listener, once. */
  leave(): void {
    if (this.gone) return;
    this.gone = true;
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) listener();
  }

  /** Calls `listener` when the caller goes away; returns the unsubscribe. */
  onGone(listener: () => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }
}

const storage = new AsyncLocalStorage<DbBudget>();

/** Runs `fn` (and everything it starts) under `budget`. */
export function runWithDbBudget<T>(budget: DbBudget, fn: () => T): T {
  return storage.run(budget, fn);
}

/** The budget of the unit of work running now, if any. */
/**
 * Runs `fn` (and the asynchronous work it starts) outside any request's budget: for work a
 * request starts but does not wait for (a system e-mail kept after the answer is sent), which
 * must not be cut when the request ends. It runs under the job timeout instead.
 */
export function runOutsideDbBudget<T>(fn: () => T): T {
  return storage.exit(fn);
}

export function currentDbBudget(): DbBudget | undefined {
  return storage.getStore();
}

/** SQLSTATE 57014 `query_canceled`: what PostgreSQL raises when `statement_timeout` fires. */
export const QUERY_CANCELED = '57014';

/**
 * Raised in process, with PostgreSQL's own SQLSTATE, when a tenant transaction passes its
 * deadline between statements or its caller went away, so both map to the same client answer.
 */
export class QueryCanceledError extends Error {
  readonly code = QUERY_CANCELED;
  constructor(readonly reason: 'timeout' | 'client_gone') {
    super(
      reason === 'timeout'
        ? 'canceling statement due to statement timeout (transaction deadline)'
        : 'canceling statement: the client went away',
    );
  }
}
