import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ROLES } from '../../platform/access/permissions.js';
import { auditRequest } from '../../platform/audit/audit.js';
import { USER_NAME_MAX_LENGTH } from '../../platform/auth/auth.js';
import { sendWebResponse, toWebRequest } from '../../platform/auth/auth.routes.js';
import { passwordProblem } from '../../platform/auth/password-policy.js';
import { AppError, badRequest, unauthenticated } from '../../platform/errors/app-error.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { isOperator } from '../../platform/plans/operators.js';
import { customRoleSummary, MyCustomRole } from '../access/role.service.js';
import { sendVerification } from '../security/email-verification.routes.js';
import * as orgs from './organization.service.js';

const Role = z
  .enum(ROLES)
  .describe('admin: members, settings and all data; user: creates and edits records; viewer: reads');
const Email = z
  .email()
  .max(254)
  .meta({ examples: ['ada@example.com'] });
const Password = z
  .string()
  .min(8)
  .max(128)
  .describe('8+ characters with lower- and upper-case letters and a digit or symbol');
const PersonName = z.string().trim().min(1).max(USER_NAME_MAX_LENGTH);
const OrgName = z.string().trim().min(1).max(120);
const Uuid = z.uuid();

const Organization = z
  .object({ id: z.uuid(), name: z.string(), role: Role })
  .meta({ id: 'OrganizationMembership' });
const Me = z
  .object({
    user: z.object({ id: z.uuid(), email: z.string(), name: z.string() }),
    organization: z.object({ id: z.uuid(), name: z.string() }).nullable(),
    role: Role.nullable(),
    custom_role: MyCustomRole.nullable().describe(
      'The organization’s own role the member holds (its name and rights), which narrows `role`; null for a built-in role',
    ),
    organizations: z.array(Organization),
    operator: z
      .boolean()
      .describe(
        'Whether the user is an operator of the install (`cairn operator grant`): then the Operator page and `/api/v1/operator/*` answer them; those routes answer 404 to everyone else',
      ),
  })
  .meta({ id: 'Me' });
/** A role a member may hold: a built-in one, or the key of one of the organization's own (issue 22). */
const MemberRole = z
  .string()
  .regex(/^[a-z][a-z0-9_]{1,39}$/)
  .describe('admin, user, viewer, or the key of one of the organization’s own roles (`GET /roles`)');
const Member = z
  .object({ user_id: z.uuid(), name: z.string(), email: z.string(), role: MemberRole, joined_at: z.string() })
  .meta({ id: 'Member' });
const Invitation = z
  .object({
    id: z.uuid(),
    email: z.string(),
    role: Role,
    status: z.string(),
    expires_at: z.string(),
    created_at: z.string(),
    link: z.string().describe('The link to send to the invitee'),
  })
  .meta({ id: 'Invitation' });
const SignUpAccepted = z.object({ message: z.string() }).meta({ id: 'SignUpAccepted' });
/** Sign-up's one answer, for a new address and a taken one alike. */
export const SIGNED_UP_MESSAGE =
  'Check your e-mail: a message is on its way to this address. If it is a new account, sign in now with your password.';
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 429: Problem };

/**
 * Sign-up (user + organization + first admin), the caller's identity, switching the active
 * organization, members and roles, and invitations by link.
 */
export function registerOrganizationRoutes(app: ApiApp, services: Services): void {
  app.post(
    '/signup',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'signUp',
        tags: ['auth'],
        summary:
          'Sign up: creates a user, an organization, and makes the user its admin. The answer is the same ' +
          'whether the address is new or already has an account (the difference goes by e-mail: a ' +
          'verification link, or a notice that someone tried); it signs no one in: sign in next',
        body: z.strictObject({
          organization_name: OrgName,
          name: PersonName,
          email: Email,
          password: Password,
        }),
        response: { 202: SignUpAccepted, ...errors, 422: Problem },
      },
    },
    async (req, reply) => {
      const { organization_name, name, email, password } = req.body;
      const weak = passwordProblem(password);
      if (weak) throw badRequest(weak, 'body.password', 'weak_password');
      const user = await throughAuth(services, req, reply, '/sign-up/email', { name, email, password });
      if (!user) return reply; // better-auth refused (e.g. rate limit): already sent
      // A taken address gets better-auth's synthetic user (no row) and an e-mail saying someone tried.
      if (await orgs.userExists(services, user.id)) {
        await orgs.createOrganization(services, user.id, organization_name);
        // The address is confirmed by the link this sends (kept in the new organization's outbox without SMTP).
        await sendVerification(services, email);
      }
      return reply.code(202).send({ message: SIGNED_UP_MESSAGE });
    },
  );

  app.get(
    '/me',
    {
      config: { access: 'authenticated', beforeTwoFactorSetup: true },
      schema: {
        operationId: 'getMe',
        tags: ['auth'],
        summary: 'The signed-in user, their active organization and role',
        response: { 200: Me, ...errors },
      },
    },
    async (req) => {
      const p = req.principal!;
      return {
        user: { id: p.userId, email: p.email, name: p.name },
        organization: p.orgId
          ? { id: p.orgId, name: (await orgs.organizationName(services, p.orgId)) ?? '' }
          : null,
        role: p.role,
        custom_role:
          p.orgId && p.customRole
            ? await customRoleSummary(
                services,
                { orgId: p.orgId, actor: { type: 'user', id: p.userId } },
                p.customRole,
              )
            : null,
        organizations: await orgs.listUserOrganizations(services, p.userId),
        operator: p.type === 'user' && (await isOperator(services.database, p.userId)),
      };
    },
  );

  app.put(
    '/me/active-organization',
    {
      config: { access: 'authenticated', beforeTwoFactorSetup: true },
      schema: {
        operationId: 'switchActiveOrganization',
        tags: ['auth'],
        summary: "Switch the session's active organization (one at a time)",
        body: z.strictObject({ organization_id: Uuid }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      const p = req.principal!;
      await orgs.switchOrganization(services, p.userId, p.sessionId, req.body.organization_id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/organizations',
    {
      config: { access: 'authenticated' },
      schema: {
        operationId: 'createOrganization',
        tags: ['organizations'],
        summary: 'Create another organization with the caller as its admin, and switch to it',
        body: z.strictObject({ name: OrgName }),
        response: { 201: Organization, ...errors },
      },
    },
    async (req, reply) => {
      const p = req.principal!;
      const org = await orgs.createOrganization(services, p.userId, req.body.name);
      await orgs.switchOrganization(services, p.userId, p.sessionId, org.id);
      return reply.code(201).send({ id: org.id, name: org.name, role: 'admin' as const });
    },
  );

  app.get(
    '/members',
    {
      config: { access: 'members:read' },
      schema: {
        operationId: 'listMembers',
        tags: ['members'],
        summary: 'Members of the active organization',
        response: { 200: z.object({ data: z.array(Member) }), ...errors },
      },
    },
    async (req) => ({
      data: await orgs.listMembers(services, req.tenant),
    }),
  );

  app.patch(
    '/members/:userId',
    {
      config: { access: 'members:manage' },
      schema: {
        operationId: 'updateMemberRole',
        tags: ['members'],
        summary: "Change a member's role (409 `last_admin` when it would leave no admin)",
        params: z.strictObject({ userId: Uuid }),
        body: z.strictObject({ role: MemberRole }),
        response: { 204: z.null(), ...errors, 422: Problem },
      },
    },
    async (req, reply) => {
      await orgs.changeMemberRole(services, req.tenant, req.params.userId, req.body.role);
      await auditRequest(services.database, req, {
        action: 'member.role_changed',
        target: { type: 'user', id: req.params.userId },
        details: { role: req.body.role },
      });
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/members/:userId',
    {
      config: { access: 'members:manage' },
      schema: {
        operationId: 'removeMember',
        tags: ['members'],
        summary: 'Remove a member from the organization (their sessions lose access at once)',
        params: z.strictObject({ userId: Uuid }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await orgs.removeMember(services, req.tenant, req.params.userId);
      await auditRequest(services.database, req, {
        action: 'member.removed',
        target: { type: 'user', id: req.params.userId },
      });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/invitations',
    {
      config: { access: 'members:manage' },
      schema: {
        operationId: 'listInvitations',
        tags: ['members'],
        summary: 'Pending invitations',
        response: { 200: z.object({ data: z.array(Invitation) }), ...errors },
      },
    },
    async (req) => ({
      data: await orgs.listInvitations(services, req.tenant),
    }),
  );

  app.post(
    '/invitations',
    {
      config: { access: 'members:manage' },
      schema: {
        operationId: 'createInvitation',
        tags: ['members'],
        summary: 'Invite someone by e-mail with a role; returns the link to send them (valid 7 days)',
        body: z.strictObject({ email: Email, role: Role }),
        response: { 201: Invitation, ...errors },
      },
    },
    async (req, reply) => {
      const invitation = await orgs.createInvitation(services, req.tenant, req.body);
      req.log.info({ invitation_id: invitation.id }, 'invitation created');
      void services.mailer.send({
        kind: 'invitation',
        orgId: req.tenant.orgId,
        to: invitation.email,
        subject: 'You are invited to Cairn',
        text: `You are invited to join an organization on Cairn as ${invitation.role}.\n\nAccept here (valid 7 days):\n${invitation.link}\n`,
      });
      await auditRequest(services.database, req, {
        action: 'member.invited',
        target: { type: 'invitation', id: invitation.id },
        details: { email: invitation.email, role: invitation.role },
      });
      return reply.code(201).send(invitation);
    },
  );

  app.delete(
    '/invitations/:id',
    {
      config: { access: 'members:manage' },
      schema: {
        operationId: 'cancelInvitation',
        tags: ['members'],
        summary: 'Cancel a pending invitation',
        params: z.strictObject({ id: Uuid }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await orgs.cancelInvitation(services, req.tenant, req.params.id);
      await auditRequest(services.database, req, {
        action: 'invitation.canceled',
        target: { type: 'invitation', id: req.params.id },
      });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/invitations/:id/preview',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'previewInvitation',
        tags: ['members'],
        summary:
          'What an invitation link offers (organization, e-mail, role); the id is the secret. It does not say whether the address has an account',
        params: z.strictObject({ id: Uuid }),
        response: {
          200: z.object({
            organization_name: z.string(),
            email: z.string(),
            role: Role,
            expires_at: z.string(),
          }),
          ...errors,
        },
      },
    },
    async (req) => orgs.previewInvitation(services, req.params.id),
  );

  app.post(
    '/invitations/:id/accept',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'acceptInvitation',
        tags: ['members'],
        summary:
          'Accept an invitation: signed in as its recipient, with an empty body; or as a new user with ' +
          'name and password (creates the account for the invited e-mail and signs in)',
        params: z.strictObject({ id: Uuid }),
        body: z.strictObject({ name: PersonName.optional(), password: Password.optional() }).optional(),
        response: { 200: z.object({ organization_id: z.uuid(), role: Role }), ...errors, 422: Problem },
      },
    },
    async (req, reply) => {
      const principal = req.headers.cookie ? await resolveOptional(services, req, reply) : null;
      if (principal) {
        return orgs.acceptInvitation(
          services,
          { id: principal.userId, email: principal.email },
          principal.sessionId,
          req.params.id,
        );
      }
      const { name, password } = req.body ?? {};
      if (!name || !password) {
        throw new AppError(
          401,
          'unauthenticated',
          'Sign in as the invited user, or send name and password to create the account',
          {
            path: name ? 'body.password' : 'body.name',
          },
        );
      }
      const preview = await orgs.previewInvitation(services, req.params.id);
      // Told only to whoever holds the link (which went to the address), after they chose to
      // create an account: the preview says nothing of it.
      if (await orgs.hasVerifiedAccount(services, preview.email))
        throw new AppError(409, 'account_exists', 'An account with this e-mail exists: sign in to accept');
      const weak = passwordProblem(password);
      if (weak) throw badRequest(weak, 'body.password', 'weak_password');
      const claimed = await orgs.claimUnverifiedAccount(services, preview.email, { name, password });
      const account = { name, email: preview.email, password };
      // Sign-up signs no one in (issue 22): the new account then signs in like any other.
      if (!claimed && !(await throughAuth(services, req, reply, '/sign-up/email', account))) return reply;
      const user = await throughAuth(services, req, reply, '/sign-in/email', account);
      if (!user) return reply;
      // The invitation link went to this address: it is verified now.
      await orgs.markVerified(services, user.id);
      return orgs.acceptInvitation(services, user, null, req.params.id);
    },
  );
}

async function resolveOptional(services: Services, req: FastifyRequest, reply: FastifyReply) {
  const { principalResolver } = await import('../../platform/auth/auth.routes.js');
  return principalResolver(services.auth, services.database, services.config)(req, reply);
}

/**
 * Signs a user up (or in) through better-auth's own HTTP handler, so its rate limit, Origin check
 * and hooks apply exactly as for `/api/auth/sign-up/email`. On success the session cookie is set
 * on `reply` and the user returned; on refusal the problem is sent and null returned.
 */
async function throughAuth(
  services: Services,
  req: FastifyRequest,
  reply: FastifyReply,
  path: '/sign-up/email' | '/sign-in/email',
  body: { name: string; email: string; password: string },
): Promise<{ id: string; email: string; name: string } | null> {
  const web = toWebRequest(req, services.config.baseUrl);
  const headers = new Headers(web.headers);
  headers.set('content-type', 'application/json');
  headers.delete('content-length');
  headers.delete('cookie');
  const res = await services.auth.handler(
    new Request(new URL(`/api/auth${path}`, services.config.baseUrl), {
      method: 'POST',
      headers,
      body: JSON.stringify(path === '/sign-in/email' ? { email: body.email, password: body.password } : body),
    }),
  );
  if (!res.ok) {
    await sendWebResponse(req, reply, res);
    return null;
  }
  const cookies = res.headers.getSetCookie();
  if (cookies.length > 0) reply.header('set-cookie', cookies);
  const json = (await res.json()) as { user?: { id: string; email: string; name: string } };
  if (!json.user) throw unauthenticated('Sign-up did not return a user');
  return { id: json.user.id, email: json.user.email, name: json.user.name };
}
