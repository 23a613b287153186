import { z } from 'zod';
import { tenantContextOf } from '../../platform/access/principal.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { Company } from '../companies/company.dto.js';
import { Contact } from '../contacts/contact.dto.js';
import { CompanyMerge, mergeCompanies } from './company-merge.service.js';
import { findDuplicates } from './duplicate.service.js';
import { ContactMerge, mergeContacts, undoMerge } from './merge.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const ctx = (req: { principal: Parameters<typeof tenantContextOf>[0]; id: unknown }) =>
  tenantContextOf(req.principal, String(req.id));

export const DuplicateGroup = z
  .object({
    reason: z.enum(['email', 'phone', 'domain', 'name', 'similar_name']),
    key: z.string().describe('What the records share: normalized e-mail, E.164 phone, domain or name'),
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
const DuplicatesQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) });
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
          querystring: DuplicatesQuery,
          response: { 200: z.object({ data: z.array(DuplicateGroup) }), ...errors },
        },
      },
      async (req) => findDuplicates(services, ctx(req), object, req.query.limit),
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
    async (req) => mergeContacts(services, ctx(req), req.body),
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
    async (req) => mergeCompanies(services, ctx(req), req.body),
  );
  app.post(
    '/merges/:id/undo',
    {
      config: { access: 'records:write' },
      schema: {
        operationId: 'undoMerge',
        tags: ['contacts', 'companies'],
        summary: 'Undo a merge: the merged records come back and what moved returns',
        params: z.strictObject({ id: z.uuid() }),
        response: {
          200: z
            .object({ merge_id: z.uuid(), restored_ids: z.array(z.uuid()) })
            .meta({ id: 'MergeUndoResult' }),
          ...errors,
        },
      },
    },
    async (req) => undoMerge(services, ctx(req), req.params.id),
  );
}
