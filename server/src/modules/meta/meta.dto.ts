import { z } from 'zod';

/** Meta Lead Ads and Conversions API shapes (issue 31). Secrets are write-only: never in a read. */

const NumericId = z
  .string()
  .regex(/^\d{1,32}$/, 'a numeric Meta id')
  .describe("A Meta id (digits), as Graph's ids are");
const Secret = z.string().min(8).max(1000).regex(/^\S+$/, 'no spaces');

export const StageMapping = z
  .strictObject({
    value: z
      .string()
      .min(1)
      .max(200)
      .describe("A status key of the lead's object (`qualified`), or an opportunity stage's name"),
    event_name: z
      .string()
      .min(1)
      .max(100)
      .describe('The Conversions API event name Meta shows for it (`Lead`, `Qualified Lead`, `Converted`)'),
  })
  .meta({ id: 'MetaStageMapping' });

export const MetaSettings = z
  .object({
    app_id: z.string().nullable(),
    app_secret_set: z.boolean().describe('Whether an app secret is stored (it is never shown)'),
    verify_token: z.string().describe("The token to enter as Meta's webhook Verify Token"),
    webhook_url: z.string().describe("The Callback URL to enter in the Meta app's Webhooks product"),
    capi_dataset_id: z.string().nullable(),
    capi_token_set: z.boolean(),
    lead_event_source: z.string(),
    stage_mapping: z.array(StageMapping),
    updated_at: z.string(),
  })
  .meta({ id: 'MetaSettings' });
export type MetaSettingsView = z.infer<typeof MetaSettings>;

export const MetaSettingsUpdate = z
  .strictObject({
    app_id: NumericId.nullable().optional(),
    app_secret: Secret.nullable().optional().describe('Write-only; null removes it'),
    capi_dataset_id: NumericId.nullable().optional().describe('The pixel or dataset id CAPI events go to'),
    capi_access_token: Secret.nullable().optional().describe('Write-only; null removes it'),
    lead_event_source: z.string().min(1).max(100).optional().describe("The CRM's name Meta shows"),
    stage_mapping: z.array(StageMapping).max(50).optional(),
  })
  .meta({ id: 'MetaSettingsUpdate' });
export type MetaSettingsUpdateInput = z.infer<typeof MetaSettingsUpdate>;

const FieldMapping = z
  .record(z.string().min(1).max(200), z.string().min(1).max(100))
  .describe(
    "Lead form question name (`email`, `full_name`, `phone_number`, a custom question's key, or `ad_id`, `adset_id`, `campaign_id`, `form_id`, `source`) to a field key of the object",
  );

const OwnerId = z.uuid().nullable().optional().describe('The member the records are owned by');

export const MetaFormMapping = z
  .strictObject({
    form_id: NumericId.describe("The lead form's id (Meta's Instant Forms)"),
    name: z.string().max(200).nullable().optional(),
    object: z.string().min(1).max(100).describe("The object this form's leads become"),
    field_mapping: FieldMapping,
    owner_id: OwnerId,
  })
  .meta({ id: 'MetaFormMapping' });

/** At most 50 forms per page, each form id once. */
const FormMappings = z
  .array(MetaFormMapping)
  .max(50)
  .superRefine((forms, ctx) => {
    const seen = new Set<string>();
    forms.forEach((f, i) => {
      if (seen.has(f.form_id))
        ctx.addIssue({ code: 'custom', message: `Form ${f.form_id} is listed twice`, path: [i, 'form_id'] });
      seen.add(f.form_id);
    });
  })
  .describe("Lead forms with their own object and mapping; a form not listed uses the page's");

export const MetaPageToken = z
  .object({
    status: z.enum(['unknown', 'valid', 'expiring', 'expired', 'invalid']),
    expires_at: z.string().nullable(),
    checked_at: z.string().nullable(),
    hint: z.string().describe("The token's last 4 characters, masked"),
  })
  .meta({ id: 'MetaPageToken' });

export const MetaPage = z
  .object({
    id: z.uuid(),
    page_id: z.string(),
    name: z.string().nullable(),
    object: z.string(),
    field_mapping: z.record(z.string(), z.string()),
    owner_id: z.string().nullable(),
    forms: z.array(
      z.object({
        form_id: z.string(),
        name: z.string().nullable(),
        object: z.string(),
        field_mapping: z.record(z.string(), z.string()),
        owner_id: z.string().nullable(),
      }),
    ),
    token: MetaPageToken,
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'MetaPage' });
export type MetaPageView = z.infer<typeof MetaPage>;

export const MetaPageCreate = z
  .strictObject({
    page_id: NumericId,
    name: z.string().max(200).nullable().optional(),
    access_token: Secret.describe('The page access token (write-only, sealed at rest)'),
    object: z.string().min(1).max(100).default('contact').describe('The object its leads become'),
    field_mapping: FieldMapping.optional(),
    owner_id: OwnerId,
    forms: FormMappings.optional(),
  })
  .meta({ id: 'MetaPageCreate' });
export type MetaPageCreateInput = z.infer<typeof MetaPageCreate>;

export const MetaPageUpdate = z
  .strictObject({
    name: z.string().max(200).nullable().optional(),
    access_token: Secret.optional(),
    object: z.string().min(1).max(100).optional(),
    field_mapping: FieldMapping.optional(),
    owner_id: OwnerId,
    forms: FormMappings.optional().describe('Replaces the list'),
  })
  .meta({ id: 'MetaPageUpdate' });
export type MetaPageUpdateInput = z.infer<typeof MetaPageUpdate>;

export const LeadStatus = z.enum(['queued', 'retrying', 'created', 'matched', 'failed', 'ignored']);

export const MetaLead = z
  .object({
    id: z.uuid(),
    delivery_id: z.uuid(),
    leadgen_id: z.string().describe('The dedup key: one lead, one row, one record'),
    page_id: z.string(),
    form_id: z.string().nullable(),
    ad_id: z.string().nullable(),
    adset_id: z.string().nullable(),
    campaign_id: z.string().nullable(),
    status: LeadStatus,
    attempts: z.number().int(),
    error: z
      .string()
      .nullable()
      .describe(
        '`graph_190` (Graph error code), `http_500`, `timeout`, `form_changed`, `unmapped_questions`...',
      ),
    error_detail: z.string().nullable(),
    next_attempt_at: z.string().nullable(),
    record_object: z.string().nullable(),
    record_id: z.uuid().nullable(),
    lead: z.unknown().describe("The Graph API's lead as fetched"),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'MetaLead' });
export type MetaLeadView = z.infer<typeof MetaLead>;

export const MetaDelivery = z
  .object({
    id: z.uuid(),
    signature: z.enum(['valid', 'invalid', 'missing', 'not_configured']),
    leads_queued: z.number().int(),
    leads_seen: z.number().int().describe('Leadgen ids already in the ledger (no second record)'),
    error: z.string().nullable(),
    raw_body: z.string().describe('The body as received (its first 64 KiB)'),
    received_at: z.string(),
  })
  .meta({ id: 'MetaDelivery' });
export type MetaDeliveryView = z.infer<typeof MetaDelivery>;

export const MetaCapiEvent = z
  .object({
    id: z.uuid(),
    lead_id: z.uuid(),
    event_name: z.string(),
    event_id: z.string(),
    payload: z.string().describe('The exact JSON sent (hashes only, no token)'),
    status: z.enum(['pending', 'sent', 'failed']),
    attempts: z.number().int(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    response_excerpt: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'MetaCapiEvent' });
export type MetaCapiEventView = z.infer<typeof MetaCapiEvent>;

export const LedgerQuery = z.strictObject({
  status: z.string().max(20).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(100).optional().describe('The `next_cursor` of the page before'),
});

/** A page of a ledger: `next_cursor` is null on the last page. */
export const ledgerPage = <T extends z.ZodType>(item: T) =>
  z.object({ data: z.array(item), next_cursor: z.string().nullable() });
export type LedgerQueryInput = z.infer<typeof LedgerQuery>;
