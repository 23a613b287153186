import { sql } from 'drizzle-orm';
import { integer, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations } from '../auth/auth.schema.js';

/**
 * Objects a tenant defined (issue 21): their records live in the generic `records` table
 * (platform/records/record.schema.ts), their fields in `custom_fields` under the object's key.
 */
export const customObjects = pgTable(
  'custom_objects',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    /** API name, snake_case, unique in the tenant, never changed (labels are). */
    key: text('key').notNull(),
    labelSingular: text('label_singular').notNull(),
    labelPlural: text('label_plural').notNull(),
    icon: text('icon'),
    description: text('description'),
    /** The key of the custom field that names a record (its title in lists, timelines, search). */
    displayField: text('display_field').notNull(),
    /**
     * Record numbers (`CASE-00042`): the prefix before each record's number, null when the object
     * does not number its records; the number is padded with zeros to `number_digits`.
     */
    numberPrefix: text('number_prefix'),
    numberDigits: integer('number_digits').notNull().default(5),
    /**
     * Roles that see only the object's records in the statuses they own (a status field's
     * `owner_role`), those that were in such a status before, and those they own (issue 21);
     * admins always see every record.
     */
    restrictedRoles: text('restricted_roles').array().notNull().default(sql`'{}'::text[]`),
    createdBy: uuid('created_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    /** A retired object is hidden and refuses writes; its records are kept until it is purged. */
    retiredAt: ts('retired_at'),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.id] }), uniqueIndex('custom_objects_key').on(t.orgId, t.key)],
);
