import { index, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { isoTimestamp as ts } from '../../db/columns.js';
import { organizations, users } from '../../platform/auth/auth.schema.js';

/**
 * The records a member opened lately, for the home page's "recently viewed": one row per
 * (member, record), its time moved on each view; the oldest beyond `RECENT_VIEWS_KEPT` go.
 */
export const recentViews = pgTable(
  'recent_views',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    object: text('object').notNull(),
    recordId: uuid('record_id').notNull(),
    viewedAt: ts('viewed_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.userId, t.object, t.recordId] }),
    index('recent_views_user_idx').on(t.orgId, t.userId, t.viewedAt.desc()),
  ],
);

/**
 * The records "load sample data" made in an organization, so that "remove sample data" deletes
 * exactly those (and nothing a member made since).
 */
export const sampleRecords = pgTable(
  'sample_records',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    object: text('object').notNull(),
    recordId: uuid('record_id').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.object, t.recordId] })],
);
