import { sql } from 'drizzle-orm';
import {
  check,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import { idColumn } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/**
 * A saved report: a report definition (object, filter, grouping, measure, view) shared with its
 * owner only, with the members holding one role, or with the whole organization.
 */
export const savedReports = pgTable(
  'saved_reports',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    name: text('name').notNull(),
    object: text('object').notNull(),
    /** The report definition (ReportSpec): filter, group_by, measure, limit. */
    spec: jsonb('spec').$type<Record<string, unknown>>().notNull(),
    /** How it is drawn: bar, stacked_bar, line, area, pie, funnel, number, table. */
    view: text('view').notNull().default('bar'),
    sharing: text('sharing', { enum: ['private', 'role', 'organization'] })
      .notNull()
      .default('private'),
    /** With `sharing = role`: the role key whose members see it. */
    roleKey: text('role_key'),
    ownerId: uuid('owner_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.id] }), index('saved_reports_name_idx').on(t.orgId, t.name)],
);

/** A dashboard: widgets (a saved report drawn one way, on a grid) and filters applied to all of them. */
export const dashboards = pgTable(
  'dashboards',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    name: text('name').notNull(),
    /** `private`: its owner's; `organization`: every member's. */
    sharing: text('sharing', { enum: ['private', 'organization'] })
      .notNull()
      .default('private'),
    widgets: jsonb('widgets').$type<Record<string, unknown>[]>().notNull(),
    /** The date range and the filter applied to every widget. */
    filters: jsonb('filters').$type<Record<string, unknown>>().notNull(),
    ownerId: uuid('owner_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.id] }), index('dashboards_name_idx').on(t.orgId, t.name)],
);

export const SCHEDULE_FREQUENCIES = ['daily', 'weekly', 'monthly'] as const;
export const SCHEDULE_OUTCOMES = ['sent', 'skipped', 'failed'] as const;

/**
 * The scheduled delivery of a saved report or a dashboard to one member (issue 30): its PDF,
 * computed with that member's rights, e-mailed daily, weekly or monthly at `time` in `time_zone`
 * (the recipient's). One delayed job per schedule, for `next_run_at`.
 */
export const reportSchedules = pgTable(
  'report_schedules',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    /** What is sent: a saved report or a dashboard (exactly one). */
    reportId: uuid('report_id'),
    dashboardId: uuid('dashboard_id'),
    frequency: text('frequency', { enum: SCHEDULE_FREQUENCIES }).notNull(),
    /** The local time of day, `HH:MM`. */
    time: text('time').notNull(),
    /** Weekly: the day, 0 Sunday to 6 Saturday. */
    weekday: integer('weekday'),
    /** Monthly: the day of the month, 1 to 28. */
    dayOfMonth: integer('day_of_month'),
    /** The recipient's IANA time zone `time` is read in. */
    timeZone: text('time_zone').notNull(),
    /** The member (user id) it is sent to and computed for. */
    recipientId: uuid('recipient_id').notNull(),
    createdBy: uuid('created_by').notNull(),
    nextRunAt: timestamp('next_run_at', { withTimezone: true, mode: 'string' }),
    lastRunAt: timestamp('last_run_at', { withTimezone: true, mode: 'string' }),
    lastOutcome: text('last_outcome', { enum: SCHEDULE_OUTCOMES }),
    /** Why the last run was skipped or failed, or what was sent. */
    lastNote: text('last_note'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    foreignKey({
      columns: [t.orgId, t.reportId],
      foreignColumns: [savedReports.orgId, savedReports.id],
      name: 'report_schedules_report_fk',
    }).onDelete('cascade'),
    foreignKey({
      columns: [t.orgId, t.dashboardId],
      foreignColumns: [dashboards.orgId, dashboards.id],
      name: 'report_schedules_dashboard_fk',
    }).onDelete('cascade'),
    check('report_schedules_one_target', sql`(${t.reportId} is null) <> (${t.dashboardId} is null)`),
    index('report_schedules_recipient_idx').on(t.orgId, t.recipientId),
  ],
);
