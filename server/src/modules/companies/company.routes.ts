import type { ApiApp, Services } from '../../platform/http/types.js';
import { registerRecordRoutes } from '../records/record.routes.js';
import { Company, CompanyCreate, CompanyUpdate } from './company.dto.js';
import * as companies from './company.service.js';
import { updateCompany } from './company-updates.service.js';

/** Companies: the record routes (a company's contacts are listed by the contacts module). */
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
}
