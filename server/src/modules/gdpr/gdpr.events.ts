import { z } from 'zod';
import { type CatalogueOf, defineEvent, registerEvents } from '../../platform/events/event-catalogue.js';

const RuleData = z.object({
  object: z.string(),
  action: z.enum(['archive', 'erase']).optional(),
  after_months: z.number().optional(),
});

/** The retention rules' events (subject `{object: 'retention_rule', id: <object key>}`). */
export const gdprEvents = registerEvents({
  'retention_rule.set': defineEvent({
    summary:
      'A retention rule was set for an object: `action` (archive or erase) after `after_months` months',
    data: RuleData,
    describe: ({ actor, data }) =>
      data.action && data.after_months
        ? `${actor} set a retention rule for ${data.object.replaceAll('_', ' ')} records: ${data.action} after ${data.after_months} months`
        : `${actor} set a retention rule for ${data.object.replaceAll('_', ' ')} records`,
  }),
  'retention_rule.removed': defineEvent({
    summary: 'The retention rule of an object was removed',
    data: RuleData,
    describe: ({ actor, data }) =>
      `${actor} removed the retention rule for ${data.object.replaceAll('_', ' ')} records`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof gdprEvents> {}
}
