import { z } from 'zod';
import { notFound } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import {
  ListQuery,
  ListQueryParams,
  parseListQuery,
  parseListQueryParams,
} from '../../platform/query/query.schema.js';
import { STANDARD_OBJECTS } from '../../platform/registry/standard-objects.js';
import { timelineOf } from '../timeline/timeline.service.js';
import { TimelinePage } from './record.routes.js';
import { BulkAction, BulkResult, bulkAction } from './record-bulk.service.js';
import { CountQueryParams, countRecords, RecordCount } from './record-count.service.js';
import * as engine from './record-engine.service.js';
import { exportRecords } from './record-export.service.js';
import { listRecords } from './record-list.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
// Any string: an unknown key is a 404 like an unknown id (the registry decides).
const ObjectKey = z.string().min(1).max(64).describe('A custom object’s key');
const ObjectParams = z.strictObject({ object: ObjectKey });
const RecordParams = z.strictObject({ object: ObjectKey, id: z.uuid() });
const TimelineQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
});
const ListPage = z.object({
  data: z
    .array(z.record(z.string(), z.unknown()))
    .describe('The requested fields of each record; values under `custom`'),
  next_cursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last'),
});
const tags = ['records'];
const one = { 200: engine.RecordView, ...errors };

/** Standard objects have their own routes (`/contacts`...): here they are unknown. */
const customOnly = (object: string) => {
  if (STANDARD_OBJECTS[object]) throw notFound('Object', object);
  return object;
};

/**
 * The records of the tenant's custom objects (issue 21), under `/records/<object key>`: the same
 * list, query, export, bulk and timeline as every object (the generic record services, driven
 * by the registry), and the record engine's writes.
 */
export function registerCustomRecordRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/records/:object',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'listRecords',
        summary:
          'List a custom object’s records with the query language (filter as JSON, sort, cursor, limit <= 200, fields, q)',
        params: ObjectParams,
        querystring: ListQueryParams,
        response: { 200: ListPage, ...errors },
      },
    },
    async (req) =>
      listRecords(services, req.tenant, customOnly(req.params.object), parseListQueryParams(req.query)),
  );
  app.get(
    '/records/:object/count',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'countRecords',
        summary:
          'Count a custom object’s records a list query selects (filter as JSON, q): exact up to 10,000, then `exact: false`',
        params: ObjectParams,
        querystring: CountQueryParams,
        response: { 200: RecordCount, ...errors },
      },
    },
    async (req) =>
      countRecords(services, req.tenant, customOnly(req.params.object), parseListQueryParams(req.query)),
  );
  app.post(
    '/records/:object/query',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'queryRecords',
        summary: 'List a custom object’s records with the query language in the body',
        params: ObjectParams,
        body: ListQuery,
        response: { 200: ListPage, ...errors },
      },
    },
    async (req) => listRecords(services, req.tenant, customOnly(req.params.object), parseListQuery(req.body)),
  );
  app.get(
    '/records/:object/export',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'exportRecords',
        summary: 'Export the records a query selects, streamed: CSV (formulas neutralized) or JSON lines',
        params: ObjectParams,
        querystring: ListQueryParams.extend({ format: z.enum(['csv', 'jsonl']).default('csv') }),
        produces: ['text/csv', 'application/x-ndjson'],
      },
    },
    async (req, reply) => {
      const { format, ...params } = req.query;
      const object = customOnly(req.params.object);
      const stream = await exportRecords(services, req.tenant, object, parseListQueryParams(params), format);
      const stamp = new Date().toISOString().slice(0, 10);
      return reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
        .header(
          'content-disposition',
          `attachment; filename="${object}-${stamp}.${format === 'csv' ? 'csv' : 'jsonl'}"`,
        )
        .send(stream);
    },
  );
  app.post(
    '/records/:object/bulk',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'bulkUpdateRecords',
        summary:
          'Assign an owner, add or remove tags, archive or restore many records (ids or a filter; at most 1000), all or nothing',
        params: ObjectParams,
        body: BulkAction,
        response: { 200: BulkResult, ...errors },
      },
    },
    async (req) => {
      const object = customOnly(req.params.object);
      // A retired object refuses every write (409 `object_retired`), bulk ones included.
      await engine.assertObjectWritable(services, req.tenant, object);
      return bulkAction(services, req.tenant, object, req.body, (scope, ids, archive) =>
        engine.setRecordsArchived(scope, services, object, ids, archive),
      );
    },
  );
  app.post(
    '/records/:object',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'createRecord',
        summary: 'Create a record of a custom object',
        params: ObjectParams,
        body: engine.RecordWrite,
        response: { 201: engine.RecordView, ...errors },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await engine.createRecord(services, req.tenant, req.params.object, req.body)),
  );
  app.get(
    '/records/:object/:id',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'getRecord',
        summary: 'A record of a custom object',
        params: RecordParams,
        response: one,
      },
    },
    async (req) => engine.getRecord(services, req.tenant, req.params.object, req.params.id),
  );
  app.patch(
    '/records/:object/:id',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'updateRecord',
        summary: 'Update a record: given fields change, absent ones stay, null clears; custom values merge',
        params: RecordParams,
        body: engine.RecordWrite,
        response: one,
      },
    },
    async (req) => engine.updateRecord(services, req.tenant, req.params.object, req.params.id, req.body),
  );
  for (const [action, archive] of [
    ['archive', true],
    ['restore', false],
  ] as const) {
    app.post(
      `/records/:object/:id/${action}`,
      {
        config: { access: 'records:write' },
        schema: {
          tags,
          operationId: archive ? 'archiveRecord' : 'restoreRecord',
          summary: archive ? 'Archive (soft-delete) a record' : 'Restore an archived record',
          params: RecordParams,
          response: one,
        },
      },
      async (req) => engine.archiveRecord(services, req.tenant, req.params.object, req.params.id, archive),
    );
  }
  app.delete(
    '/records/:object/:id',
    {
      config: { access: 'records:purge' },
      schema: {
        tags,
        operationId: 'deleteRecord',
        summary: 'Delete a record for good (admins)',
        params: RecordParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await engine.deleteRecord(services, req.tenant, req.params.object, req.params.id);
      return reply.code(204).send(null);
    },
  );
  app.get(
    '/records/:object/:id/timeline',
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: 'getRecordTimeline',
        summary: 'The record’s history and that of its related records, newest first',
        params: RecordParams,
        querystring: TimelineQuery,
        response: { 200: TimelinePage, ...errors },
      },
    },
    async (req) => {
      await engine.getRecord(services, req.tenant, req.params.object, req.params.id); // 404 for another tenant's id
      return timelineOf(services, req.tenant, { object: req.params.object, id: req.params.id }, req.query);
    },
  );
}
