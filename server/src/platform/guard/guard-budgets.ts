/**
 * The guard's budgets (issue 22): per user and per API key, rolling-window counts of records read,
 * records exported, records deleted or archived, and refused requests on ids (403 / 404). Each role
 * has, per metric, a warn threshold (admins are told), a block threshold (the action is refused,
 * an incident opens, the user is locked) and a window. An API key counts under its own role
 * (`viewer` for a read-only key, else `user`).
 */
export const GUARD_METRICS = ['read', 'export', 'delete', 'denied'] as const;
export type GuardMetric = (typeof GUARD_METRICS)[number];

export const METRIC_LABELS: Record<GuardMetric, string> = {
  read: 'records read',
  export: 'records exported',
  delete: 'records deleted or archived',
  denied: 'requests refused on ids (403 or 404)',
};

export type Budget = {
  /** At this count admins are told (once per window). */
  warn: number;
  /** Past this count the action is refused and an incident opens. */
  block: number;
  /** The rolling window, seconds. */
  window_seconds: number;
};

export type RoleBudgets = Record<GuardMetric, Budget>;

const HOUR = 3600;

/**
 * The built-in defaults. Generous enough that normal work never meets them (a person paging
 * through lists reads a few thousand records an hour; a 10,000-row export once is a fifth of the
 * export warn threshold), tight enough that a scripted download of a whole CRM is stopped: the
 * big CRMs' bulk APIs cap exports at similar orders (tens of thousands of records per hour).
 */
const MEMBER_DEFAULTS: RoleBudgets = {
  read: { warn: 20_000, block: 50_000, window_seconds: HOUR },
  export: { warn: 30_000, block: 60_000, window_seconds: HOUR },
  delete: { warn: 300, block: 1_500, window_seconds: HOUR },
  denied: { warn: 30, block: 100, window_seconds: 600 },
};

export const DEFAULT_BUDGETS: Record<string, RoleBudgets> = {
  admin: {
    read: { warn: 50_000, block: 200_000, window_seconds: HOUR },
    export: { warn: 100_000, block: 250_000, window_seconds: HOUR },
    delete: { warn: 2_000, block: 10_000, window_seconds: HOUR },
    denied: { warn: 50, block: 200, window_seconds: 600 },
  },
  user: MEMBER_DEFAULTS,
  viewer: { ...MEMBER_DEFAULTS, delete: { warn: 50, block: 200, window_seconds: HOUR } },
};

/** The defaults of a role: a built-in role's own, a custom role's those of `user`. */
export function defaultBudgets(role: string): RoleBudgets {
  return DEFAULT_BUDGETS[role] ?? MEMBER_DEFAULTS;
}

/** The longest window, seconds (a day). */
export const MAX_WINDOW_SECONDS = 86_400;
/** The shortest window, seconds. */
export const MIN_WINDOW_SECONDS = 10;

/** The counters' bucket size for a window: a tenth of it (so the rolling sum is within 10%). */
export function bucketSecondsOf(windowSeconds: number): number {
  return Math.max(1, Math.floor(windowSeconds / 10));
}
