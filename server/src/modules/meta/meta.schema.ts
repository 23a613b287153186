import {
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

/**
 * A lead form of a page with its own target: its leads become `object` records with this mapping
 * (and owner), instead of the page's. A page running a contact form and a case intake form keeps
 * both apart.
 */
export type MetaFormMapping = {
  form_id: string;
  name: string | null;
  object: string;
  field_mapping: Record<string, string>;
  owner_id: string | null;
};

/** One row of a stage mapping: when a lead's record reaches `value` (a status key of its object or an opportunity stage name), `event_name` is sent. */
export type CapiStageMapping = { value: string; event_name: string };

/**
 * An organization's Meta app (issue 31): the app id and app secret (sealed, write-only) that sign
 * the webhook deliveries Meta sends to `/public/meta/webhook/<endpoint_token>`, the verify token of
 * Meta's subscription handshake, and the Conversions API for CRM settings (dataset id, its access
 * token sealed, the `lead_event_source` name and the stage mapping). One row per organization.
 */
export const metaSettings = pgTable(
  'meta_settings',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: idColumn(),
    appId: text('app_id'),
    appSecretSealed: text('app_secret_sealed'),
    verifyToken: text('verify_token').notNull(),
    endpointToken: text('endpoint_token').notNull(),
    capiDatasetId: text('capi_dataset_id'),
    capiTokenSealed: text('capi_token_sealed'),
    leadEventSource: text('lead_event_source').notNull().default('Cairn'),
    stageMapping: jsonb('stage_mapping').$type<CapiStageMapping[]>().notNull().default([]),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.id] }), uniqueIndex('meta_settings_org_key').on(t.orgId)],
);

/**
 * A Facebook page the organization listens to: its page access token sealed at rest (never read
 * back; its last 4 characters shown), the object its leads become and the mapping of the lead
 * form's question names to that object's field keys. `token_*` is the daily check's last finding.
 */
export const metaPages = pgTable(
  'meta_pages',
  {
    orgId: uuid('org_id').notNull(),
    id: idColumn(),
    pageId: text('page_id').notNull(),
    name: text('name'),
    tokenSealed: text('token_sealed').notNull(),
    tokenLast4: text('token_last4').notNull(),
    object: text('object').notNull().default('contact'),
    fieldMapping: jsonb('field_mapping').$type<Record<string, string>>().notNull().default({}),
    ownerId: text('owner_id'),
    /** Lead forms mapped on their own (by form id); a form not listed uses the page's object and mapping. */
    formMappings: jsonb('form_mappings').$type<MetaFormMapping[]>().notNull().default([]),
    /** `unknown`, `valid`, `expiring`, `expired` or `invalid`. */
    tokenStatus: text('token_status').notNull().default('unknown'),
    tokenExpiresAt: ts('token_expires_at'),
    tokenCheckedAt: ts('token_checked_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('meta_pages_page_key').on(t.orgId, t.pageId),
    foreignKey({ columns: [t.orgId], foreignColumns: [organizations.id] }).onDelete('cascade'),
  ],
);

/**
 * The intake ledger, one row per webhook delivery Meta made (or anyone made) to the endpoint: the
 * raw body as received (its first 64 KiB), the signature check's result (`valid`, `invalid`,
 * `missing`, `not_configured`) and how many leadgen changes it carried, queued or already seen.
 */
export const metaDeliveries = pgTable(
  'meta_deliveries',
  {
    orgId: uuid('org_id').notNull(),
    id: idColumn(),
    rawBody: text('raw_body').notNull(),
    signature: text('signature').notNull(),
    leadsQueued: integer('leads_queued').notNull().default(0),
    leadsSeen: integer('leads_seen').notNull().default(0),
    /** A code when the delivery was refused or its body was not a page webhook. */
    error: text('error'),
    receivedAt: ts('received_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('meta_deliveries_list_idx').on(t.orgId, t.receivedAt.desc(), t.id.desc()),
    foreignKey({ columns: [t.orgId], foreignColumns: [organizations.id] }).onDelete('cascade'),
  ],
);

/**
 * One lead, once: its leadgen id is the dedup key (unique per organization), so a replayed
 * delivery or a lead id already seen makes no second row and no second record. `status`:
 * `queued`, `retrying`, `created` (a record made), `matched` (an existing record by e-mail or
 * phone), `failed` (attempts used up or a refusal; `error` says why; replay by hand), `ignored`
 * (a page nobody listens to).
 */
export const metaLeads = pgTable(
  'meta_leads',
  {
    orgId: uuid('org_id').notNull(),
    id: idColumn(),
    deliveryId: uuid('delivery_id').notNull(),
    leadgenId: text('leadgen_id').notNull(),
    pageId: text('page_id').notNull(),
    formId: text('form_id'),
    adId: text('ad_id'),
    adsetId: text('adset_id'),
    campaignId: text('campaign_id'),
    status: text('status').notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    error: text('error'),
    errorDetail: text('error_detail'),
    nextAttemptAt: ts('next_attempt_at'),
    /** The Graph API's lead as fetched. */
    lead: jsonb('lead'),
    recordObject: text('record_object'),
    recordId: uuid('record_id'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('meta_leads_leadgen_key').on(t.orgId, t.leadgenId),
    index('meta_leads_record_idx').on(t.orgId, t.recordId),
    index('meta_leads_list_idx').on(t.orgId, t.createdAt.desc(), t.id.desc()),
    foreignKey({
      columns: [t.orgId, t.deliveryId],
      foreignColumns: [metaDeliveries.orgId, metaDeliveries.id],
    }).onDelete('cascade'),
  ],
);

/**
 * Every Conversions API event: what was sent (the exact JSON body, its hashes only), its
 * `event_id` (unique per organization: a stage reached twice sends once) and each call's outcome.
 * `status`: `pending`, `sent`, `failed` (attempts used up or refused).
 */
export const metaCapiEvents = pgTable(
  'meta_capi_events',
  {
    orgId: uuid('org_id').notNull(),
    id: idColumn(),
    leadId: uuid('lead_id').notNull(),
    eventName: text('event_name').notNull(),
    eventId: text('event_id').notNull(),
    payload: text('payload').notNull(),
    status: text('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    responseExcerpt: text('response_excerpt'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex('meta_capi_events_event_key').on(t.orgId, t.eventId),
    foreignKey({
      columns: [t.orgId, t.leadId],
      foreignColumns: [metaLeads.orgId, metaLeads.id],
    }).onDelete('cascade'),
  ],
);
