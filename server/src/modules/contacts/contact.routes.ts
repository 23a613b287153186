import type { ApiApp, Services } from '../../platform/http/types.js';
import { registerRecordRoutes } from '../records/record.routes.js';
import { Contact, ContactCreate, ContactUpdate } from './contact.dto.js';
import * as contacts from './contact.service.js';
import { updateContact } from './contact-updates.service.js';

/** Contacts: create, read, update, archive/restore, delete (admins), and the timeline. */
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
}
