import { z } from 'zod';
import { ReportSpec } from '../reports/report-engine.js';

export const AI_FEATURES = ['summarize', 'draft_email', 'ask', 'explain'] as const;
export type AiFeature = (typeof AI_FEATURES)[number];

const Tokens = z.number().int().min(1).max(1_000_000_000).nullable();

const Price = z
  .strictObject({
    input_per_million: z
      .number()
      .min(0)
      .max(1_000_000)
      .describe('Price of a million tokens sent (the prompt)'),
    output_per_million: z
      .number()
      .min(0)
      .max(1_000_000)
      .describe('Price of a million tokens received (the answer)'),
  })
  .meta({ id: 'AiModelPrice' });
const Prices = z
  .record(z.string().min(1).max(200), Price)
  .refine((p) => Object.keys(p).length <= 50, 'At most 50 models')
  .describe('Prices per model name, in `currency`: each call’s cost is computed with its model’s');
const Currency = z
  .string()
  .regex(/^[A-Z]{3}$/, 'An ISO 4217 code such as USD or EUR')
  .describe('The currency the prices are in (ISO 4217)');

export const AiSettingsView = z
  .object({
    enabled: z.boolean(),
    provider: z.enum(['openai', 'anthropic']),
    base_url: z.string(),
    model: z.string(),
    key: z.string().nullable().describe('The key masked (`••••abcd`), or null when none is set'),
    features: z.array(z.enum(AI_FEATURES)),
    org_monthly_tokens: Tokens,
    member_monthly_tokens: Tokens,
    calls_per_minute: z.number().int(),
    redact_emails: z.boolean(),
    redact_phones: z.boolean(),
    store_prompts: z.boolean(),
    tokens_this_month: z.number().int().describe('Tokens (in + out) the organization used this month (UTC)'),
    prices: Prices,
    currency: Currency,
    cost_this_month: z
      .number()
      .describe('What this month’s calls cost, in `currency` (calls to a model without a price count 0)'),
    unpriced_calls_this_month: z.number().int().describe('Calls this month to a model without a price'),
  })
  .meta({ id: 'AiSettings' });
export type AiSettingsViewOut = z.infer<typeof AiSettingsView>;

export const AiSettingsUpdate = z
  .strictObject({
    enabled: z.boolean().optional(),
    provider: z.enum(['openai', 'anthropic']).optional(),
    base_url: z.string().min(1).max(2000).optional(),
    model: z.string().min(1).max(200).optional(),
    key: z
      .string()
      .max(1000)
      .nullable()
      .optional()
      .describe('Write-only: a new key, or null to remove it; absent keeps the current one'),
    features: z.array(z.enum(AI_FEATURES)).max(AI_FEATURES.length).optional(),
    org_monthly_tokens: Tokens.optional(),
    member_monthly_tokens: Tokens.optional(),
    calls_per_minute: z.number().int().min(1).max(600).optional(),
    redact_emails: z.boolean().optional(),
    redact_phones: z.boolean().optional(),
    store_prompts: z.boolean().optional(),
    prices: Prices.optional().describe('Replaces the price list whole'),
    currency: Currency.optional(),
  })
  .meta({ id: 'AiSettingsUpdate' });
export type AiSettingsUpdateIn = z.infer<typeof AiSettingsUpdate>;

export const AiStatus = z
  .object({ enabled: z.boolean(), features: z.array(z.enum(AI_FEATURES)) })
  .meta({ id: 'AiStatus' });

const ObjectKey = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[a-z][a-z0-9_]*$/);

export const AiRecordInput = z.strictObject({ object: ObjectKey, id: z.uuid() });

export const AiSource = z
  .object({ object: z.string(), id: z.string(), label: z.string(), url: z.string() })
  .meta({ id: 'AiSource' });

export const AiSummary = z
  .object({
    summary: z.string().describe('Plain text written by the model: render it as text, never as HTML'),
    next_steps: z.array(z.string()),
    sources: z.array(AiSource).describe('The records the summary drew on'),
    model: z.string(),
  })
  .meta({ id: 'AiSummary' });

export const AiDraftInput = AiRecordInput.extend({
  instructions: z.string().max(2000).optional().describe('What the e-mail should say'),
});

export const AiDraft = z
  .object({
    subject: z.string(),
    body: z.string().describe('Plain text for the member to edit; the assistant never sends it'),
    model: z.string(),
  })
  .meta({ id: 'AiDraft' });

export const AiDraftStreamInput = z
  .strictObject({
    conversation_id: z.uuid().optional().describe('Draft a reply in this conversation'),
    object: ObjectKey.optional().describe('Or a message to this record (with `id`)'),
    id: z.uuid().optional(),
    template_id: z
      .uuid()
      .optional()
      .describe('Start from this message template; its variables are filled for the contact'),
    instructions: z.string().max(2000).optional().describe('What the message should say'),
  })
  .superRefine((v, c) => {
    const record = v.object !== undefined || v.id !== undefined;
    if (v.conversation_id !== undefined && record)
      c.addIssue({
        code: 'custom',
        path: ['conversation_id'],
        message: 'Give a conversation or a record, not both',
      });
    else if (v.conversation_id === undefined && (v.object === undefined || v.id === undefined))
      c.addIssue({
        code: 'custom',
        path: [v.object === undefined ? (v.id === undefined ? 'conversation_id' : 'object') : 'id'],
        message: 'Give a conversation_id, or an object and an id',
      });
  });
export type AiDraftStreamIn = z.infer<typeof AiDraftStreamInput>;

export const AiAskInput = z.strictObject({ object: ObjectKey, question: z.string().min(1).max(1000) });

export const AiChip = z
  .object({ field: z.string(), label: z.string(), op: z.string(), value: z.unknown().optional() })
  .meta({ id: 'AiFilterChip' });

export const AiAskAnswer = z
  .object({
    filter: z.record(z.string(), z.unknown()).describe('A filter of the query language, validated, not run'),
    chips: z
      .array(AiChip)
      .nullable()
      .describe('The filter as editable chips (all must match), or null when it has or / not groups'),
    note: z.string().nullable(),
    model: z.string(),
  })
  .meta({ id: 'AiAskAnswer' });

export const AiAskReportInput = z.strictObject({
  question: z.string().min(1).max(1000),
  object: ObjectKey.optional().describe(
    'The object to report on; the assistant picks one of the readable ones when absent',
  ),
});

export const AiAskReportAnswer = z
  .object({
    report: ReportSpec.describe('A report definition, checked against the member’s readable fields; not run'),
    title: z.string(),
    note: z.string().nullable(),
    model: z.string(),
  })
  .meta({ id: 'AiAskReportAnswer' });

export const AiExplainInput = z.strictObject({
  reports: z
    .array(z.strictObject({ title: z.string().trim().min(1).max(200), spec: ReportSpec }))
    .min(1)
    .max(10)
    .describe('A report, or the widgets of a dashboard (up to 10), each run with the member’s rights'),
});

export const AiExplanation = z
  .object({
    explanation: z.string().describe('A few sentences of plain text, to be shown as text'),
    figures: z
      .array(z.object({ label: z.string(), value: z.number() }))
      .describe('The numbers the explanation cites, each one a number of the results'),
    uncited: z.number().int().describe('Numbers the model gave that are not in the results, left out'),
    model: z.string(),
  })
  .meta({ id: 'AiExplanation' });
