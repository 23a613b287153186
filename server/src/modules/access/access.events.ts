import { z } from 'zod';
import { type CatalogueOf, defineEvent, registerEvents } from '../../platform/events/event-catalogue.js';

const RoleData = z.object({ name: z.string(), key: z.string() });
const TeamData = z.object({ name: z.string() });
const TeamMemberData = z.object({ name: z.string(), user_id: z.string() });

/** Roles and teams (issue 22): their changes are also in the audit log. */
export const accessEvents = registerEvents({
  'role.created': defineEvent({
    summary: 'A role was created',
    data: RoleData,
    describe: ({ actor, data }) => `${actor} created the role ${data.name}`,
  }),
  'role.updated': defineEvent({
    summary: "A role's name or rights changed",
    data: RoleData,
    describe: ({ actor, data }) => `${actor} changed the role ${data.name}`,
  }),
  'role.deleted': defineEvent({
    summary: 'A role was deleted',
    data: RoleData,
    describe: ({ actor, data }) => `${actor} deleted the role ${data.name}`,
  }),
  'team.created': defineEvent({
    summary: 'A team was created',
    data: TeamData,
    describe: ({ actor, data }) => `${actor} created the team ${data.name}`,
  }),
  'team.updated': defineEvent({
    summary: 'A team was renamed or described',
    data: TeamData,
    describe: ({ actor, data }) => `${actor} changed the team ${data.name}`,
  }),
  'team.deleted': defineEvent({
    summary: 'A team was deleted',
    data: TeamData,
    describe: ({ actor, data }) => `${actor} deleted the team ${data.name}`,
  }),
  'team.member_added': defineEvent({
    summary: 'A member joined a team',
    data: TeamMemberData,
    describe: ({ actor, data }) => `${actor} added a member to the team ${data.name}`,
  }),
  'team.member_removed': defineEvent({
    summary: 'A member left a team',
    data: TeamMemberData,
    describe: ({ actor, data }) => `${actor} removed a member from the team ${data.name}`,
  }),
});

declare module '../../platform/events/event-catalogue.js' {
  interface EventCatalogue extends CatalogueOf<typeof accessEvents> {}
}
