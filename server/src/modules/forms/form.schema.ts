import {
  boolean,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { idColumn, isoTimestamp as ts } from '../../db/columns.js';
import { organizations } from '../../platform/auth/auth.schema.js';

/** One field of a form: a field of the object's registry entry, as the form shows it. */
export type FormField = {
  /** The registry field's key (`first_name`, `email`, a custom field's key). */
  key: string;
  label: string;
  required: boolean;
  /** Not shown: filled from the page URL's query parameter of the same key, else `default`. */
  hidden: boolean;
  default?: string | null;
  /**
   * For a many-to-many relation field: the ids of the records a visitor may pick (the page offers
   * these by name, nothing else of the organization's records), checked live when the form is saved.
   */
  choices?: string[] | undefined;
};

/** The consent checkbox of a form, and what it records in the consent ledger. */
export type FormConsent = {
  /** The words shown beside the checkbox (kept with every consent as its proof). */
  text: string;
  channel: string;
  purpose: string;
  /** A submission without the box ticked is refused. */
  required: boolean;
};

/**
 * A lead-capture form (issue 31) for one object of the registry (contacts, companies, a custom
 * object): its fields, consent checkbox, the member notified of submissions, its spam settings,
 * the public token of its hosted page (`/f/<token>`) and the secret token of its ingest endpoint
 * (`/ingest/form/<token>`) with that endpoint's field mapping. `version` grows with every change
 * that alters what a visitor sees (kept with each submission and consent).
 */
export const forms = pgTable(
  'forms',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    name: text('name').notNull(),
    object: text('object').notNull(),
    fields: jsonb('fields').$type<FormField[]>().notNull(),
    consent: jsonb('consent').$type<FormConsent | null>(),
    /** Incoming field name -> form field key, for the ingest endpoint. */
    ingestMapping: jsonb('ingest_mapping').$type<Record<string, string>>().notNull(),
    token: text('token').notNull(),
    ingestToken: text('ingest_token').notNull(),
    ownerId: uuid('owner_id'),
    submitLabel: text('submit_label').notNull().default('Send'),
    successMessage: text('success_message').notNull().default('Thank you: we received your message.'),
    /** Seconds a person needs at least between loading the page and sending it. */
    minFillSeconds: integer('min_fill_seconds').notNull().default(3),
    /** The hosted page asks the browser for a proof of work (ALTCHA) before sending. */
    proofOfWork: boolean('proof_of_work').notNull().default(true),
    version: integer('version').notNull().default(1),
    archivedAt: ts('archived_at'),
    createdBy: uuid('created_by'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('forms_token_key').on(t.orgId, t.token),
    uniqueIndex('forms_ingest_token_key').on(t.orgId, t.ingestToken),
  ],
);

/**
 * One accepted submission: the values, the record it created or matched (dedup by e-mail or
 * phone), where it came from (UTM parameters, referrer, landing page, hidden fields) and the
 * client's IP and user agent. `channel`: `page` (the hosted page or its embed) or `ingest`.
 */
export const formSubmissions = pgTable(
  'form_submissions',
  {
    orgId: uuid('org_id').notNull(),
    id: idColumn(),
    formId: uuid('form_id').notNull(),
    formVersion: integer('form_version').notNull(),
    channel: text('channel').notNull(),
    object: text('object').notNull(),
    recordId: uuid('record_id').notNull(),
    /** Whether the record was created by it (false: an existing one matched). */
    createdRecord: boolean('created_record').notNull(),
    values: jsonb('values').$type<Record<string, unknown>>().notNull(),
    source: jsonb('source').$type<Record<string, unknown>>().notNull(),
    consentId: uuid('consent_id'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('form_submissions_form_idx').on(t.orgId, t.formId, t.createdAt.desc(), t.id.desc()),
    index('form_submissions_record_idx').on(t.orgId, t.object, t.recordId),
    foreignKey({ columns: [t.orgId, t.formId], foreignColumns: [forms.orgId, forms.id] }).onDelete('cascade'),
  ],
);
