import { z } from 'zod';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { registerRecordRoutes } from '../records/record.routes.js';
import { Contact, ContactCreate, ContactUpdate } from './contact.dto.js';
import * as contacts from './contact.service.js';
import { companyContacts } from './contact-company-links.service.js';
import { updateContact } from './contact-updates.service.js';

/** Contacts: create, read, update, archive/restore, delete (admins), and a company's contacts. */
export function registerContactRoutes(app: ApiApp, services: Services): void {
  registerRecordRoutes(app, services, {
    object: 'contact',
    collection: 'contacts',
    label: 'contact',
    schemas: { view: Contact, create: ContactCreate, update: ContactUpdate },
    service: {
      create: contacts.createContact,
      get: contacts.getContact,
      update: updateContact,
      archive: contacts.archiveContact,
      restore: contacts.restoreContact,
      archiveMany: contacts.setContactsArchived,
      remove: contacts.deleteContact,
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
      data: await companyContacts(services, req.tenant, req.params.id),
    }),
  );
}
