import { z } from 'zod';
import { FORECAST_CATEGORIES } from './opportunity.schema.js';

const Currency = z.string().regex(/^[A-Z]{3}$/, 'An ISO 4217 code such as EUR');
export const OPPORTUNITY_SOURCES = ['manual', 'form', 'workflow', 'import', 'api'] as const;

const fields = {
  amount: z.number().finite().min(0).max(1e15).nullable().optional().describe('Decimal amount in `currency`'),
  currency: Currency.nullable().optional(),
  expected_close_date: z.iso.date().nullable().optional(),
  owner_id: z.uuid().nullable().optional(),
  contact_id: z.uuid().nullable().optional(),
  company_id: z.uuid().nullable().optional(),
  tags: z.array(z.string().trim().min(1).max(64)).max(100).optional(),
  forecast_category: z
    .enum(FORECAST_CATEGORIES)
    .optional()
    .describe(
      "Overrides the stage's forecast category (an open deal's; a won deal's is closed, a lost one's omitted) until the next stage change",
    ),
  custom: z.record(z.string(), z.unknown()).optional(),
};

export const OpportunityCreate = z
  .strictObject({
    title: z.string().trim().min(1).max(200),
    pipeline_id: z.uuid().optional().describe('Default: the default pipeline'),
    stage_id: z.uuid().optional().describe("Default: the pipeline's first stage"),
    source: z.enum(OPPORTUNITY_SOURCES).default('manual'),
    ...fields,
  })
  .meta({ id: 'OpportunityCreate' });
export const OpportunityUpdate = z
  .strictObject({ title: z.string().trim().min(1).max(200).optional(), ...fields })
  .meta({ id: 'OpportunityUpdate' });
export type OpportunityCreateInput = z.infer<typeof OpportunityCreate>;
export type OpportunityUpdateInput = z.infer<typeof OpportunityUpdate>;

export const OpportunityMove = z
  .strictObject({
    stage_id: z.uuid(),
    after_id: z
      .uuid()
      .nullable()
      .optional()
      .describe('Place right after this card of the target column; null or absent: top'),
  })
  .meta({ id: 'OpportunityMove' });
export const OpportunityClose = z
  .strictObject({
    status: z.enum(['won', 'lost', 'abandoned']),
    reason: z.string().trim().max(500).optional(),
  })
  .meta({ id: 'OpportunityClose' });
export const OpportunityReopen = z
  .strictObject({ stage_id: z.uuid().optional().describe('Default: the last open stage it was in') })
  .meta({ id: 'OpportunityReopen' });

export const Opportunity = z
  .object({
    id: z.uuid(),
    title: z.string(),
    amount: z.number().nullable(),
    currency: z.string().nullable(),
    expected_close_date: z.string().nullable(),
    owner_id: z.uuid().nullable(),
    contact: z.object({ id: z.uuid(), name: z.string() }).nullable(),
    company: z.object({ id: z.uuid(), name: z.string() }).nullable(),
    pipeline_id: z.uuid(),
    stage: z.object({ id: z.uuid(), name: z.string(), kind: z.string(), probability: z.number() }),
    status: z.enum(['open', 'won', 'lost', 'abandoned']),
    close_reason: z.string().nullable(),
    forecast_category: z
      .enum(FORECAST_CATEGORIES)
      .nullable()
      .describe("Salesforce's standard set: from the stage, or set by hand on an open deal"),
    closed_at: z.string().nullable(),
    rank: z.string(),
    stage_entered_at: z.string(),
    days_in_stage: z.number().int(),
    source: z.string(),
    tags: z.array(z.string()),
    custom: z.record(z.string(), z.unknown()),
    created_at: z.string(),
    updated_at: z.string(),
    created_by: z.uuid().nullable(),
    updated_by: z.uuid().nullable(),
    archived_at: z.string().nullable(),
  })
  .meta({ id: 'Opportunity' });
export type OpportunityView = z.infer<typeof Opportunity>;

export const StageHistoryEntry = z
  .object({
    from_stage: z.object({ id: z.uuid(), name: z.string() }).nullable(),
    to_stage: z.object({ id: z.uuid(), name: z.string() }),
    status: z.string(),
    moved_at: z.string(),
    moved_by: z.uuid().nullable(),
    days_in_stage: z.number().describe('Days spent in to_stage, until the next move or now'),
  })
  .meta({ id: 'StageHistoryEntry' });
