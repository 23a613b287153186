import { z } from 'zod';
import { notFound } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { QUERY_LIMITS } from '../../platform/query/query.errors.js';
import { parseListQueryParams } from '../../platform/query/query.schema.js';
import { STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';
import {
  RecordBoard,
  RecordBoardCards,
  recordBoard,
  recordBoardColumn,
  recordStatusHistory,
} from './record-board.service.js';
import { StatusHistoryEntry } from './record-status.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const ObjectKey = z.string().min(1).max(64).describe('A custom object’s key');
const ObjectParams = z.strictObject({ object: ObjectKey });
const RecordParams = z.strictObject({ object: ObjectKey, id: z.uuid() });
const tags = ['records'];

const BoardQuery = z.strictObject({
  field: z.string().min(1).max(64).describe('The status or single-select field the columns are'),
  filter: z.string().max(8000).optional().describe('A FilterNode as JSON: the cards shown'),
  q: z.string().max(QUERY_LIMITS.maxSearchLength).optional(),
  per_column: z.coerce.number().int().min(1).max(200).default(50).describe('Cards per column, 1..200'),
});

/** Standard objects have their own boards (opportunities: `/pipelines/<id>/board`). */
const customOnly = (object: string) => {
  if (STANDARD_OBJECTS[object]) throw notFound('Object', object);
  return object;
};

/**
 * The board of any custom object by a status or select field, one column's next cards, and a
 * record's status history (issue 21).
 */
export function registerRecordBoardRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/records/:object/board',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'getRecordBoard',
        summary:
          'The Kanban board of a custom object by a status or select field: columns in the field’s order with counts and their first cards (filter, q)',
        params: ObjectParams,
        querystring: BoardQuery,
        response: { 200: RecordBoard, ...errors },
      },
    },
    async (req) =>
      recordBoard(services, req.tenant, customOnly(req.params.object), {
        field: req.query.field,
        query: parseListQueryParams({ filter: req.query.filter, q: req.query.q }),
        perColumn: req.query.per_column,
      }),
  );
  app.get(
    '/records/:object/board/column',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'getRecordBoardColumn',
        summary: 'More cards of one column of a custom object’s board, after its cursor',
        params: ObjectParams,
        querystring: BoardQuery.extend({
          value: z
            .string()
            .min(1)
            .max(100)
            .optional()
            .describe('The column’s status or option; absent: no value'),
          cursor: z.string().max(QUERY_LIMITS.maxCursorLength).optional(),
        }),
        response: { 200: RecordBoardCards, ...errors },
      },
    },
    async (req) =>
      recordBoardColumn(services, req.tenant, customOnly(req.params.object), {
        field: req.query.field,
        value: req.query.value,
        query: parseListQueryParams({ filter: req.query.filter, q: req.query.q }),
        perColumn: req.query.per_column,
        cursor: req.query.cursor,
      }),
  );
  app.get(
    '/records/:object/:id/status-history',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'getRecordStatusHistory',
        summary:
          'A record’s status history, oldest first: from, to, who, when, why, and the time it spent in each status',
        params: RecordParams,
        querystring: z.strictObject({
          field: z.string().min(1).max(64).optional().describe('One status field; all of them when absent'),
        }),
        response: { 200: z.object({ data: z.array(StatusHistoryEntry) }), ...errors },
      },
    },
    async (req) =>
      recordStatusHistory(
        services,
        req.tenant,
        customOnly(req.params.object),
        req.params.id,
        req.query.field,
      ),
  );
}
