import type { RecordObject } from '../../../lib/records';
import { companyPlugin } from './company';
import { contactPlugin } from './contact';
import { opportunityPlugin } from './opportunity';
import { productPlugin } from './product';
import type { ObjectPlugin } from './types';

/** Each object's plug-in: the only per-object code of the record page and create form. */
export const OBJECT_PLUGINS: Record<RecordObject, ObjectPlugin> = {
  contact: contactPlugin,
  company: companyPlugin,
  opportunity: opportunityPlugin,
  product: productPlugin,
};
