import type { FastifyReply, FastifyRequest } from 'fastify';
import pg from 'pg';
import { runWithDbBudget } from '../../db/budget.js';
import type { Database } from '../../db/client.js';
import { AppError } from '../../platform/errors/app-error.js';
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
  /**
   * Calls `listener` when `topic` is announced (`announce`'s payload; a member's notifications
   * are the topic `<org_id>:<user_id>`, an organization's inbox `<org_id>:inbox`).
   */
  subscribeTopic(topic: string, listener: () => void): () => void;
  close(): Promise<void>;
};

/**
 * Announces `topic` to every process's streams when the caller's transaction commits
 * (`pg_notify` on the hub's channel; see `NotificationHub`).
 */
export async function announce(
  conn: { query: (sql: string, params: unknown[]) => Promise<unknown> },
  topic: string,
): Promise<void> {
  await conn.query('select pg_notify($1, $2)', [NOTIFY_CHANNEL, topic]);
}

/** The one hub of a process's database: every stream (notifications, inbox) shares its LISTEN connection. */
const hubs = new WeakMap<Database, NotificationHub>();
export function notificationHubOf(database: Database, log: (error: unknown) => void): NotificationHub {
  let hub = hubs.get(database);
  if (!hub) {
    const created = createNotificationHub(database, log);
    hub = {
      ...created,
      close: async () => {
        hubs.delete(database);
        await created.close();
      },
    };
    hubs.set(database, hub);
  }
  return hub;
}

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

  const subscribeTopic = (key: string, listener: () => void) => {
    const set = listeners.get(key) ?? new Set();
    set.add(listener);
    listeners.set(key, set);
    ensureStarted();
    return () => {
      set.delete(listener);
      if (set.size === 0) listeners.delete(key);
    };
  };
  return {
    subscribe: (orgId, userId, listener) => subscribeTopic(`${orgId}:${userId}`, listener),
    subscribeTopic,
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

/**
 * Serves one server-sent event stream (notifications' unread count, the inbox): `event` with
 * `read()`'s JSON at once, again whenever `subscribe`'s topic is announced (several announcements
 * within 100 ms make one read) and, when it changed, at each `POLL_MS` poll (a keep-alive
 * otherwise); the server ends it after `STREAM_LIFETIME_MS` (EventSource reconnects).
 * `open` holds the streams' ends so the app's close ends them.
 * @throws 406 `not_acceptable` unless the client asked for `text/event-stream`
 */
export async function serveEventStream<T>(
  req: FastifyRequest,
  reply: FastifyReply,
  o: {
    event: string;
    read: () => Promise<T>;
    subscribe: (listener: () => void) => () => void;
    statementTimeoutMs: number;
    open: Set<() => void>;
    /** Whether an announcement is sent even when the read is unchanged (the inbox: something moved). */
    always?: boolean;
  },
): Promise<void> {
  // A stream never ends by itself: only a client that asks for one gets it.
  if (!String(req.headers.accept ?? '').includes('text/event-stream'))
    throw new AppError(
      406,
      'not_acceptable',
      'This is a server-sent event stream: send Accept: text/event-stream',
      {
        path: 'headers.accept',
      },
    );
  const first = await o.read();
  const raw = reply.raw;
  reply.hijack();
  raw.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let last = JSON.stringify(first);
  let ended = false;
  const send = (data: string) => raw.write(`event: ${o.event}\ndata: ${data}\n\n`);
  raw.write('retry: 5000\n\n');
  send(last);
  let pending: NodeJS.Timeout | undefined;
  const refresh = async (poll: boolean) => {
    if (ended) return;
    try {
      // Its own budget: a push runs in the async context of whichever request or job announced.
      const now = JSON.stringify(await runWithDbBudget({ timeoutMs: o.statementTimeoutMs }, o.read));
      if (ended) return;
      if (now !== last || (!poll && o.always)) send(now);
      else if (poll) raw.write(': keep-alive\n\n');
      last = now;
    } catch (error) {
      req.log.warn({ err: error }, `${o.event} stream read`);
    }
  };
  const unsubscribe = o.subscribe(() => {
    pending ??= setTimeout(() => {
      pending = undefined;
      void refresh(false);
    }, 100);
  });
  const poll = setInterval(() => void refresh(true), POLL_MS);
  const end = () => {
    if (ended) return;
    ended = true;
    o.open.delete(end);
    unsubscribe();
    clearInterval(poll);
    clearTimeout(pending);
    clearTimeout(lifetime);
    raw.end();
  };
  const lifetime = setTimeout(end, STREAM_LIFETIME_MS);
  raw.on('close', end);
  o.open.add(end);
}
