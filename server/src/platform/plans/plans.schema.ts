import { bigint, date, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { organizations, users } from '../auth/auth.schema.js';

/*
 * Install-level tables (issue 30): they describe the install and its organizations from above, so
 * they are NOT tenant tables. They have no `org_id` column (an organization is named by
 * `organization_id`, as in `members`) and no row-level security, and the migration revokes every
 * privilege on them from `cairn_app`: no tenant transaction can read or change an operator, a
 * plan, a limit or a suspension, however a query is written. Only the connecting role reads and
 * writes them, through the one platform module that owns them (`platform/plans/*`): the limit and
 * suspension checks every service calls, the API-call counter, and the operator service behind
 * `/api/v1/operator/*`, itself reachable only by a user listed in `install_operators`.
 */
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** The operators of the install: granted and revoked from the CLI only (`cairn operator grant`). */
export const installOperators = pgTable('install_operators', {
  userId: uuid('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  grantedAt: ts('granted_at').notNull().defaultNow(),
  /** Who granted it: `cli` (the only way today) and the OS user, for the record. */
  grantedBy: text('granted_by').notNull(),
});

/**
 * A named plan: its limits (`PlanLimits`, absent key = unlimited). The operator defines plans and
 * gives each organization one; an organization without one is unlimited.
 */
export const plans = pgTable('plans', {
  key: text('key').primaryKey(),
  name: text('name').notNull(),
  limits: jsonb('limits').$type<Record<string, number>>().notNull().default({}),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/**
 * An organization's plan, its own overrides of the plan's limits (a key set to a number replaces
 * the plan's; set to null, unlimited whatever the plan says) and its suspension.
 */
export const organizationPlans = pgTable('organization_plans', {
  organizationId: uuid('organization_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  planKey: text('plan_key').references(() => plans.key, { onDelete: 'set null' }),
  overrides: jsonb('overrides').$type<Record<string, number | null>>().notNull().default({}),
  /** Set while suspended: its members get 403 `organization_suspended`, its jobs wait. */
  suspendedAt: ts('suspended_at'),
  suspendedReason: text('suspended_reason'),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/** API calls made with an organization's API keys, per UTC day (the `api_calls_per_day` limit). */
export const organizationApiUsage = pgTable(
  'organization_api_usage',
  {
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    day: date('day', { mode: 'string' }).notNull(),
    calls: bigint('calls', { mode: 'number' }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.day] })],
);
