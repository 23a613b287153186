import {
  boolean,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  uuid,
} from 'drizzle-orm/pg-core';
import { idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/**
 * An organization's AI assistant settings (issue 32): off by default (no row = off). The provider's
 * key is sealed at rest (`platform/crypto/sealed.ts`, purpose `ai-provider-key`), never sent back:
 * the API shows its last four characters only.
 */
export const aiSettings = pgTable('ai_settings', {
  orgId: uuid('org_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  enabled: boolean('enabled').notNull().default(false),
  /** `openai` (any chat-completions endpoint) or `anthropic` (the Messages API). */
  provider: text('provider').notNull().default('openai'),
  baseUrl: text('base_url').notNull(),
  model: text('model').notNull(),
  keySealed: text('key_sealed'),
  keyLast4: text('key_last4'),
  /** The features turned on: `summarize`, `draft_email`, `ask`. */
  features: text('features').array().notNull(),
  /** Tokens (in + out) per calendar month (UTC); null = no limit. */
  orgMonthlyTokens: integer('org_monthly_tokens'),
  memberMonthlyTokens: integer('member_monthly_tokens'),
  /** Calls per member per minute. */
  callsPerMinute: integer('calls_per_minute').notNull().default(10),
  redactEmails: boolean('redact_emails').notNull().default(true),
  redactPhones: boolean('redact_phones').notNull().default(true),
  /** Keep the prompt and the answer in the audit entry (off by default). */
  storePrompts: boolean('store_prompts').notNull().default(false),
  /** Prices per model, in `currency` per million tokens: what each call's cost is computed with. */
  prices: jsonb('prices').$type<Record<string, ModelPrice>>().notNull().default({}),
  /** The ISO 4217 code the prices are in. */
  currency: text('currency').notNull().default('USD'),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/** A model's price, per million tokens in (prompt) and out (answer). */
export type ModelPrice = { input_per_million: number; output_per_million: number };

/** One call to the provider (or one refused by a budget or the rate limit): what budgets count. */
export const aiUsage = pgTable(
  'ai_usage',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    userId: text('user_id'),
    feature: text('feature').notNull(),
    tokensIn: integer('tokens_in').notNull().default(0),
    tokensOut: integer('tokens_out').notNull().default(0),
    /** The model called, and what the call cost in the settings' currency (null: no price set for it). */
    model: text('model'),
    cost: numeric('cost', { precision: 18, scale: 8, mode: 'number' }),
    /** `ok` or the problem code it ended with. */
    outcome: text('outcome').notNull(),
    at: ts('at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.id] }), index('ai_usage_at_idx').on(t.orgId, t.at)],
);
