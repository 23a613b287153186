import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import { AUDIT_ACTIONS, auditRequest } from '../../platform/audit/audit.js';
import { type AuditEntryView, allAudit, listAudit } from '../../platform/audit/audit-query.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { neutralizeCell } from '../records/record-export.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };
const tags = ['audit'];

const AuditFilterQuery = z.strictObject({
  actor: z.uuid().optional().describe("Only this actor's entries: a user's or an API key's id"),
  action: z.enum(AUDIT_ACTIONS).optional(),
  from: z.iso.datetime({ offset: true }).optional().describe('Entries at or after this time (ISO 8601)'),
  to: z.iso.datetime({ offset: true }).optional().describe('Entries at or before this time (ISO 8601)'),
});

const AuditEntry = z
  .object({
    id: z.uuid(),
    occurred_at: z.string(),
    action: z.string(),
    actor: z.object({
      type: z.string().describe('user, api_key or system'),
      id: z.string().nullable(),
      label: z.string().nullable().describe("A user's e-mail or a key's name"),
    }),
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    trace_id: z.string().nullable(),
    target: z.object({ type: z.string(), id: z.string() }).nullable(),
    details: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AuditEntry' });

const CSV_HEADER = [
  'Occurred at',
  'Action',
  'Actor type',
  'Actor ID',
  'Actor',
  'IP',
  'User agent',
  'Trace ID',
  'Target type',
  'Target ID',
  'Details',
];
const csvRow = (e: AuditEntryView) =>
  [
    e.occurred_at,
    e.action,
    e.actor.type,
    e.actor.id ?? '',
    e.actor.label ?? '',
    e.ip ?? '',
    e.user_agent ?? '',
    e.trace_id ?? '',
    e.target?.type ?? '',
    e.target?.id ?? '',
    JSON.stringify(e.details),
  ].map(neutralizeCell);

/** The organization's security audit log, for its admins: filtered pages and a CSV export. */
export function registerAuditRoutes(app: ApiApp, services: Services): void {
  app.get(
    '/audit',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'listAuditLog',
        summary:
          "The organization's security audit log, newest first (admins): filter by actor, action and time",
        querystring: AuditFilterQuery.extend({
          limit: z.coerce.number().int().min(1).max(200).default(50),
          cursor: z.uuid().optional().describe('`next_cursor` of the previous page'),
        }),
        response: {
          200: z.object({ data: z.array(AuditEntry), next_cursor: z.string().nullable() }),
          ...errors,
        },
      },
    },
    async (req) => {
      const { limit, cursor, ...filter } = req.query;
      return listAudit(services.database, req.tenant, filter, { limit, cursor });
    },
  );

  app.get(
    '/audit/export',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags,
        operationId: 'exportAuditLog',
        summary: 'The audit log entries a filter selects, as CSV (formulas neutralized; admins)',
        querystring: AuditFilterQuery,
        produces: ['text/csv'],
      },
    },
    async (req, reply) => {
      const filter = req.query;
      await auditRequest(services.database, req, { action: 'audit.exported', details: { filter } });
      const pages = allAudit(services.database, req.tenant, filter);
      async function* lines() {
        yield `\uFEFF${stringify([CSV_HEADER])}`;
        for await (const page of pages) yield stringify(page.map(csvRow));
      }
      const stamp = new Date().toISOString().slice(0, 10);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="audit-${stamp}.csv"`)
        .send(Readable.from(lines()));
    },
  );
}
