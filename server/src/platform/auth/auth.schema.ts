import {
  bigint,
  boolean,
  index,
  integer,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/*
 * Identity tables, owned by better-auth (https://www.better-auth.com/docs/concepts/database).
 * They are global, not tenant tables: a user exists once and may belong to several
 * organizations. They never hold tenant data; the tenant boundary starts at `organizations.id`,
 * which every tenant table's `org_id` references. Property names are better-auth's field names.
 */
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const id = () => uuid('id').primaryKey().defaultRandom();

export const users = pgTable('users', {
  id: id(),
  name: text('name').notNull(),
  email: text('email').notNull().unique(),
  emailVerified: boolean('email_verified').notNull().default(false),
  image: text('image'),
  /** Two-factor sign-in on (better-auth's twoFactor plugin): set once a TOTP code confirmed the secret. */
  twoFactorEnabled: boolean('two_factor_enabled').notNull().default(false),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/** A tenant. */
export const organizations = pgTable('organizations', {
  id: id(),
  name: text('name').notNull(),
  slug: text('slug').notNull().unique(),
  logo: text('logo'),
  metadata: text('metadata'),
  /** Every member must sign in with a second factor; one without it sets it up before anything else. */
  requireTwoFactor: boolean('require_two_factor').notNull().default(false),
  /** Organization settings (issue 20): the currency totals are converted to (ISO 4217). */
  defaultCurrency: text('default_currency').notNull().default('USD'),
  /** The IANA time zone the organization's days are counted in. */
  timeZone: text('time_zone').notNull().default('UTC'),
  /** ISO 3166-1 alpha-2: how phone numbers are shown (and read without a country code); null: US. */
  country: text('country'),
  /** The month (1-12) the fiscal year starts in. */
  fiscalYearStartMonth: integer('fiscal_year_start_month').notNull().default(1),
  /** An admin asked for its deletion: the worker deletes it with every row and file at this time. */
  deletionScheduledFor: ts('deletion_scheduled_for'),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const sessions = pgTable(
  'sessions',
  {
    id: id(),
    expiresAt: ts('expires_at').notNull(),
    token: text('token').notNull().unique(),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    ipAddress: text('ip_address'),
    userAgent: text('user_agent'),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** The one organization this session acts in. */
    activeOrganizationId: uuid('active_organization_id').references(() => organizations.id, {
      onDelete: 'set null',
    }),
  },
  (t) => [index('sessions_user_id_idx').on(t.userId)],
);

export const accounts = pgTable(
  'accounts',
  {
    id: id(),
    accountId: text('account_id').notNull(),
    providerId: text('provider_id').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    accessToken: text('access_token'),
    refreshToken: text('refresh_token'),
    idToken: text('id_token'),
    accessTokenExpiresAt: ts('access_token_expires_at'),
    refreshTokenExpiresAt: ts('refresh_token_expires_at'),
    scope: text('scope'),
    password: text('password'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [index('accounts_user_id_idx').on(t.userId)],
);

export const verifications = pgTable('verifications', {
  id: id(),
  identifier: text('identifier').notNull(),
  value: text('value').notNull(),
  expiresAt: ts('expires_at').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/** A user's membership of an organization, with their role (admin, user, viewer). */
export const members = pgTable(
  'members',
  {
    id: id(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text('role').notNull().default('user'),
    createdAt: ts('created_at').notNull().defaultNow(),
    /**
     * Set when the guard locked the member out of the organization (issue 22), until an admin
     * unlocks them: read by the session check with the membership itself.
     */
    guardLockedAt: ts('guard_locked_at'),
    /** The guard incident that locked the member. */
    guardIncidentId: uuid('guard_incident_id'),
  },
  (t) => [
    uniqueIndex('members_organization_user_key').on(t.organizationId, t.userId),
    index('members_user_id_idx').on(t.userId),
  ],
);

/** An invitation by link to join an organization with a role. */
export const invitations = pgTable(
  'invitations',
  {
    id: id(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    role: text('role'),
    status: text('status').notNull().default('pending'),
    expiresAt: ts('expires_at').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    inviterId: uuid('inviter_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
  },
  (t) => [index('invitations_organization_idx').on(t.organizationId)],
);

/**
 * A user's TOTP secret and recovery codes (better-auth's twoFactor plugin), both encrypted with the
 * server secret. Global like `users`: the app role has no grant on it, only better-auth (the
 * connecting role) reads it. `verified` is false between enabling and the first confirmed code.
 */
export const twoFactors = pgTable(
  'two_factors',
  {
    id: id(),
    secret: text('secret').notNull(),
    backupCodes: text('backup_codes').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    verified: boolean('verified').notNull().default(true),
    failedVerificationCount: integer('failed_verification_count').notNull().default(0),
    lockedUntil: ts('locked_until'),
  },
  (t) => [uniqueIndex('two_factors_user_id_key').on(t.userId)],
);

/** better-auth's per-IP rate-limit counters, in the database so every server process shares them. */
export const rateLimits = pgTable('rate_limits', {
  id: id(),
  key: text('key').notNull().unique(),
  count: integer('count').notNull(),
  lastRequest: bigint('last_request', { mode: 'number' }).notNull(),
});

/** Failed sign-ins per account, for the lockout (5 failures -> 15 minutes). */
export const signInFailures = pgTable('sign_in_failures', {
  email: text('email').primaryKey(),
  failures: integer('failures').notNull().default(0),
  lockedUntil: ts('locked_until'),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const authSchema = {
  user: users,
  session: sessions,
  account: accounts,
  verification: verifications,
  organization: organizations,
  member: members,
  invitation: invitations,
  rateLimit: rateLimits,
  twoFactor: twoFactors,
};
