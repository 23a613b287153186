import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { Company } from '../companies/company.dto.js';
import { Contact } from '../contacts/contact.dto.js';
import { addTimelineSubjects } from '../timeline/timeline.service.js';
import { CompanyMerge, mergeCompanies } from './company-merge.service.js';
import { dismissDuplicates, findDuplicates, requestDuplicateScan } from './duplicate.service.js';
import { ContactMerge, mergeContacts, undoMerge } from './merge.service.js';
import { mergedInto } from './merge-record.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };

export const DuplicateGroup = z
  .object({
    reason: z.enum(['email', 'phone', 'domain', 'name', 'similar_name']),
    key: z
      .string()
      .describe('What the records share: normalized e-mail, E.164 phone, domain or name; or `name ~ name`'),
    record_count: z.number().int().describe('Active records in the group (at most 50 are listed)'),
    records: z.array(
      z.object({
        id: z.uuid(),
        name: z.string(),
        email: z.string().nullable(),
        phone: z.string().nullable(),
        created_at: z.string(),
      }),
    ),
  })
  .meta({ id: 'DuplicateGroup' });
const DuplicateScan = z
  .object({
    state: z
      .enum(['queued', 'running', 'done'])
      .describe('`queued`: a scan waits to run (the first is queued when the list is first opened)'),
    finished_at: z.string().nullable().describe('When the last full scan finished'),
    duration_ms: z.number().int().nullable().describe('How long the last full scan took, milliseconds'),
    pending_changes: z
      .number()
      .int()
      .describe(
        'Records changed since, whose groups are being updated in the background (counted up to 10,000)',
      ),
  })
  .meta({ id: 'DuplicateScan' });
const DuplicatesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(2000).optional().describe('`next_cursor` of the page before'),
});
const DuplicatesPage = z
  .object({ data: z.array(DuplicateGroup), next_cursor: z.string().nullable(), scan: DuplicateScan })
  .meta({ id: 'DuplicatesPage' });
const DismissBody = z.strictObject({
  ids: z.array(z.uuid()).min(2).max(200).describe('Records that are not duplicates of each other'),
});
const MergeResult = z
  .object({ merge_id: z.uuid().describe('Undo with POST /merges/{merge_id}/undo'), survivor: Contact })
  .meta({ id: 'ContactMergeResult' });
const CompanyMergeResult = z
  .object({ merge_id: z.uuid().describe('Undo with POST /merges/{merge_id}/undo'), survivor: Company })
  .meta({ id: 'CompanyMergeResult' });

/**
 * Duplicates and merge outside import: possible duplicates of contacts and companies, merging
 * contacts or companies into a survivor, and undoing a merge. Reads need `records:read`, merges
 * `records:write` (the roles that can edit records).
 */
export function registerMergeRoutes(app: ApiApp, services: Services): void {
  // A survivor's timeline also shows the events of the records merged into it.
  addTimelineSubjects('merges', mergedInto);
  for (const [collection, object] of [
    ['contacts', 'contact'],
    ['companies', 'company'],
  ] as const) {
    app.get(
      `/${collection}/duplicates`,
      {
        config: { access: 'records:read' },
        schema: {
          operationId: object === 'contact' ? 'listContactDuplicates' : 'listCompanyDuplicates',
          tags: [collection],
          summary: `Possible duplicate ${collection}: same ${object === 'contact' ? 'e-mail or phone' : 'domain or phone'}, same or similar names (pg_trgm)`,
          description:
            'Groups come from pairs a background scan keeps (updated from record events within seconds): ' +
            'records sharing an exact key (a key shared by more than 200 records is ignored), and names ' +
            'compared with their 10 alphabetical neighbours in their block. Dismissed pairs are left out. ' +
            'Opening the list the first time queues the first scan; `scan` says how current it is.',
          querystring: DuplicatesQuery,
          response: { 200: DuplicatesPage, ...errors },
        },
      },
      async (req) => findDuplicates(services, req.tenant, object, req.query.limit, req.query.cursor),
    );
    app.post(
      `/${collection}/duplicates/dismiss`,
      {
        config: { access: 'records:write' },
        schema: {
          tags: [collection],
          operationId: object === 'contact' ? 'dismissContactDuplicates' : 'dismissCompanyDuplicates',
          summary: `Not a duplicate: the ${collection} named are never shown as duplicates of each other again`,
          body: DismissBody,
          response: {
            200: z.object({ dismissed_pairs: z.number().int() }).meta({ id: 'DuplicatesDismissed' }),
            ...errors,
          },
        },
      },
      async (req) => dismissDuplicates(services, req.tenant, object, req.body.ids),
    );
    app.post(
      `/${collection}/duplicates/scan`,
      {
        config: { access: 'records:write' },
        schema: {
          tags: [collection],
          operationId: object === 'contact' ? 'scanContactDuplicates' : 'scanCompanyDuplicates',
          summary: `Scan all ${collection} for duplicates again, in the background`,
          response: {
            202: z.object({ scan: DuplicateScan }).meta({ id: 'DuplicateScanRequested' }),
            ...errors,
          },
        },
      },
      async (req, reply) => reply.code(202).send(await requestDuplicateScan(services, req.tenant, object)),
    );
  }
  app.post(
    '/contacts/merge',
    {
      config: { access: 'records:write' },
      schema: {
        operationId: 'mergeContacts',
        tags: ['contacts'],
        summary:
          'Merge contacts into a survivor: chosen values kept, e-mails, phones, tags, companies, opportunities, tasks, notes and timelines combined; the others archived',
        body: ContactMerge,
        response: { 200: MergeResult, ...errors },
      },
    },
    async (req) => mergeContacts(services, req.tenant, req.body),
  );
  app.post(
    '/companies/merge',
    {
      config: { access: 'records:write' },
      schema: {
        operationId: 'mergeCompanies',
        tags: ['companies'],
        summary:
          'Merge companies into a survivor: chosen values kept, tags, contacts, child companies, opportunities, tasks, notes, external ids and timelines combined; the others archived',
        body: CompanyMerge,
        response: { 200: CompanyMergeResult, ...errors },
      },
    },
    async (req) => mergeCompanies(services, req.tenant, req.body),
  );
  app.post(
    '/merges/:id/undo',
    {
      config: { access: 'records:write' },
      schema: {
        operationId: 'undoMerge',
        tags: ['contacts', 'companies'],
        summary:
          'Undo a merge: the merged records come back and what moved returns (who ran it or an admin; another member gets 403)',
        params: z.strictObject({ id: z.uuid() }),
        response: {
          200: z
            .object({ merge_id: z.uuid(), restored_ids: z.array(z.uuid()) })
            .meta({ id: 'MergeUndoResult' }),
          ...errors,
        },
      },
    },
    async (req) =>
      undoMerge(services, req.tenant, req.params.id, { isAdmin: req.principal?.role === 'admin' }),
  );
}
