import { plugCompanyContactHooks } from '../companies/company-contacts.hooks.js';
import { countCompanyContactsIn, unlinkArchivedCompaniesIn } from './contact-company-links.service.js';

// A company's contact count and the unlinking of its contacts on archive are the contacts'
// business (they own the links): plugged into the companies module, which does not import this
// one. Loaded once by the composition root (app.ts).
plugCompanyContactHooks({ countContacts: countCompanyContactsIn, unlinkContacts: unlinkArchivedCompaniesIn });
