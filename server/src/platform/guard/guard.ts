import { and, eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import { runOutsideDbBudget } from '../../db/budget.js';
import type { Database } from '../../db/client.js';
import { withTenant } from '../../db/tenant.js';
import type { Principal } from '../access/principal.js';
import { ExpiringCache } from '../cache/expiring-cache.js';
import { guardSettings } from './guard.schema.js';
import {
  type Budget,
  defaultBudgets,
  GUARD_METRICS,
  type GuardMetric,
  type RoleBudgets,
} from './guard-budgets.js';
import type { CounterKey, GuardStore } from './guard-store.js';

/** Who the guard counts: a user or an API key, in one organization, under one role. */
export type GuardSubject = {
  orgId: string;
  /** `user:<user id>` or `key:<api key id>`. */
  subject: string;
  type: 'user' | 'api_key';
  /** The user; for an API key, the admin who issued it. */
  userId: string;
  apiKeyId: string | null;
  /** The user's e-mail or the key's name. */
  label: string;
  /** The role key whose budgets apply: a custom role's own key (its budgets default to `user`'s). */
  role: string;
};

/** The subject of a principal acting in an organization, or null (no organization yet). */
export function subjectOf(p: Principal | null): GuardSubject | null {
  if (!p?.orgId || !p.role) return null;
  return p.type === 'api_key'
    ? {
        orgId: p.orgId,
        subject: `key:${p.apiKeyId}`,
        type: 'api_key',
        userId: p.userId,
        apiKeyId: p.apiKeyId ?? null,
        label: p.name,
        role: p.customRole ?? p.role,
      }
    : {
        orgId: p.orgId,
        subject: `user:${p.userId}`,
        type: 'user',
        userId: p.userId,
        apiKeyId: null,
        label: p.email,
        role: p.customRole ?? p.role,
      };
}

/** A threshold crossed: by whom, on which metric, the count and budget, the latest trace ids. */
export type GuardCrossing = {
  subject: GuardSubject;
  metric: GuardMetric;
  total: number;
  budget: Budget;
  /** Every metric's count (in its own window) as this process knows it. */
  counts: Record<GuardMetric, number>;
  traceIds: string[];
  traceId: string;
};

export type GuardHandlers = {
  /** A warn threshold was reached (once per window and counter). */
  onWarn(crossing: GuardCrossing): Promise<void>;
  /** A block threshold was crossed: open the incident, lock and revoke (awaited before refusing). */
  onBlock(crossing: GuardCrossing): Promise<void>;
};

type Counter = {
  key: CounterKey;
  /** The rolling total every process had flushed, as last read. */
  shared: number;
  sharedAtMs: number;
  /** Counted here and being flushed. */
  inflight: number;
  /** Counted here since. */
  pending: number;
  lastUsedMs: number;
};

/** How often counts are flushed to the shared store, ms (`GUARD_FLUSH_MS`). */
export const DEFAULT_FLUSH_MS = 1000;
/** A counter untouched this long is not read back at each flush, and its shared total goes stale. */
const ACTIVE_MS = 10_000;
/** A counter untouched this long is forgotten by the process. */
const EVICT_MS = 120_000;
/** How many of a subject's latest trace ids an incident keeps. */
const TRACE_IDS_KEPT = 20;
/** A blocked subject is refused at once by this process for this long (then by its lock). */
const BLOCKED_MS = 60_000;
/** How long a process reuses an organization's guard settings, ms. */
const SETTINGS_CACHE_MS = 10_000;

const counterId = (k: CounterKey) => `${k.orgId}|${k.subject}|${k.metric}|${k.windowSeconds}`;
const subjectId = (orgId: string, subject: string) => `${orgId}|${subject}`;

/** Budgets an organization set, by role key; roles and metrics it did not set keep the defaults. */
export type OrgBudgets = Record<string, Partial<RoleBudgets>>;

/**
 * The guard (issue 22). Counts, per subject and metric, what requests read, export, delete and
 * had refused; keeps the counts in this process and adds them to the shared store (PostgreSQL or
 * Redis) in one batch per `flushMs`, reading the rolling totals back in the same round trip, so a
 * request pays no database round trip for being counted. A decision is the shared total plus what
 * this process counted since; another process's counts arrive within one flush. Crossing a warn
 * threshold calls `onWarn`; crossing a block threshold calls `onBlock` and the subject is refused
 * (403 `guard_blocked`) from then on.
 */
export class Guard {
  private readonly counters = new Map<string, Counter>();
  private readonly blocked = new Map<string, number>();
  private readonly traces = new Map<string, string[]>();
  private readonly warned = new Map<string, number>();
  private readonly settings = new ExpiringCache<OrgBudgets>(SETTINGS_CACHE_MS, 10_000);
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private handlers: GuardHandlers | undefined;

  constructor(
    private readonly database: Database,
    private readonly store: GuardStore,
    private readonly logger: Logger,
    readonly flushMs: number = DEFAULT_FLUSH_MS,
  ) {}

  /** What happens on crossings (the incident service); set once at start-up. */
  setHandlers(handlers: GuardHandlers): void {
    this.handlers = handlers;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
    await this.store.close();
  }

  /** The organization's budgets as set by its admins (cached per process for 10 s). */
  async orgBudgets(orgId: string): Promise<OrgBudgets> {
    const cached = this.settings.peek(orgId);
    if (cached) return cached;
    const loaded = await this.settings.get(orgId, () =>
      runOutsideDbBudget(() => loadOrgBudgets(this.database, orgId)),
    );
    return loaded ?? {};
  }

  /** The budgets of a role in an organization: its admins' settings over the defaults. */
  async budgetsOf(orgId: string, role: string): Promise<RoleBudgets> {
    const set = (await this.orgBudgets(orgId))[role] ?? {};
    const defaults = defaultBudgets(role);
    return Object.fromEntries(GUARD_METRICS.map((m) => [m, set[m] ?? defaults[m]])) as RoleBudgets;
  }

  /** Drops this process's copy of an organization's settings (they changed). */
  forgetSettings(orgId: string): void {
    this.settings.delete(orgId);
  }

  isBlocked(s: GuardSubject): boolean {
    const until = this.blocked.get(subjectId(s.orgId, s.subject));
    return until !== undefined && until > Date.now();
  }

  /**
   * Counts `n` for a subject's metric and says what the count now crosses. Pure memory: no I/O
   * (a counter this process has not read for a while asks for an early flush, in the background).
   */
  count(
    s: GuardSubject,
    metric: GuardMetric,
    n: number,
    budget: Budget,
    traceId: string,
  ): { total: number; warn: boolean; block: boolean } {
    const now = Date.now();
    const key: CounterKey = {
      orgId: s.orgId,
      subject: s.subject,
      metric,
      windowSeconds: budget.window_seconds,
    };
    const id = counterId(key);
    let c = this.counters.get(id);
    if (!c) {
      c = { key, shared: 0, sharedAtMs: 0, inflight: 0, pending: 0, lastUsedMs: now };
      this.counters.set(id, c);
    }
    const stale = now - c.sharedAtMs > ACTIVE_MS;
    c.pending += n;
    c.lastUsedMs = now;
    if (stale && !this.flushing) void runOutsideDbBudget(() => this.flush());
    const sid = subjectId(s.orgId, s.subject);
    const traces = this.traces.get(sid) ?? [];
    if (traces[traces.length - 1] !== traceId) traces.push(traceId);
    if (traces.length > TRACE_IDS_KEPT) traces.shift();
    this.traces.set(sid, traces);
    const total = this.totalOf(c, now);
    const warnedAt = this.warned.get(id);
    const warn =
      total >= budget.warn && (warnedAt === undefined || now - warnedAt > budget.window_seconds * 1000);
    if (warn) this.warned.set(id, now);
    return { total, warn, block: total > budget.block };
  }

  private totalOf(c: Counter, now: number): number {
    const shared = now - c.sharedAtMs <= ACTIVE_MS + this.flushMs ? c.shared : 0;
    return shared + c.inflight + c.pending;
  }

  /** Every metric's count of a subject, as this process knows it. */
  countsOf(s: GuardSubject): Record<GuardMetric, number> {
    const counts = Object.fromEntries(GUARD_METRICS.map((m) => [m, 0])) as Record<GuardMetric, number>;
    const now = Date.now();
    for (const c of this.counters.values()) {
      if (c.key.orgId === s.orgId && c.key.subject === s.subject) {
        const metric = c.key.metric as GuardMetric;
        counts[metric] = Math.max(counts[metric], this.totalOf(c, now));
      }
    }
    return counts;
  }

  traceIdsOf(s: GuardSubject): string[] {
    return [...(this.traces.get(subjectId(s.orgId, s.subject)) ?? [])];
  }

  /**
   * Reports a crossing to the handlers. A block marks the subject refused in this process and is
   * awaited (the incident is open before the refusal is answered); a warn runs in the background,
   * outside the request's database budget. A handler's failure is logged, never answered.
   */
  async cross(kind: 'warn' | 'block', crossing: GuardCrossing): Promise<void> {
    const run = async () => {
      try {
        if (kind === 'block') await this.handlers?.onBlock(crossing);
        else await this.handlers?.onWarn(crossing);
      } catch (error) {
        this.logger.error(
          { err: error, kind, subject: crossing.subject.subject },
          'guard: handling a crossing failed',
        );
      }
    };
    if (kind === 'warn') {
      void runOutsideDbBudget(run);
      return;
    }
    this.blocked.set(subjectId(crossing.subject.orgId, crossing.subject.subject), Date.now() + BLOCKED_MS);
    await run();
  }

  /** Forgets a subject's counts everywhere (an admin unlocked it) and lifts its refusal here. */
  async reset(orgId: string, subject: string): Promise<void> {
    const sid = subjectId(orgId, subject);
    this.blocked.delete(sid);
    this.traces.delete(sid);
    for (const [id, c] of this.counters) {
      if (c.key.orgId === orgId && c.key.subject === subject) {
        this.counters.delete(id);
        this.warned.delete(id);
      }
    }
    await this.store.reset(orgId, subject);
  }

  /** Adds what this process counted to the shared store and reads the active counters' totals. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = this.flushNow().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    const now = Date.now();
    const active: Counter[] = [];
    for (const [id, c] of this.counters) {
      if (c.pending > 0 || now - c.lastUsedMs < ACTIVE_MS) active.push(c);
      else if (now - c.lastUsedMs > EVICT_MS) {
        this.counters.delete(id);
        this.warned.delete(id);
      }
    }
    for (const [sid, until] of this.blocked) if (until <= now) this.blocked.delete(sid);
    if (active.length === 0) return;
    for (const c of active) {
      c.inflight += c.pending;
      c.pending = 0;
    }
    try {
      const totals = await this.store.flush(
        active.map((c) => ({ ...c.key, count: c.inflight })),
        Math.floor(now / 1000),
      );
      active.forEach((c, i) => {
        c.shared = totals[i] ?? c.shared + c.inflight;
        c.inflight = 0;
        c.sharedAtMs = Date.now();
      });
    } catch (error) {
      // Kept for the next flush: the counts are not lost, only late.
      for (const c of active) {
        c.pending += c.inflight;
        c.inflight = 0;
      }
      this.logger.warn({ err: error }, 'guard: counters not flushed');
    }
  }
}

async function loadOrgBudgets(database: Database, orgId: string): Promise<OrgBudgets> {
  const rows = await withTenant(
    database,
    { orgId, actor: { type: 'system', id: null } },
    ({ tx }) =>
      tx
        .select()
        .from(guardSettings)
        .where(and(eq(guardSettings.orgId, orgId))),
    { readOnly: true },
  );
  const out: OrgBudgets = {};
  for (const r of rows) {
    if (!(GUARD_METRICS as readonly string[]).includes(r.metric)) continue;
    out[r.role] = {
      ...out[r.role],
      [r.metric]: { warn: r.warn, block: r.block, window_seconds: r.windowSeconds },
    };
  }
  return out;
}
