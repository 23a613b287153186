import { foreignKey, index, jsonb, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations } from '../auth/auth.schema.js';
import type { RoleRights } from './access-profile.types.js';

/**
 * An organization's own roles (issue 22), beside the built-in admin, user and viewer (which live
 * in code, `permissions.ts`). A member holds a role by its key in `members.role`.
 */
export const roles = pgTable(
  'roles',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    /** snake_case, unique in the organization, never one of the built-in roles' keys, never changed. */
    key: text('key').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    /** Per object: rights, record scope, narrowed fields (access-profile.types.ts `RoleRights`). */
    rights: jsonb('rights').$type<RoleRights>().notNull(),
    createdBy: uuid('created_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.id] }), uniqueIndex('roles_key').on(t.orgId, t.key)],
);

/** Teams of members: a role with `team` scope reaches the records its teammates own. */
export const teams = pgTable(
  'teams',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    name: text('name').notNull(),
    description: text('description'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.id] }), uniqueIndex('teams_name').on(t.orgId, t.name)],
);

/** Who belongs to which team (a member may belong to several). */
export const teamMembers = pgTable(
  'team_members',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    teamId: uuid('team_id').notNull(),
    userId: uuid('user_id').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.teamId, t.userId] }),
    index('team_members_user').on(t.orgId, t.userId),
    foreignKey({ columns: [t.orgId, t.teamId], foreignColumns: [teams.orgId, teams.id] }).onDelete('cascade'),
  ],
);
