import { boolean, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { Right } from '../access/access-profile.types.js';
import { organizations } from './auth.schema.js';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/**
 * API keys of an organization (issue 22). The secret is never stored: `secret_hash` is the
 * SHA-256 of the key's high-entropy secret part (256 random bits, so a fast hash is enough:
 * nothing to brute-force), compared in constant time. `prefix` is the key's first characters,
 * shown in lists so a person can tell keys apart.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: uuid('id').notNull(),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    secretHash: text('secret_hash').notNull(),
    /** Reads only: every write answers 403 `api_key_read_only`. */
    readOnly: boolean('read_only').notNull().default(false),
    /**
     * The objects the key may reach and its rights on each (`{contact: ['read', 'update']}`); null:
     * every object, as its role allows. Never more than its creator's role allows.
     */
    scopes: jsonb('scopes').$type<Record<string, Right[]>>(),
    /** The admin who issued it. */
    createdBy: uuid('created_by').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    expiresAt: ts('expires_at'),
    lastUsedAt: ts('last_used_at'),
    revokedAt: ts('revoked_at'),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.id] })],
);
