import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { teamMembers, teams } from '../../platform/access/access.schema.js';
import { type AuditSource, appendAudit } from '../../platform/audit/audit.js';
import { members, users } from '../../platform/auth/auth.schema.js';
import { conflict, notFound } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';

/**
 * Teams (issue 22): members belong to teams (several, if need be); a role whose record scope is
 * `team` reaches the records owned by its holder's teammates.
 */

export const TeamWrite = z.strictObject({
  name: z.string().trim().min(1).max(80),
  description: z.string().trim().max(500).nullable().optional(),
});
export type TeamWriteInput = z.infer<typeof TeamWrite>;

export const TeamView = z
  .object({
    id: z.uuid(),
    name: z.string(),
    description: z.string().nullable(),
    members: z.array(z.object({ user_id: z.uuid(), name: z.string(), email: z.string() })),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Team' });
export type TeamViewOut = z.infer<typeof TeamView>;

type Row = typeof teams.$inferSelect;

type Link = { teamId: string; userId: string };

/** The teams' members, in the caller's transaction (named afterwards: `viewsOf`). */
async function linksOf(scope: TenantScope, rows: Row[]): Promise<{ rows: Row[]; links: Link[] }> {
  if (rows.length === 0) return { rows, links: [] };
  const links = await scope.tx
    .select({ teamId: teamMembers.teamId, userId: teamMembers.userId })
    .from(teamMembers)
    .where(
      and(
        eq(teamMembers.orgId, scope.ctx.orgId),
        inArray(
          teamMembers.teamId,
          rows.map((r) => r.id),
        ),
      ),
    )
    .orderBy(asc(teamMembers.createdAt));
  return { rows, links };
}

/**
 * The teams' views, their members named. Users are global: read on the owner connection, after
 * the tenant transaction (the embedded database has one connection, held by a transaction).
 */
async function viewsOf(
  services: Services,
  { rows, links }: { rows: Row[]; links: Link[] },
): Promise<TeamViewOut[]> {
  const ids = [...new Set(links.map((l) => l.userId))];
  const people = ids.length
    ? await services.database.db
        .select({ id: users.id, name: users.name, email: users.email })
        .from(users)
        .where(inArray(users.id, ids))
    : [];
  const byId = new Map(people.map((p) => [p.id, p]));
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    description: row.description,
    members: links
      .filter((l) => l.teamId === row.id)
      .map((l) => ({
        user_id: l.userId,
        name: byId.get(l.userId)?.name ?? '',
        email: byId.get(l.userId)?.email ?? '',
      })),
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  }));
}

async function loadTeam(scope: TenantScope, id: string, lock = false): Promise<Row> {
  const query = scope.tx
    .select()
    .from(teams)
    .where(and(eq(teams.orgId, scope.ctx.orgId), eq(teams.id, id)));
  const [row] = lock ? await query.for('update') : await query;
  if (!row) throw notFound('Team', id);
  return row;
}

async function assertNameFree(scope: TenantScope, name: string, except?: string) {
  const [taken] = await scope.tx
    .select({ id: teams.id })
    .from(teams)
    .where(and(eq(teams.orgId, scope.ctx.orgId), sql`lower(${teams.name}) = lower(${name})`));
  if (taken && taken.id !== except)
    throw conflict(`A team named "${name}" exists`, 'body.name', 'team_exists');
}

/** The organization's teams by name, with their members. */
export async function listTeams(services: Services, ctx: TenantContext): Promise<TeamViewOut[]> {
  const found = await withTenant(
    services.database,
    ctx,
    async (scope) =>
      linksOf(
        scope,
        await scope.tx.select().from(teams).where(eq(teams.orgId, ctx.orgId)).orderBy(asc(teams.name)),
      ),
    { readOnly: true },
  );
  return viewsOf(services, found);
}

/** One team. @throws 404 */
export async function getTeam(services: Services, ctx: TenantContext, id: string): Promise<TeamViewOut> {
  const found = await withTenant(
    services.database,
    ctx,
    async (scope) => linksOf(scope, [await loadTeam(scope, id)]),
    {
      readOnly: true,
    },
  );
  return (await viewsOf(services, found))[0]!;
}

/** Creates a team. @throws 409 `team_exists` for a name taken (any case) */
export async function createTeam(
  services: Services,
  ctx: TenantContext,
  source: AuditSource,
  input: TeamWriteInput,
): Promise<TeamViewOut> {
  const found = await withTenant(services.database, ctx, async (scope) => {
    await assertNameFree(scope, input.name);
    const [row] = await scope.tx
      .insert(teams)
      .values({ orgId: ctx.orgId, name: input.name, description: input.description ?? null })
      .returning();
    await emitEvent(scope, services.jobs, {
      type: 'team.created',
      subject: { object: 'team', id: row!.id },
      data: { name: row!.name },
    });
    await appendAudit(scope, source, {
      action: 'team.created',
      target: { type: 'team', id: row!.id },
      details: { name: row!.name },
    });
    return linksOf(scope, [row!]);
  });
  return (await viewsOf(services, found))[0]!;
}

/** Renames or describes a team. @throws 404, 409 `team_exists` */
export async function updateTeam(
  services: Services,
  ctx: TenantContext,
  source: AuditSource,
  id: string,
  input: Partial<TeamWriteInput>,
): Promise<TeamViewOut> {
  const found = await withTenant(services.database, ctx, async (scope) => {
    const current = await loadTeam(scope, id, true);
    if (input.name !== undefined) await assertNameFree(scope, input.name, id);
    const [row] = await scope.tx
      .update(teams)
      .set({
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        updatedAt: sql`now()`,
      })
      .where(and(eq(teams.orgId, ctx.orgId), eq(teams.id, id)))
      .returning();
    await emitEvent(scope, services.jobs, {
      type: 'team.updated',
      subject: { object: 'team', id },
      data: { name: row!.name },
    });
    await appendAudit(scope, source, {
      action: 'team.updated',
      target: { type: 'team', id },
      details: { before: { name: current.name }, after: { name: row!.name } },
    });
    return linksOf(scope, [row!]);
  });
  return (await viewsOf(services, found))[0]!;
}

/** Deletes a team (its members stay members of the organization). @throws 404 */
export async function deleteTeam(services: Services, ctx: TenantContext, source: AuditSource, id: string) {
  await withTenant(services.database, ctx, async (scope) => {
    const row = await loadTeam(scope, id, true);
    await scope.tx.delete(teams).where(and(eq(teams.orgId, ctx.orgId), eq(teams.id, id)));
    await emitEvent(scope, services.jobs, {
      type: 'team.deleted',
      subject: { object: 'team', id },
      data: { name: row.name },
    });
    await appendAudit(scope, source, {
      action: 'team.deleted',
      target: { type: 'team', id },
      details: { name: row.name },
    });
  });
}

/**
 * Adds a member to a team (one already in: nothing changes), or takes one out. @throws 404 for a team not of this organization, a user who is not a member (adding) or not in
 * the team (taking out)
 */
export async function setTeamMember(
  services: Services,
  ctx: TenantContext,
  source: AuditSource,
  teamId: string,
  userId: string,
  member: boolean,
): Promise<void> {
  await withTenant(services.database, ctx, async (scope) => {
    const team = await loadTeam(scope, teamId, true);
    const where = and(
      eq(teamMembers.orgId, ctx.orgId),
      eq(teamMembers.teamId, teamId),
      eq(teamMembers.userId, userId),
    );
    const [current] = await scope.tx.select({ userId: teamMembers.userId }).from(teamMembers).where(where);
    if (!member && !current) throw notFound('Team member', userId);
    if (current && member) return;
    if (member) {
      const [isMember] = await scope.tx
        .select({ userId: members.userId })
        .from(members)
        .where(and(eq(members.organizationId, ctx.orgId), eq(members.userId, userId)));
      if (!isMember) throw notFound('Member', userId);
      await scope.tx.insert(teamMembers).values({ orgId: ctx.orgId, teamId, userId });
    } else await scope.tx.delete(teamMembers).where(where);
    const action = member ? 'team.member_added' : 'team.member_removed';
    await emitEvent(scope, services.jobs, {
      type: action,
      subject: { object: 'team', id: teamId },
      data: { name: team.name, user_id: userId },
    });
    await appendAudit(scope, source, {
      action,
      target: { type: 'team', id: teamId },
      details: { name: team.name, user_id: userId },
    });
  });
}

/** Takes a member out of every team of the organization (they left it), in the caller's transaction. */
export async function leaveTeams(scope: TenantScope, userId: string): Promise<void> {
  await scope.tx
    .delete(teamMembers)
    .where(and(eq(teamMembers.orgId, scope.ctx.orgId), eq(teamMembers.userId, userId)));
}
