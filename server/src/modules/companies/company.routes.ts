import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { Contact } from '../contacts/contact.dto.js';
import { registerRecordRoutes } from '../records/record.routes.js';
import { Company, CompanyCreate, CompanyUpdate } from './company.dto.js';
import * as companies from './company.service.js';
import { updateCompany } from './company-updates.service.js';

/** Companies: the record routes, plus the company's contacts. */
export function registerCompanyRoutes(app: ApiApp, services: Services): void {
  registerRecordRoutes(app, services, {
    object: 'company',
    collection: 'companies',
    label: 'company',
    schemas: { view: Company, create: CompanyCreate, update: CompanyUpdate },
    service: {
      create: companies.createCompany,
      get: companies.getCompany,
      update: updateCompany,
      archive: companies.archiveCompany,
      restore: companies.restoreCompany,
      archiveMany: companies.setCompaniesArchived,
      remove: companies.deleteCompany,
    },
  });
  app.get(
    '/companies/:id/contacts',
    {
      config: { access: 'records:read' },
      schema: {
        operationId: 'listCompanyContacts',
        tags: ['companies'],
        summary: "The company's active contacts, by name (first 200)",
        params: z.strictObject({ id: z.uuid() }),
        response: { 200: z.object({ data: z.array(Contact) }), 404: Problem, 401: Problem, 403: Problem },
      },
    },
    async (req) => ({
      data: await companies.companyContacts(services, req.tenant, req.params.id),
    }),
  );
}
