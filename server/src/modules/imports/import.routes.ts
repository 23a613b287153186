import fastifyMultipart from '@fastify/multipart';
import { z } from 'zod';
import { auditRequest } from '../../platform/audit/audit.js';
import { AppError, badRequest } from '../../platform/errors/app-error.js';
import { assertStorable } from '../../platform/http/input.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import {
  ColumnFieldCreate,
  ErrorReportQuery,
  Import,
  ImportCreateQuery,
  ImportDetail,
  ImportListQuery,
  ImportMapping,
  ImportMappingCreate,
  ImportPage,
  ImportPreview,
  ImportRowPage,
  ImportUpdate,
  PreviewQuery,
  RowsQuery,
} from './import.dto.js';
import * as importsService from './import.service.js';
import { IMPORT_MAX_BYTES } from './import.service.js';
import { previewImport } from './import-preview.service.js';
import { importErrorReport } from './import-report.service.js';
import { defineImportJobs } from './import-runner.service.js';

const IdParams = z.strictObject({ id: z.uuid() });
const ColumnParams = z.strictObject({ id: z.uuid(), index: z.coerce.number().int().min(0).max(10_000) });
const errors = {
  400: Problem,
  401: Problem,
  403: Problem,
  404: Problem,
  409: Problem,
  413: Problem,
  422: Problem,
};
const tags = ['imports'];

/**
 * CSV import under `/imports`: upload (multipart, streamed to disk) -> mapping and options
 * (`PATCH`) -> preview -> start (a background job) -> progress (`GET`) -> per-row outcomes and the
 * error report; cancel and revert. Saved mappings under `/import-mappings`. Reading needs
 * `records:read`, importing `records:write`; creating a custom field from a column needs
 * `settings:manage`. Another tenant's id is a 404.
 */
export function registerImportRoutes(app: ApiApp, services: Services): void {
  app.register(async (scoped) => {
    await scoped.register(fastifyMultipart, { limits: { fileSize: IMPORT_MAX_BYTES, files: 1, fields: 10 } });
    const api = scoped as unknown as ApiApp;
    api.post(
      '/imports',
      {
        config: { access: 'records:write' },
        schema: {
          operationId: 'createImport',
          tags,
          summary:
            'Upload a CSV or .xlsx file (multipart/form-data, field `file`) and get a draft import with a suggested mapping',
          description:
            'UTF-8 with or without BOM, or UTF-16 (with a BOM or by its NUL bytes) or Windows-1252 / Latin-1 (a file ' +
            'that is not valid UTF-8), decoded to UTF-8 as it is stored; 415 `unsupported_media_type` for a file that is ' +
            'not text (an image, a PDF, an archive), 400 `invalid_encoding` for one that stops being UTF-8 part way. CRLF or LF, `,` `;` tab or `|` delimited (detected), quoted fields with commas ' +
            'and newlines. Rows with more or fewer fields than the header are read as far as they go and counted in ' +
            '`ragged_rows`. An .xlsx workbook (recognized by its content) is read from its first worksheet: dates as ' +
            'YYYY-MM-DD, formulas as their result, except a typed-in value the spreadsheet evaluated (a phone ' +
            'number), which is flagged; 400 `invalid_xlsx` when it cannot be read. The file is streamed to the ' +
            'data directory, up to 2 GiB (413 above), and a CSV is counted (rows, ragged rows) as it arrives; 400 ' +
            '`invalid_csv` when it cannot be read as CSV (a quote never closed), and nothing is kept.',
          querystring: ImportCreateQuery,
          consumes: ['multipart/form-data'],
          response: { 201: Import, ...errors, 415: Problem },
        },
      },
      async (req, reply) => {
        if (!req.isMultipart())
          throw new AppError(415, 'unsupported_media_type', 'Send the file as multipart/form-data');
        const file = await req.file();
        if (!file)
          throw badRequest('Send the CSV or .xlsx file in the `file` field', 'body.file', 'required');
        try {
          assertStorable(file.filename, 'body.file.filename');
        } catch (error) {
          file.file.resume(); // drain the upload, so the answer is read
          throw error;
        }
        const view = await importsService.createImport(services, req.tenant, {
          object: req.query.object,
          fileName: file.filename || 'import.csv',
          stream: file.file,
          truncated: () => file.file.truncated,
          mappingId: req.query.mapping_id,
        });
        return reply.code(201).send(view);
      },
    );
  });
  app.get(
    '/imports',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'listImports',
        tags,
        summary: 'Import history, newest first',
        querystring: ImportListQuery,
        response: { 200: ImportPage, ...errors },
      },
    },
    async (req) => importsService.listImports(services, req.tenant, req.query),
  );
  app.get(
    '/imports/:id',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'getImport',
        tags,
        summary:
          'An import: mapping, options, progress (rows done, created, updated, skipped, failed, rows/s, ETA), targets and sample rows',
        params: IdParams,
        response: { 200: ImportDetail, ...errors },
      },
    },
    async (req) => importsService.getImport(services, req.tenant, req.params.id),
  );
  app.patch(
    '/imports/:id',
    {
      config: { access: 'records:write' },
      schema: {
        operationId: 'updateImport',
        tags,
        summary:
          'Set the mapping (by column index), the dedup mode and options of a draft import, or apply a saved mapping',
        params: IdParams,
        body: ImportUpdate,
        response: { 200: Import, ...errors },
      },
    },
    async (req) => importsService.updateImport(services, req.tenant, req.params.id, req.body),
  );
  app.get(
    '/imports/:id/preview',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'previewImport',
        tags,
        summary:
          'The first rows as they would be stored, with each problem, and every row checked (counts of rows that will fail or lose a value, by problem); nothing is written',
        params: IdParams,
        querystring: PreviewQuery,
        response: { 200: ImportPreview, ...errors },
      },
    },
    async (req) => previewImport(services, req.tenant, req.params.id, req.query.limit),
  );
  app.post(
    '/imports/:id/columns/:index/field',
    {
      config: { access: 'settings:manage' },
      schema: {
        operationId: 'createImportColumnField',
        tags,
        summary: 'Create a custom field from a column (label: its header) and map the column to it',
        params: ColumnParams,
        body: ColumnFieldCreate,
        response: { 200: Import, ...errors },
      },
    },
    async (req) =>
      importsService.createFieldFromColumn(services, req.tenant, req.params.id, req.params.index, req.body),
  );
  for (const [action, summary, fn] of [
    [
      'start',
      'Run the import in the background (or resume a failed or cancelled one from its checkpoint)',
      importsService.startImport,
    ],
    ['cancel', 'Stop a queued or running import after its current batch', importsService.cancelImport],
  ] as const) {
    app.post(
      `/imports/:id/${action}`,
      {
        config: { access: 'records:write' },
        schema: {
          operationId: `${action}Import`,
          tags,
          summary,
          params: IdParams,
          response: { 200: Import, ...errors },
        },
      },
      async (req) => {
        const result = await fn(services, req.tenant, req.params.id);
        if (action === 'start') {
          await auditRequest(services.database, req, {
            action: 'records.imported',
            target: { type: 'import', id: req.params.id },
          });
        }
        return result;
      },
    );
  }
  app.post(
    '/imports/:id/revert',
    {
      config: { access: 'records:write' },
      schema: {
        tags,
        operationId: 'revertImport',
        summary:
          'Undo a finished import: archive what it created, restore what it overwrote (in the background); who ran it or an admin (another member gets 403)',
        params: IdParams,
        response: { 200: Import, ...errors },
      },
    },
    async (req) =>
      importsService.revertImport(services, req.tenant, req.params.id, {
        isAdmin: req.principal?.role === 'admin',
      }),
  );
  app.get(
    '/imports/:id/rows',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'listImportRows',
        tags,
        summary:
          'What happened to each row (created, updated, skipped, failed), with its problems; keyset by row number',
        params: IdParams,
        querystring: RowsQuery,
        response: { 200: ImportRowPage, ...errors },
      },
    },
    async (req) => importsService.listImportRows(services, req.tenant, req.params.id, req.query),
  );
  app.get(
    '/imports/:id/errors.csv',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'getImportErrorReport',
        tags,
        summary:
          'The error report: row number, column, code, reason and the original cells, formula-neutralized',
        description:
          'One line per problem of each failed row and each row imported with a problem; `problem` keeps only the lines of that code.',
        params: IdParams,
        querystring: ErrorReportQuery,
        produces: ['text/csv'],
      },
    },
    async (req, reply) => {
      const stream = await importErrorReport(services, req.tenant, req.params.id, req.query.problem);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="import-${req.params.id}-errors.csv"`)
        .send(stream);
    },
  );

  const mappingTags = ['import-mappings'];
  app.get(
    '/import-mappings',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'listImportMappings',
        tags: mappingTags,
        summary: 'Saved column mappings, by name',
        querystring: z.strictObject({ object: z.string().max(50).optional() }),
        response: { 200: z.object({ data: z.array(ImportMapping) }), ...errors },
      },
    },
    async (req) => importsService.listImportMappings(services, req.tenant, req.query.object),
  );
  app.post(
    '/import-mappings',
    {
      config: { access: 'records:write' },
      schema: {
        operationId: 'createImportMapping',
        tags: mappingTags,
        summary: 'Save a column mapping (headers -> targets), given or taken from an import',
        body: ImportMappingCreate,
        response: { 201: ImportMapping, ...errors },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await importsService.createImportMapping(services, req.tenant, req.body)),
  );
  app.get(
    '/import-mappings/:id',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'getImportMapping',
        tags: mappingTags,
        summary: 'A saved mapping',
        params: IdParams,
        response: { 200: ImportMapping, ...errors },
      },
    },
    async (req) => importsService.getImportMapping(services, req.tenant, req.params.id),
  );
  app.delete(
    '/import-mappings/:id',
    {
      config: { access: 'records:write' },
      schema: {
        operationId: 'deleteImportMapping',
        tags: mappingTags,
        summary: 'Delete a saved mapping',
        params: IdParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await importsService.deleteImportMapping(services, req.tenant, req.params.id);
      return reply.code(204).send(null);
    },
  );
}

/** The import job queue; defined before any process starts the queue. */
export function defineImportQueue(services: Services): void {
  defineImportJobs(services);
}
