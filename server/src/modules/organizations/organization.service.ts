import { randomBytes } from 'node:crypto';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { isRole, type Role } from '../../platform/access/permissions.js';
import { invitationLink } from '../../platform/auth/auth.js';
import { invitations, members, organizations, sessions, users } from '../../platform/auth/auth.schema.js';
import { AppError, conflict, notFound } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { assertRoom } from '../../platform/plans/plan-limits.js';
import { assertRoleExists } from '../access/role.service.js';
import { leaveTeams } from '../access/team.service.js';
import { ensureDefaultPipeline } from '../pipelines/pipeline.service.js';

/** A member and the role they hold: a built-in one or a key of the organization's own (issue 22). */
export type MemberView = { user_id: string; name: string; email: string; role: string; joined_at: string };
export type InvitationView = {
  id: string;
  email: string;
  role: Role;
  status: string;
  expires_at: string;
  created_at: string;
  link: string;
};

const INVITATION_DAYS = 7;

/** A URL-safe, unique slug for an organization name. */
function slugFor(name: string): string {
  const base = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40);
  return `${base || 'org'}-${randomBytes(3).toString('hex')}`;
}

/**
 * Creates an organization with `userId` as its first admin, makes it the active organization of
 * the user's sessions that have none, and records `organization.created`.
 */
export async function createOrganization(services: Services, userId: string, name: string) {
  const org = await services.auth.api.createOrganization({ body: { name, slug: slugFor(name), userId } });
  if (!org) throw new Error('createOrganization returned nothing');
  await services.database.db
    .update(sessions)
    .set({ activeOrganizationId: org.id })
    .where(and(eq(sessions.userId, userId), sql`${sessions.activeOrganizationId} is null`));
  await withTenant(
    services.database,
    { orgId: org.id, actor: { type: 'user', id: userId } },
    async (scope) => {
      await emitEvent(scope, services.jobs, {
        type: 'organization.created',
        subject: { object: 'organization', id: org.id },
        data: { name },
      });
      // Every new tenant starts with a pipeline, so opportunities can be created at once (and,
      // from this event, with the reports module's "Sales overview" dashboard).
      await ensureDefaultPipeline(scope, services);
    },
  );
  return { id: org.id, name: org.name, slug: org.slug };
}

/** The organizations a user belongs to, with their role in each. */
export async function listUserOrganizations(services: Services, userId: string) {
  const rows = await services.database.db
    .select({ id: organizations.id, name: organizations.name, role: members.role })
    .from(members)
    .innerJoin(organizations, eq(organizations.id, members.organizationId))
    .where(eq(members.userId, userId))
    .orderBy(asc(members.createdAt));
  // A custom role (issue 22) acts with a user's coarse permissions, narrowed by its own rights.
  return rows.map((r) => ({ ...r, role: isRole(r.role) ? r.role : ('user' as Role) }));
}

export async function organizationName(services: Services, orgId: string): Promise<string | null> {
  const [row] = await services.database.db
    .select({ name: organizations.name })
    .from(organizations)
    .where(eq(organizations.id, orgId));
  return row?.name ?? null;
}

/** Makes `orgId` the session's active organization. @throws 404 when the user is not a member */
export async function switchOrganization(
  services: Services,
  userId: string,
  sessionId: string,
  orgId: string,
) {
  const mine = await listUserOrganizations(services, userId);
  if (!mine.some((o) => o.id === orgId)) throw notFound('Organization', orgId);
  await services.database.db
    .update(sessions)
    .set({ activeOrganizationId: orgId })
    .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId)));
}

export async function listMembers(services: Services, ctx: TenantContext): Promise<MemberView[]> {
  const rows = await withTenant(services.database, ctx, ({ tx }) =>
    tx
      .select({ userId: members.userId, role: members.role, createdAt: members.createdAt })
      .from(members)
      .where(eq(members.organizationId, ctx.orgId))
      .orderBy(asc(members.createdAt)),
  );
  const people = await userNames(
    services,
    rows.map((r) => r.userId),
  );
  return rows.map((r) => ({
    user_id: r.userId,
    name: people.get(r.userId)?.name ?? '',
    email: people.get(r.userId)?.email ?? '',
    role: r.role,
    joined_at: r.createdAt.toISOString(),
  }));
}

// Users are global identities; the app role cannot read them, so names come from the owner
// connection, by the ids the tenant transaction returned.
async function userNames(services: Services, ids: string[]) {
  if (ids.length === 0) return new Map<string, { name: string; email: string }>();
  const rows = await services.database.db
    .select({ id: users.id, name: users.name, email: users.email })
    .from(users)
    .where(inArray(users.id, ids));
  return new Map(rows.map((r) => [r.id, { name: r.name, email: r.email }]));
}

/**
 * Changes a member's role. @throws 404 for a user who is not a member of this organization,
 * 409 `last_admin` when it would leave the organization without an admin
 */
export async function changeMemberRole(services: Services, ctx: TenantContext, userId: string, role: string) {
  await withTenant(services.database, ctx, async (scope) => {
    await assertRoleExists(scope, role, 'body.role');
    const [member] = await scope.tx
      .select({ role: members.role })
      .from(members)
      .where(and(eq(members.organizationId, ctx.orgId), eq(members.userId, userId)))
      .for('update');
    if (!member) throw notFound('Member', userId);
    if (member.role === role) return;
    if (member.role === 'admin') await assertAnotherAdmin(scope.tx, ctx.orgId, userId);
    await scope.tx
      .update(members)
      .set({ role })
      .where(and(eq(members.organizationId, ctx.orgId), eq(members.userId, userId)));
    await emitEvent(scope, services.jobs, {
      type: 'member.role_changed',
      subject: { object: 'member', id: userId },
      data: { changes: { role: { before: member.role, after: role } } },
    });
  });
}

/** Removes a member; their sessions lose access at their next request. @throws 404, 409 `last_admin` */
export async function removeMember(services: Services, ctx: TenantContext, userId: string) {
  await withTenant(services.database, ctx, async (scope) => {
    const [member] = await scope.tx
      .select({ role: members.role })
      .from(members)
      .where(and(eq(members.organizationId, ctx.orgId), eq(members.userId, userId)))
      .for('update');
    if (!member) throw notFound('Member', userId);
    if (member.role === 'admin') await assertAnotherAdmin(scope.tx, ctx.orgId, userId);
    await scope.tx
      .delete(members)
      .where(and(eq(members.organizationId, ctx.orgId), eq(members.userId, userId)));
    await leaveTeams(scope, userId);
    await emitEvent(scope, services.jobs, {
      type: 'member.removed',
      subject: { object: 'member', id: userId },
      data: { role: member.role },
    });
  });
  await services.database.db
    .update(sessions)
    .set({ activeOrganizationId: null })
    .where(and(eq(sessions.userId, userId), eq(sessions.activeOrganizationId, ctx.orgId)));
}

async function assertAnotherAdmin(tx: Tx, orgId: string, userId: string) {
  const admins = await tx
    .select({ userId: members.userId })
    .from(members)
    .where(and(eq(members.organizationId, orgId), eq(members.role, 'admin')))
    .for('update');
  if (!admins.some((a) => a.userId !== userId)) {
    throw new AppError(
      409,
      'last_admin',
      'An organization needs at least one admin; make someone else admin first',
    );
  }
}

export async function listInvitations(services: Services, ctx: TenantContext): Promise<InvitationView[]> {
  const rows = await withTenant(services.database, ctx, ({ tx }) =>
    tx
      .select()
      .from(invitations)
      .where(and(eq(invitations.organizationId, ctx.orgId), eq(invitations.status, 'pending')))
      .orderBy(asc(invitations.createdAt)),
  );
  return rows.map((r) => invitationView(services, r));
}

function invitationView(services: Services, r: typeof invitations.$inferSelect): InvitationView {
  return {
    id: r.id,
    email: r.email,
    role: isRole(r.role) ? r.role : 'viewer',
    status: r.expiresAt.getTime() < Date.now() && r.status === 'pending' ? 'expired' : r.status,
    expires_at: r.expiresAt.toISOString(),
    created_at: r.createdAt.toISOString(),
    link: invitationLink(services.config.baseUrl, r.id),
  };
}

/**
 * Invites `email` to join with `role`; the returned `link` is what the invitee opens. A pending
 * invitation for the same e-mail is replaced. @throws 409 `already_member`
 */
export async function createInvitation(
  services: Services,
  ctx: TenantContext,
  input: { email: string; role: Role },
): Promise<InvitationView> {
  const email = input.email.trim().toLowerCase();
  const [existingUser] = await services.database.db
    .select({ id: users.id })
    .from(users)
    .where(eq(users.email, email));
  const row = await withTenant(services.database, ctx, async (scope) => {
    if (existingUser) {
      const [member] = await scope.tx
        .select({ userId: members.userId })
        .from(members)
        .where(and(eq(members.organizationId, ctx.orgId), eq(members.userId, existingUser.id)));
      if (member) throw conflict(`${email} is already a member`, 'body.email', 'already_member');
    }
    await scope.tx
      .update(invitations)
      .set({ status: 'canceled' })
      .where(
        and(
          eq(invitations.organizationId, ctx.orgId),
          eq(invitations.email, email),
          eq(invitations.status, 'pending'),
        ),
      );
    // A pending invitation is a seat: the plan's member limit counts both (issue 30).
    await assertRoom(scope, 'members');
    const [created] = await scope.tx
      .insert(invitations)
      .values({
        organizationId: ctx.orgId,
        email,
        role: input.role,
        status: 'pending',
        expiresAt: new Date(Date.now() + INVITATION_DAYS * 86_400_000),
        inviterId: ctx.actor.id!,
      })
      .returning();
    await emitEvent(scope, services.jobs, {
      type: 'invitation.created',
      subject: { object: 'invitation', id: created!.id },
      data: { email, role: input.role },
    });
    return created!;
  });
  return invitationView(services, row);
}

/** Cancels a pending invitation. @throws 404 when there is none with that id in this organization */
export async function cancelInvitation(services: Services, ctx: TenantContext, id: string) {
  await withTenant(services.database, ctx, async (scope) => {
    const updated = await scope.tx
      .update(invitations)
      .set({ status: 'canceled' })
      .where(
        and(
          eq(invitations.organizationId, ctx.orgId),
          eq(invitations.id, id),
          eq(invitations.status, 'pending'),
        ),
      )
      .returning({ id: invitations.id });
    if (updated.length === 0) throw notFound('Invitation', id);
    await emitEvent(scope, services.jobs, {
      type: 'invitation.canceled',
      subject: { object: 'invitation', id },
    });
  });
}

/** What the accept page shows before the invitee signs up or signs in. @throws 404 unless pending */
export async function previewInvitation(services: Services, id: string) {
  const [row] = await services.database.db
    .select({
      email: invitations.email,
      role: invitations.role,
      status: invitations.status,
      expiresAt: invitations.expiresAt,
      organizationName: organizations.name,
    })
    .from(invitations)
    .innerJoin(organizations, eq(organizations.id, invitations.organizationId))
    .where(eq(invitations.id, id));
  if (row?.status !== 'pending' || row.expiresAt.getTime() < Date.now()) throw notFound('Invitation', id);
  // Whether the address has an account is not said (issue 22): anyone holding the link would learn it.
  return {
    organization_name: row.organizationName,
    email: row.email,
    role: isRole(row.role) ? row.role : 'viewer',
    expires_at: row.expiresAt.toISOString(),
  };
}

/** Whether a user with this id exists (sign-up's answer for a taken address names a made-up one). */
export async function userExists(services: Services, userId: string): Promise<boolean> {
  const [row] = await services.database.db.select({ id: users.id }).from(users).where(eq(users.id, userId));
  return Boolean(row);
}

/**
 * Whether a verified account holds `email`. Only a verified account is found by an invitation
 * (issue 22): an unverified one is taken over by the invitee (`claimUnverifiedAccount`).
 */
export async function hasVerifiedAccount(services: Services, email: string): Promise<boolean> {
  const [account] = await services.database.db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.email, email), eq(users.emailVerified, true)));
  return Boolean(account);
}

/**
 * Accepts an invitation for a signed-in user whose e-mail it was sent to: adds the membership,
 * marks the invitation accepted, makes the organization the session's active one.
 * @throws 404 unknown/expired/used invitation, 403 `not_recipient`, 409 `already_member`
 */
export async function acceptInvitation(
  services: Services,
  user: { id: string; email: string },
  sessionId: string | null,
  id: string,
) {
  const [invitation] = await services.database.db.select().from(invitations).where(eq(invitations.id, id));
  if (invitation?.status !== 'pending' || invitation.expiresAt.getTime() < Date.now()) {
    throw notFound('Invitation', id);
  }
  if (invitation.email.toLowerCase() !== user.email.toLowerCase()) {
    throw new AppError(403, 'not_recipient', 'This invitation was sent to another e-mail address');
  }
  const [account] = await services.database.db
    .select({ verified: users.emailVerified })
    .from(users)
    .where(eq(users.id, user.id));
  if (!account?.verified) {
    throw new AppError(
      403,
      'email_not_verified',
      'Confirm your e-mail address first (the link we sent), then accept the invitation',
    );
  }
  const role = isRole(invitation.role) ? invitation.role : 'viewer';
  const ctx: TenantContext = { orgId: invitation.organizationId, actor: { type: 'user', id: user.id } };
  await withTenant(services.database, ctx, async (scope) => {
    const taken = await scope.tx
      .update(invitations)
      .set({ status: 'accepted' })
      .where(and(eq(invitations.id, id), eq(invitations.status, 'pending')))
      .returning({ id: invitations.id });
    if (taken.length === 0) throw notFound('Invitation', id);
    const inserted = await scope.tx
      .insert(members)
      .values({ organizationId: ctx.orgId, userId: user.id, role })
      .onConflictDoNothing()
      .returning({ id: members.id });
    if (inserted.length === 0)
      throw conflict('You are already a member of this organization', undefined, 'already_member');
    await emitEvent(scope, services.jobs, {
      type: 'member.joined',
      subject: { object: 'member', id: user.id },
      data: { role, invitation_id: id },
    });
  });
  if (sessionId) await switchOrganization(services, user.id, sessionId, ctx.orgId);
  else {
    // Accepted as a new (or taken-over) user: the session just opened acts in this organization.
    await services.database.db
      .update(sessions)
      .set({ activeOrganizationId: ctx.orgId })
      .where(eq(sessions.userId, user.id));
  }
  return { organization_id: ctx.orgId, role };
}

/**
 * The invitee of a new-user acceptance: an account that holds the invited address without having
 * verified it (someone may have registered the address first, issue 22) is taken over, since the
 * invitation link proves the mailbox: its password and name become the invitee's, its sessions
 * end. Returns whether there was one. Either way the account ends verified (`markVerified`).
 */
export async function claimUnverifiedAccount(
  services: Services,
  email: string,
  input: { name: string; password: string },
): Promise<boolean> {
  const [account] = await services.database.db
    .select({ id: users.id, verified: users.emailVerified })
    .from(users)
    .where(eq(users.email, email));
  if (!account || account.verified) return false;
  const context = await services.auth.$context;
  await context.internalAdapter.updatePassword(account.id, await context.password.hash(input.password));
  await services.database.db
    .update(users)
    .set({ name: input.name, updatedAt: new Date() })
    .where(eq(users.id, account.id));
  await services.database.db.delete(sessions).where(eq(sessions.userId, account.id));
  return true;
}

/** Marks a user's address verified (an invitation link, which went to it, was used). */
export async function markVerified(services: Services, userId: string): Promise<void> {
  await services.database.db.update(users).set({ emailVerified: true }).where(eq(users.id, userId));
}
