import { z } from 'zod';
import { auditSourceOf } from '../../platform/audit/audit.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import {
  createRole,
  deleteRole,
  getRole,
  listRoles,
  RoleCreate,
  RoleUpdate,
  RoleView,
  updateRole,
} from './role.service.js';
import {
  createTeam,
  deleteTeam,
  getTeam,
  listTeams,
  setTeamMember,
  TeamView,
  TeamWrite,
  updateTeam,
} from './team.service.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem };
const IdParams = z.strictObject({ id: z.uuid() });

/**
 * Roles (`/roles`, admins: `settings:manage`) and teams (`/teams`, admins: `members:manage`),
 * issue 22. Every change is in the audit log.
 */
export function registerAccessRoutes(app: ApiApp, services: Services): void {
  const roleTags = ['roles'];
  app.get(
    '/roles',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags: roleTags,
        operationId: 'listRoles',
        summary: 'The built-in roles (admin, user, viewer) then the organization’s own, with their rights',
        response: { 200: z.object({ data: z.array(RoleView) }), ...errors },
      },
    },
    async (req) => ({ data: await listRoles(services, req.tenant) }),
  );
  app.post(
    '/roles',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags: roleTags,
        operationId: 'createRole',
        summary:
          'Create a role: per object its rights, record scope and narrowed fields (409 `role_exists` for a key taken)',
        body: RoleCreate,
        response: { 201: RoleView, ...errors },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await createRole(services, req.tenant, auditSourceOf(req), req.body)),
  );
  app.get(
    '/roles/:id',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags: roleTags,
        operationId: 'getRole',
        summary: 'One of the organization’s own roles',
        params: IdParams,
        response: { 200: RoleView, ...errors },
      },
    },
    async (req) => getRole(services, req.tenant, req.params.id),
  );
  app.patch(
    '/roles/:id',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags: roleTags,
        operationId: 'updateRole',
        summary:
          'Change a role: given parts replace the old ones (`objects` whole); its holders see it at once',
        params: IdParams,
        body: RoleUpdate,
        response: { 200: RoleView, ...errors },
      },
    },
    async (req) => updateRole(services, req.tenant, auditSourceOf(req), req.params.id, req.body),
  );
  app.delete(
    '/roles/:id',
    {
      config: { access: 'settings:manage' },
      schema: {
        tags: roleTags,
        operationId: 'deleteRole',
        summary: 'Delete a role no member holds (409 `role_in_use` otherwise)',
        params: IdParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await deleteRole(services, req.tenant, auditSourceOf(req), req.params.id);
      return reply.code(204).send(null);
    },
  );

  const teamTags = ['teams'];
  app.get(
    '/teams',
    {
      config: { access: 'members:manage' },
      schema: {
        tags: teamTags,
        operationId: 'listTeams',
        summary: 'The organization’s teams by name, with their members',
        response: { 200: z.object({ data: z.array(TeamView) }), ...errors },
      },
    },
    async (req) => ({ data: await listTeams(services, req.tenant) }),
  );
  app.post(
    '/teams',
    {
      config: { access: 'members:manage' },
      schema: {
        tags: teamTags,
        operationId: 'createTeam',
        summary: 'Create a team (409 `team_exists` for a name taken)',
        body: TeamWrite,
        response: { 201: TeamView, ...errors },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await createTeam(services, req.tenant, auditSourceOf(req), req.body)),
  );
  app.get(
    '/teams/:id',
    {
      config: { access: 'members:manage' },
      schema: {
        tags: teamTags,
        operationId: 'getTeam',
        summary: 'One team with its members',
        params: IdParams,
        response: { 200: TeamView, ...errors },
      },
    },
    async (req) => getTeam(services, req.tenant, req.params.id),
  );
  app.patch(
    '/teams/:id',
    {
      config: { access: 'members:manage' },
      schema: {
        tags: teamTags,
        operationId: 'updateTeam',
        summary: 'Rename or describe a team',
        params: IdParams,
        body: TeamWrite.partial(),
        response: { 200: TeamView, ...errors },
      },
    },
    async (req) => updateTeam(services, req.tenant, auditSourceOf(req), req.params.id, req.body),
  );
  app.delete(
    '/teams/:id',
    {
      config: { access: 'members:manage' },
      schema: {
        tags: teamTags,
        operationId: 'deleteTeam',
        summary: 'Delete a team (its members stay in the organization)',
        params: IdParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await deleteTeam(services, req.tenant, auditSourceOf(req), req.params.id);
      return reply.code(204).send(null);
    },
  );
  const MemberParams = z.strictObject({ id: z.uuid(), userId: z.uuid() });
  app.put(
    '/teams/:id/members/:userId',
    {
      config: { access: 'members:manage' },
      schema: {
        tags: teamTags,
        operationId: 'addTeamMember',
        summary: 'Put a member in a team (one already in: nothing changes)',
        params: MemberParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await setTeamMember(services, req.tenant, auditSourceOf(req), req.params.id, req.params.userId, true);
      return reply.code(204).send(null);
    },
  );
  app.delete(
    '/teams/:id/members/:userId',
    {
      config: { access: 'members:manage' },
      schema: {
        tags: teamTags,
        operationId: 'removeTeamMember',
        summary: 'Take a member out of a team',
        params: MemberParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await setTeamMember(services, req.tenant, auditSourceOf(req), req.params.id, req.params.userId, false);
      return reply.code(204).send(null);
    },
  );
}
