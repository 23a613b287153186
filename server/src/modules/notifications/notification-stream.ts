import pg from 'pg';
import type { Database } from '../../db/client.js';
import { NOTIFY_CHANNEL } from './notification-delivery.service.js';

/**
 * Tells this process's open notification streams that a member's notifications changed. The
 * consumer announces each delivery with `pg_notify` in its transaction, so PostgreSQL sends it
 * on commit to every process that listens: the embedded database through PGlite's `listen`, a
 * PostgreSQL server through one dedicated `LISTEN` connection per process (opened with the first
 * stream, not per stream). Whichever process ran the consumer (a worker, another server), every
 * server with a stream for that member hears it. A stream also re-reads its count every
 * `POLL_MS` (a cheap indexed count), so a lost connection delays a count, never loses it.
 */
export type NotificationHub = {
  /** Calls `listener` when the member's notifications change; returns the unsubscribe. */
  subscribe(orgId: string, userId: string, listener: () => void): () => void;
  close(): Promise<void>;
};

export function createNotificationHub(database: Database, log: (error: unknown) => void): NotificationHub {
  const listeners = new Map<string, Set<() => void>>();
  let stop: (() => Promise<void>) | undefined;
  let starting: Promise<void> | undefined;
  let closed = false;

  const fire = (payload: string) => {
    for (const listener of listeners.get(payload) ?? []) listener();
  };

  const start = async () => {
    if (database.pglite) {
      const unlisten = await database.pglite.listen(NOTIFY_CHANNEL, fire);
      stop = () => unlisten();
      return;
    }
    const options = database.pool!.options as pg.ClientConfig;
    const client = new pg.Client({ connectionString: options.connectionString });
    const reset = () => {
      stop = undefined;
      starting = undefined; // the next stream (or poll) tries again
    };
    client.on('error', (error) => {
      log(error);
      reset();
      void client.end().catch(() => {});
    });
    client.on('notification', (msg) => msg.payload && fire(msg.payload));
    await client.connect();
    await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
    stop = async () => {
      await client.end();
    };
  };

  const ensureStarted = () => {
    if (closed || stop || starting) return;
    starting = start().catch((error) => {
      log(error);
      starting = undefined;
    });
  };

  return {
    subscribe(orgId, userId, listener) {
      const key = `${orgId}:${userId}`;
      const set = listeners.get(key) ?? new Set();
      set.add(listener);
      listeners.set(key, set);
      ensureStarted();
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(key);
      };
    },
    async close() {
      closed = true;
      listeners.clear();
      await starting;
      await stop?.().catch(log);
      stop = undefined;
    },
  };
}

/** How often an open stream re-reads its count besides the pushes, ms (and sends a keep-alive). */
export const POLL_MS = 25_000;
/** How long one stream lives before the server ends it; EventSource reconnects (and re-checks the session). */
export const STREAM_LIFETIME_MS = 15 * 60_000;
