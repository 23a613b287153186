import { z } from 'zod';
import { badRequest } from '../../platform/errors/app-error.js';
import { assertJsonDepth, assertStorable } from '../../platform/http/input.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { FilterNode } from '../../platform/query/query.schema.js';
import { Contact } from '../contacts/contact.dto.js';
import { setStageHolders } from '../pipelines/pipeline.service.js';
import { registerRecordRoutes } from '../records/record.routes.js';
import { convertLead, LeadConversion } from './lead-conversion.service.js';
import {
  Opportunity,
  OpportunityClose,
  OpportunityCreate,
  OpportunityMove,
  OpportunityReopen,
  OpportunityUpdate,
  StageHistoryEntry,
} from './opportunity.dto.js';
import * as opps from './opportunity.service.js';
import {
  BoardCard,
  BoardColumn,
  BoardTotal,
  board,
  boardColumn,
  pipelineReport,
} from './opportunity-board.service.js';
import * as moves from './opportunity-moves.service.js';
import { opportunityStageHolders } from './opportunity-stages.service.js';
import { updateOpportunity } from './opportunity-updates.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const Id = z.strictObject({ id: z.uuid() });
const BoardQuery = z.strictObject({
  filter: z.string().max(8000).optional().describe('A FilterNode as JSON (owner, tags, close date...)'),
  q: z.string().max(200).optional(),
  include_closed: z.enum(['true', 'false']).default('false'),
  per_column: z.coerce.number().int().min(1).max(100).default(20),
});

function parseFilter(text: string | undefined) {
  if (!text) return undefined;
  let json: unknown;
  assertJsonDepth(text, 'query.filter');
  try {
    json = JSON.parse(text);
  } catch {
    throw badRequest('filter must be a JSON filter tree', 'querystring.filter', 'invalid_query');
  }
  assertStorable(json, 'query.filter');
  const parsed = FilterNode.safeParse(json);
  if (!parsed.success)
    throw badRequest('filter is not a valid filter tree', 'querystring.filter', 'invalid_query');
  return parsed.data;
}

/** Opportunities (the record routes plus move, close, reopen, history), the board and the report. */
export function registerOpportunityRoutes(app: ApiApp, services: Services): void {
  // Deleting a pipeline or a stage asks what stands in it: opportunities.
  setStageHolders(opportunityStageHolders);
  const tags = ['opportunities'];
  registerRecordRoutes(app, services, {
    object: 'opportunity',
    collection: 'opportunities',
    label: 'opportunity',
    schemas: { view: Opportunity, create: OpportunityCreate, update: OpportunityUpdate },
    service: {
      create: opps.createOpportunity,
      get: opps.getOpportunity,
      update: updateOpportunity,
      archive: opps.archiveOpportunity,
      restore: opps.restoreOpportunity,
      archiveMany: opps.setOpportunitiesArchived,
      remove: opps.deleteOpportunity,
    },
  });
  app.post(
    '/opportunities/:id/move',
    {
      config: { access: 'records:write' },
      schema: {
        operationId: 'moveOpportunity',
        tags,
        summary:
          'Move to a stage of its pipeline, after a card (or to the top); a won or lost stage closes it',
        params: Id,
        body: OpportunityMove,
        response: { 200: Opportunity, ...errors },
      },
    },
    async (req) => moves.moveOpportunity(services, req.tenant, req.params.id, req.body),
  );
  app.post(
    '/opportunities/:id/close',
    {
      config: { access: 'records:write' },
      schema: {
        operationId: 'closeOpportunity',
        tags,
        summary: 'Close as won, lost or abandoned, with an optional reason',
        params: Id,
        body: OpportunityClose,
        response: { 200: Opportunity, ...errors },
      },
    },
    async (req) => moves.closeOpportunity(services, req.tenant, req.params.id, req.body),
  );
  app.post(
    '/opportunities/:id/reopen',
    {
      config: { access: 'records:write' },
      schema: {
        operationId: 'reopenOpportunity',
        tags,
        summary: 'Reopen a closed opportunity (into the last open stage it was in, unless given)',
        params: Id,
        body: OpportunityReopen,
        response: { 200: Opportunity, ...errors },
      },
    },
    async (req) => moves.reopenOpportunity(services, req.tenant, req.params.id, req.body.stage_id),
  );
  app.post(
    '/contacts/:id/convert',
    {
      config: { access: 'records:write' },
      schema: {
        operationId: 'convertContact',
        tags: ['contacts'],
        summary: 'Convert a lead into an opportunity (and a company) in one call',
        params: Id,
        body: LeadConversion,
        response: { 200: z.object({ contact: Contact, opportunity: Opportunity }), ...errors },
      },
    },
    async (req) => convertLead(services, req.tenant, req.params.id, req.body),
  );
  app.get(
    '/opportunities/:id/history',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'getOpportunityHistory',
        tags,
        summary: 'Stage history with the days spent in each stage',
        params: Id,
        response: { 200: z.object({ data: z.array(StageHistoryEntry) }), ...errors },
      },
    },
    async (req) => ({ data: await moves.stageHistory(services, req.tenant, req.params.id) }),
  );
  app.get(
    '/pipelines/:id/board',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'getPipelineBoard',
        tags,
        summary:
          'The Kanban board: stages in order, each with count, value per currency and its first cards by rank',
        params: Id,
        querystring: BoardQuery,
        response: {
          200: z.object({
            pipeline: z.object({ id: z.uuid(), name: z.string() }),
            columns: z.array(BoardColumn),
            total: BoardTotal.optional().describe(
              "The board's open value in the organization's currency (absent when the amount is hidden from the caller's role)",
            ),
          }),
          ...errors,
        },
      },
    },
    async (req) =>
      board(services, req.tenant, req.params.id, {
        filter: parseFilter(req.query.filter),
        q: req.query.q,
        includeClosed: req.query.include_closed === 'true',
        perColumn: req.query.per_column,
      }),
  );
  app.get(
    '/pipelines/:id/board/:stageId',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'getPipelineBoardColumn',
        tags,
        summary: 'More cards of one board column, after its cursor',
        params: z.strictObject({ id: z.uuid(), stageId: z.uuid() }),
        querystring: BoardQuery.extend({ cursor: z.string().max(500).optional() }),
        response: {
          200: z.object({ cards: z.array(BoardCard), next_cursor: z.string().nullable() }),
          ...errors,
        },
      },
    },
    async (req) =>
      boardColumn(services, req.tenant, req.params.id, req.params.stageId, {
        filter: parseFilter(req.query.filter),
        q: req.query.q,
        includeClosed: req.query.include_closed === 'true',
        perColumn: req.query.per_column,
        cursor: req.query.cursor,
      }),
  );
  app.get(
    '/pipelines/:id/report',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'getPipelineReport',
        tags,
        summary: 'Per stage: count, value and weighted value (value x probability), per currency',
        params: Id,
        querystring: z.strictObject({
          owner_id: z.uuid().optional(),
          from: z.iso.date().optional(),
          to: z.iso.date().optional(),
          date_field: z.enum(['created_at', 'expected_close_date', 'closed_at']).default('created_at'),
        }),
        response: {
          200: z.object({
            pipeline: z.object({ id: z.uuid(), name: z.string() }),
            stages: z.array(
              z.object({
                stage: z.object({
                  id: z.uuid(),
                  name: z.string(),
                  probability: z.number(),
                  kind: z.string(),
                }),
                count: z.number().int(),
                total: z.record(z.string(), z.number()),
                weighted: z.record(z.string(), z.number()),
              }),
            ),
          }),
          ...errors,
        },
      },
    },
    async (req) =>
      pipelineReport(services, req.tenant, req.params.id, {
        ownerId: req.query.owner_id,
        from: req.query.from,
        to: req.query.to,
        dateField: req.query.date_field,
      }),
  );
}
