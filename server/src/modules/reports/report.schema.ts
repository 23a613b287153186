import { index, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
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
