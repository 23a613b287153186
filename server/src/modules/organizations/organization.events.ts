import { z } from 'zod';
import {
  type CatalogueOf,
  defineEvent,
  FieldChangesSchema,
  registerEvents,
} from '../../platform/events/event-catalogue.js';

const SETTINGS_ORDER = ['name', 'default_currency', 'time_zone', 'country', 'fiscal_year_start_month'];

/** The organization events: the tenant, its members and invitations. */
export const organizationEvents = registerEvents({
  'organization.created': defineEvent({
    summary: 'An organization was created (sign-up)',
    data: z.object({ name: z.string() }),
    describe: ({ actor, data }) => `${actor} created the organization ${data.name}`,
  }),
  'organization.updated': defineEvent({
    summary:
      "The organization's settings changed (name, default currency, time zone, country, fiscal year start)",
    data: z.object({ name: z.string(), changes: FieldChangesSchema }),
    // In the settings' order (jsonb keeps keys in its own order).
    describe: ({ actor, data, fields }) =>
      `${actor} changed the organization's ${fields(SETTINGS_ORDER.filter((k) => k in data.changes))}`,
  }),
  'member.joined': defineEvent({
    summary: 'Someone accepted an invitation and joined with a role',
    data: z.object({ role: z.string(), invitation_id: z.string() }),
    describe: ({ actor, data }) => `${actor} joined as ${data.role}`,
  }),
  'member.role_changed': defineEvent({
    summary: 'A member’s role changed',
    data: z.object({ changes: FieldChangesSchema }),
    describe: ({ actor, data }) => {
      const role = data.changes.role;
      return `${actor} changed a member's role${role ? ` from ${String(role.before)} to ${String(role.after)}` : ''}`;
    },
  }),
  'member.removed': defineEvent({
    summary: 'A member was removed from the organization',
    data: z.object({ role: z.string() }),
    describe: ({ actor, data }) => `${actor} removed a member (${data.role})`,
  }),
  'invitation.created': defineEvent({
    summary: 'Someone was invited with a role',
    data: z.object({ email: z.string(), role: z.string() }),
    describe: ({ actor, data }) => `${actor} invited ${data.email} as ${data.role}`,
  }),
  'invitation.canceled': defineEvent({
    summary: 'A pending invitation was canceled',
    data: z.object({}),
    describe: ({ actor }) => `${actor} canceled an invitation`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof organizationEvents> {}
}
