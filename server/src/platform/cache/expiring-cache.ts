/**
 * A bounded in-process cache whose entries expire `ttlMs` after they were loaded, with one load
 * per key at a time: when an entry is missing or expired, concurrent callers share the load the
 * first of them started instead of each sending its own query (issue 18: under load, an expiry
 * otherwise turns into a burst of identical queries queueing for connections).
 *
 * A load that yields `undefined` stores nothing. A caller that joined a load which then failed
 * runs its own load, so one request's failure (its timeout, its client gone) is never another's.
 * A load under way when entries are forgotten (`delete`, `deleteWhere`, `clear`) keeps nothing, since
 * it may have read what was just changed, and a caller after the forgetting starts a load of its own. Past `max` entries the oldest one goes.
 */
export class ExpiringCache<V> {
  readonly #entries = new Map<string, { value: V; at: number }>();
  readonly #loading = new Map<string, Promise<V | undefined>>();
  /** Bumped by every forgetting: a load that started before it returns its value but keeps nothing. */
  #generation = 0;

  /** @param ttlMs how long an entry is reused, ms; @param max the most entries kept */
  constructor(
    readonly ttlMs: number,
    readonly max: number,
  ) {}

  /** The entry of `key` while fresh, else undefined. */
  peek(key: string): V | undefined {
    const hit = this.#entries.get(key);
    return hit && Date.now() - hit.at < this.ttlMs ? hit.value : undefined;
  }

  /**
   * Refresh ahead: the fresh entry of `key` at once, and when it is past half its time to live, a
   * load started in the background (one at a time) that replaces it, so that under steady use the
   * entry never expires and no caller waits for its reload (issue 18: at 200 connections the
   * requests that met an expired session check queued twice for a connection, the tail of p99).
   * An entry is still never used later than `ttlMs` after it was loaded. Only for a `load` that
   * needs nothing of its caller's (no transaction of a request that may end meanwhile).
   * Without a fresh entry: undefined (then `get`). Synchronous, as `peek`: a hit costs no await.
   */
  peekRefreshing(key: string, load: () => Promise<V | undefined>): V | undefined {
    const hit = this.#entries.get(key);
    const age = hit ? Date.now() - hit.at : Number.POSITIVE_INFINITY;
    if (!hit || age >= this.ttlMs) return undefined;
    if (age >= this.ttlMs / 2 && !this.#loading.has(key)) {
      const generation = this.#generation;
      const started = load().then((value) => this.#store(key, value, generation));
      this.#loading.set(key, started);
      started
        .catch(() => {
          // The entry stays until it expires; the caller after that loads it itself.
        })
        .finally(() => {
          if (this.#loading.get(key) === started) this.#loading.delete(key);
        });
    }
    return hit.value;
  }

  /** The fresh entry of `key`, or what `load` yields (shared by concurrent callers), kept. */
  async get(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const fresh = this.peek(key);
    if (fresh !== undefined) return fresh;
    const pending = this.#loading.get(key);
    if (pending) {
      try {
        return await pending;
      } catch {
        const generation = this.#generation;
        return this.#store(key, await load(), generation);
      }
    }
    const generation = this.#generation;
    const started = load().then((value) => this.#store(key, value, generation));
    this.#loading.set(key, started);
    try {
      return await started;
    } finally {
      if (this.#loading.get(key) === started) this.#loading.delete(key);
    }
  }

  /** Forgets `key`. */
  delete(key: string): void {
    this.#generation++;
    this.#entries.delete(key);
    this.#loading.delete(key);
  }

  /** Forgets every key `match` accepts. */
  deleteWhere(match: (key: string) => boolean): void {
    this.#generation++;
    for (const key of this.#entries.keys()) if (match(key)) this.#entries.delete(key);
    for (const key of this.#loading.keys()) if (match(key)) this.#loading.delete(key);
  }

  clear(): void {
    this.#generation++;
    this.#entries.clear();
    this.#loading.clear();
  }

  #store(key: string, value: V | undefined, generation: number): V | undefined {
    if (generation !== this.#generation) return value;
    if (value === undefined) {
      this.#entries.delete(key);
      return value;
    }
    this.#entries.delete(key);
    if (this.#entries.size >= this.max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { value, at: Date.now() });
    return value;
  }
}
