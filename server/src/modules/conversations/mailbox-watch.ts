import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { and, eq, isNull, lt, or, sql } from 'drizzle-orm';
import type { ImapFlow } from 'imapflow';
import { runOutsideDbBudget } from '../../db/budget.js';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import { jobsPausedFor } from '../../platform/plans/org-gate.js';
import { type ChannelRow, imapClientOf } from './channel.service.js';
import { channels } from './conversation.schema.js';

/**
 * How the IDLE watchers behave. `renewMs`: how often a watcher renews its lease and checks that
 * the channel is still connected and its organization not suspended; `leaseMs`: how long a lease
 * holds without renewal (a dead worker's mailbox is taken over after it); `backoffMs`: the waits
 * between reconnections after a failure (the last repeats); `maxIdleMs`: IDLE is restarted this
 * often (RFC 2177 asks for less than 29 minutes; NATs drop quiet connections sooner).
 */
export type WatchOptions = { renewMs: number; leaseMs: number; backoffMs: number[]; maxIdleMs: number };

export const DEFAULT_WATCH_OPTIONS: WatchOptions = {
  renewMs: 20_000,
  leaseMs: 60_000,
  backoffMs: [1_000, 5_000, 15_000, 60_000, 300_000],
  maxIdleMs: 4 * 60_000,
};

export type WatcherState = 'connecting' | 'listening' | 'backoff';

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * One mailbox's IDLE connection (imapflow, https://imapflow.com): the INBOX selected read-only
 * and IDLE on it; every EXISTS the server pushes runs the mailbox's sync (`syncMailbox`, resumable
 * by UID and deduplicated by Message-ID), one at a time. A lost connection is opened again after a
 * growing wait; the periodic sync (`channel.sync`, every `POLL_SECONDS`) goes on meanwhile.
 */
class Watcher {
  state: WatcherState = 'connecting';
  /** Syncs run because the server announced new mail. */
  syncs = 0;
  private readonly abort = new AbortController();
  private client: ImapFlow | null = null;
  private syncing: Promise<void> | null = null;
  private again = false;
  readonly done: Promise<void>;

  constructor(
    private readonly watchers: MailboxWatchers,
    readonly orgId: string,
    readonly channelId: string,
  ) {
    this.done = this.run().finally(() => watchers.forget(this));
  }

  private get ctx(): TenantContext {
    return { orgId: this.orgId, actor: { type: 'system', id: null } };
  }

  stop(): Promise<void> {
    this.abort.abort();
    this.client?.close();
    return this.done;
  }

  /** Runs the sync now, or once more after the running one. */
  private kick(): void {
    if (this.abort.signal.aborted) return;
    if (this.syncing) {
      this.again = true;
      return;
    }
    this.syncing = (async () => {
      do {
        this.again = false;
        this.syncs += 1;
        try {
          await this.watchers.sync(this.ctx, this.channelId);
        } catch {
          // Recorded on the channel (`last_error`); the next EXISTS or poll tries again.
        }
      } while (this.again && !this.abort.signal.aborted);
    })().finally(() => {
      this.syncing = null;
    });
  }

  private async run(): Promise<void> {
    const { services, options } = this.watchers;
    const signal = this.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      const row = await this.watchers.claim(this.orgId, this.channelId).catch(() => null);
      if (!row || signal.aborted) break;
      this.state = 'connecting';
      const client = imapClientOf(services, row, {
        disableAutoIdle: true,
        maxIdleTime: options.maxIdleMs,
        socketTimeout: options.maxIdleMs + 60_000,
      });
      this.client = client;
      client.on('error', () => {});
      const renew = setInterval(() => {
        this.watchers
          .claim(this.orgId, this.channelId)
          .then((still) => {
            // Disconnected, paused, deleted, suspended, or taken over: this watcher ends.
            if (!still) this.abort.abort();
            // Changed settings (another process's PATCH): connect again with them.
            else if (still.updatedAt !== row.updatedAt) client.close();
          })
          .catch(() => {})
          .finally(() => {
            if (signal.aborted) client.close();
          });
      }, options.renewMs);
      try {
        await client.connect();
        await client.mailboxOpen(row.settings.imap!.mailbox, { readOnly: true });
        client.on('exists', () => this.kick());
        failures = 0;
        this.state = 'listening';
        // Whatever arrived while nobody listened.
        this.kick();
        while (!signal.aborted && client.usable) {
          const started = Date.now();
          await client.idle();
          // A server without IDLE answers at once: do not spin.
          if (Date.now() - started < 1_000) await sleep(1_000, signal);
        }
      } catch {
        // The connection failed or dropped: reconnect after the backoff below.
      } finally {
        clearInterval(renew);
        this.client = null;
        client.close();
      }
      if (signal.aborted) break;
      this.state = 'backoff';
      const wait = options.backoffMs[Math.min(failures, options.backoffMs.length - 1)] ?? 60_000;
      failures += 1;
      await sleep(wait, signal);
    }
    await this.syncing?.catch(() => {});
    await this.watchers.release(this.orgId, this.channelId).catch(() => {});
  }
}

/**
 * The worker's IMAP IDLE connections (issue 23): one per connected mailbox across all workers.
 * The polling job (`channel.sync`) calls `ensure` for its channel, so each active IMAP channel
 * gets a watcher within one poll of a worker starting; a lease on the channel's row
 * (`idle_owner`, `idle_until`) keeps a second worker from opening another connection. A watcher
 * ends when its channel is disconnected (deleted, paused, its IMAP server removed), its
 * organization is suspended (checked at each renewal), or the worker stops.
 */
export class MailboxWatchers {
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly watching = new Map<string, Watcher>();
  private stopped = false;

  constructor(
    readonly services: Services,
    /** The mailbox's sync (`syncMailbox`). */
    readonly sync: (ctx: TenantContext, channelId: string) => Promise<unknown>,
    readonly options: WatchOptions,
  ) {}

  /** Starts the channel's watcher unless one runs here already. */
  ensure(orgId: string, channelId: string): void {
    if (this.stopped || this.watching.has(channelId)) return;
    // A long-lived connection: never bound by the budget of the request or job that started it.
    this.watching.set(
      channelId,
      runOutsideDbBudget(() => new Watcher(this, orgId, channelId)),
    );
  }

  /** What the channel's watcher in this process is doing, or null when there is none. */
  stateOf(channelId: string): { state: WatcherState; syncs: number } | null {
    const w = this.watching.get(channelId);
    return w ? { state: w.state, syncs: w.syncs } : null;
  }

  /** Stops the channel's watcher in this process (a channel disconnected through this process). */
  async stop(channelId: string): Promise<void> {
    await this.watching.get(channelId)?.stop();
  }

  async stopAll(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.watching.values()].map((w) => w.stop()));
  }

  forget(w: Watcher): void {
    if (this.watching.get(w.channelId) === w) this.watching.delete(w.channelId);
  }

  /**
   * Takes or renews the channel's lease for this worker.
   * @returns the channel when it is an active IMAP mailbox of an organization not suspended and no
   *   other worker holds a live lease on it; null otherwise (the watcher ends)
   */
  async claim(orgId: string, channelId: string): Promise<ChannelRow | null> {
    if (this.stopped) return null;
    if (await jobsPausedFor(this.services.database, orgId)) return null;
    const ctx: TenantContext = { orgId, actor: { type: 'system', id: null } };
    const [row] = await withTenant(this.services.database, ctx, ({ tx }) =>
      tx
        .update(channels)
        .set({
          idleOwner: this.owner,
          idleUntil: sql`clock_timestamp() + make_interval(secs => ${this.options.leaseMs / 1000})`,
        })
        .where(
          and(
            eq(channels.orgId, orgId),
            eq(channels.id, channelId),
            eq(channels.kind, 'email'),
            eq(channels.status, 'active'),
            sql`${channels.settings} ? 'imap'`,
            sql`not (${channels.settings} ? 'provider')`,
            or(
              isNull(channels.idleOwner),
              eq(channels.idleOwner, this.owner),
              lt(channels.idleUntil, sql`clock_timestamp()`),
            ),
          ),
        )
        .returning(),
    );
    return row ?? null;
  }

  /** Gives the lease up (the channel may be gone: nothing to do then). */
  async release(orgId: string, channelId: string): Promise<void> {
    const ctx: TenantContext = { orgId, actor: { type: 'system', id: null } };
    await withTenant(this.services.database, ctx, ({ tx }) =>
      tx
        .update(channels)
        .set({ idleOwner: null, idleUntil: null })
        .where(
          and(eq(channels.orgId, orgId), eq(channels.id, channelId), eq(channels.idleOwner, this.owner)),
        ),
    );
  }
}

const byServices = new WeakMap<Services, MailboxWatchers>();

/**
 * The process's IDLE watchers, created on first use and stopped with the job queue. Options apply
 * at creation only (tests shorten the renewal).
 */
export function mailboxWatchersOf(
  services: Services,
  sync: MailboxWatchers['sync'],
  options: Partial<WatchOptions> = {},
): MailboxWatchers {
  let watchers = byServices.get(services);
  if (!watchers) {
    watchers = new MailboxWatchers(services, sync, { ...DEFAULT_WATCH_OPTIONS, ...options });
    byServices.set(services, watchers);
    const created = watchers;
    services.jobs.onStop(() => created.stopAll());
  }
  return watchers;
}

/** The process's watchers when any were started (the API stops a disconnected channel's at once). */
export const existingWatchersOf = (services: Services) => byServices.get(services);
