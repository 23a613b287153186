import { z } from 'zod';
import type { TenantContext, TenantScope } from '../../db/tenant.js';
import { auditRequest } from '../../platform/audit/audit.js';
import { Problem } from '../../platform/http/problem.js';
import { passThrough } from '../../platform/http/serializer.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import {
  ListQuery,
  ListQueryParams,
  parseListQuery,
  parseListQueryParams,
} from '../../platform/query/query.schema.js';
import { TimelineEntry, timelineOf } from '../timeline/timeline.service.js';
import { BulkAction, BulkResult, bulkAction } from './record-bulk.service.js';
import { CountQueryParams, countRecords, RecordCount } from './record-count.service.js';
import { exportRecords } from './record-export.service.js';
import { listRecords } from './record-list.service.js';

const IdParams = z.strictObject({ id: z.uuid() });
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
export const TimelinePage = z
  .object({ data: z.array(TimelineEntry), next_cursor: z.string().nullable() })
  .meta({ id: 'TimelinePage' });
const TimelineQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
});

/** What a record type's service offers the generic routes. */
export type RecordService<View, Create, Update> = {
  create(services: Services, ctx: TenantContext, input: Create): Promise<View>;
  get(services: Services, ctx: TenantContext, id: string): Promise<View>;
  update(services: Services, ctx: TenantContext, id: string, input: Update): Promise<View>;
  archive(services: Services, ctx: TenantContext, id: string): Promise<View>;
  restore(services: Services, ctx: TenantContext, id: string): Promise<View>;
  /** Archives or restores many records in the caller's transaction (bulk): answers those changed. */
  archiveMany(scope: TenantScope, services: Services, ids: string[], archive: boolean): Promise<unknown[]>;
  remove(services: Services, ctx: TenantContext, id: string): Promise<void>;
};

export type RecordRoutesSpec<View, Create, Update> = {
  /** Registry object key, e.g. `contact`. */
  object: string;
  /** URL collection, e.g. `contacts`. */
  collection: string;
  label: string;
  /** The view, create and update schemas (validation and the OpenAPI document). */
  schemas: { view: z.ZodType; create: z.ZodType; update: z.ZodType };
  service: RecordService<View, Create, Update>;
};

/**
 * The routes every record type has, written once: create, read, update, archive, restore,
 * delete for good (admins) and the timeline, under `/<collection>`.
 */
export function registerRecordRoutes<View, Create, Update>(
  app: ApiApp,
  services: Services,
  spec: RecordRoutesSpec<View, Create, Update>,
): void {
  const { collection, label, schemas, service } = spec;
  const tags = [collection];
  const one = { 200: schemas.view, ...errors };
  // operationIds: `listContacts`, `getContact`, ... (the collection and the label in PascalCase).
  const many = pascal(collection);
  const single = pascal(label);

  const ListPage = passThrough(
    z.object({
      data: z
        .array(z.record(z.string(), z.unknown()))
        .describe('The requested fields of each record; custom values under `custom`'),
      next_cursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last'),
    }),
  );
  app.get(
    `/${collection}`,
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: `list${many}`,
        summary: `List ${collection} with the query language (filter as JSON, sort, cursor, limit <= 200, fields, q)`,
        querystring: ListQueryParams,
        response: { 200: ListPage, ...errors },
      },
    },
    async (req) => listRecords(services, req.tenant, spec.object, parseListQueryParams(req.query)),
  );
  app.get(
    `/${collection}/count`,
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: `count${many}`,
        summary: `Count the ${collection} a list query selects (filter as JSON, q): exact up to 10,000, then \`exact: false\``,
        querystring: CountQueryParams,
        response: { 200: RecordCount, ...errors },
      },
    },
    async (req) => countRecords(services, req.tenant, spec.object, parseListQueryParams(req.query)),
  );
  app.post(
    `/${collection}/query`,
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: `query${many}`,
        summary: `List ${collection} with the query language in the body (for long filters)`,
        body: ListQuery,
        response: { 200: ListPage, ...errors },
      },
    },
    async (req) => listRecords(services, req.tenant, spec.object, parseListQuery(req.body)),
  );
  app.get(
    `/${collection}/export`,
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: `export${many}`,
        summary: `Export the ${collection} a query selects, streamed: CSV (formulas neutralized) or JSON lines`,
        querystring: ListQueryParams.extend({ format: z.enum(['csv', 'jsonl']).default('csv') }),
        produces: ['text/csv', 'application/x-ndjson'],
      },
    },
    async (req, reply) => {
      const { format, ...params } = req.query;
      const stream = await exportRecords(
        services,
        req.tenant,
        spec.object,
        parseListQueryParams(params),
        format,
      );
      await auditRequest(services.database, req, {
        action: 'records.exported',
        target: { type: 'object', id: spec.object },
        details: { format, filter: params.filter ?? null, q: params.q ?? null },
      });
      const stamp = new Date().toISOString().slice(0, 10);
      return reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
        .header(
          'content-disposition',
          `attachment; filename="${collection}-${stamp}.${format === 'csv' ? 'csv' : 'jsonl'}"`,
        )
        .send(stream);
    },
  );
  app.post(
    `/${collection}/bulk`,
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: `bulkUpdate${many}`,
        summary: `Assign an owner, add or remove tags, archive or restore many ${collection} (ids or a filter; at most 1000), all or nothing`,
        body: BulkAction,
        response: { 200: BulkResult, ...errors },
      },
    },
    async (req) => {
      const result = await bulkAction(services, req.tenant, spec.object, req.body, (scope, ids, archive) =>
        service.archiveMany(scope, services, ids, archive),
      );
      if (req.body.action === 'archive' || req.body.action === 'restore') {
        await auditRequest(services.database, req, {
          action: req.body.action === 'archive' ? 'records.bulk_archived' : 'records.bulk_restored',
          target: { type: 'object', id: spec.object },
          details: { ...result, ids: req.body.ids ?? null, filter: req.body.filter ?? null },
        });
      }
      return result;
    },
  );
  app.post(
    `/${collection}`,
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: `create${single}`,
        summary: `Create a ${label}`,
        body: schemas.create,
        response: { 201: schemas.view, ...errors },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await service.create(services, req.tenant, req.body as Create)),
  );
  app.get(
    `/${collection}/:id`,
    {
      config: { access: 'records:read' },
      schema: { tags, operationId: `get${single}`, summary: `A ${label}`, params: IdParams, response: one },
    },
    async (req) => service.get(services, req.tenant, req.params.id),
  );
  app.patch(
    `/${collection}/:id`,
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: `update${single}`,
        summary: `Update a ${label}: given fields change, absent ones stay, null clears; custom values merge`,
        params: IdParams,
        body: schemas.update,
        response: one,
      },
    },
    async (req) => service.update(services, req.tenant, req.params.id, req.body as Update),
  );
  app.post(
    `/${collection}/:id/archive`,
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: `archive${single}`,
        summary: `Archive (soft-delete) a ${label}`,
        params: IdParams,
        response: one,
      },
    },
    async (req) => service.archive(services, req.tenant, req.params.id),
  );
  app.post(
    `/${collection}/:id/restore`,
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: `restore${single}`,
        summary: `Restore an archived ${label}`,
        params: IdParams,
        response: one,
      },
    },
    async (req) => service.restore(services, req.tenant, req.params.id),
  );
  app.delete(
    `/${collection}/:id`,
    {
      config: { access: 'records:purge' },
      schema: {
        tags,
        operationId: `delete${single}`,
        summary: `Delete a ${label} for good (admins)`,
        params: IdParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await service.remove(services, req.tenant, req.params.id);
      await auditRequest(services.database, req, {
        action: 'record.deleted',
        target: { type: spec.object, id: req.params.id },
      });
      return reply.code(204).send(null);
    },
  );
  app.get(
    `/${collection}/:id/timeline`,
    {
      config: { access: 'records:read' },
      schema: {
        tags,
        operationId: `get${single}Timeline`,
        summary: `The ${label}'s history and that of its related records, newest first`,
        params: IdParams,
        querystring: TimelineQuery,
        response: { 200: TimelinePage, ...errors },
      },
    },
    async (req) => {
      await service.get(services, req.tenant, req.params.id); // 404 for another tenant's id
      return timelineOf(services, req.tenant, { object: spec.object, id: req.params.id }, req.query);
    },
  );
}

/** `contacts` -> `Contacts`, `import-mappings` -> `ImportMappings`: a name part of an operationId. */
export function pascal(words: string): string {
  return words
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
}
