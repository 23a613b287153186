import { eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import { z } from 'zod';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { type AuditSource, appendAudit } from '../../platform/audit/audit.js';
import { organizations } from '../../platform/auth/auth.schema.js';
import { purgeOrganization } from '../../platform/backup/organization-archive.js';
import { badRequest, notFound } from '../../platform/errors/app-error.js';
import { fileStoreOf } from '../../platform/files/file-store.js';
import type { Services } from '../../platform/http/types.js';

/**
 * Deleting an organization (issue 26): an admin asks for it, retyping the organization's name;
 * it is deleted with every row and file (`purgeOrganization`) once `ORG_DELETION_GRACE_DAYS`
 * have passed, by a job queued then; until that moment any admin may cancel it. Both steps are
 * in the audit log (which goes with the organization).
 */
export const ORGANIZATION_DELETION_QUEUE = 'organization-deletion';
type DeletionJob = { org_id: string };

export const OrganizationDeletion = z
  .object({
    deletion_scheduled_for: z.iso
      .datetime()
      .nullable()
      .describe('When the organization and all its data will be deleted (ISO 8601); null: not scheduled'),
  })
  .meta({ id: 'OrganizationDeletion' });
type DeletionView = z.infer<typeof OrganizationDeletion>;

export const OrganizationDeletionRequest = z
  .strictObject({
    confirm: z.string().max(200).describe("The organization's name, retyped exactly"),
  })
  .meta({ id: 'OrganizationDeletionRequest' });

const viewOf = (at: Date | null): DeletionView => ({ deletion_scheduled_for: at ? at.toISOString() : null });

async function organizationOf(services: Services, orgId: string) {
  const [row] = await services.database.db
    .select({ name: organizations.name, at: organizations.deletionScheduledFor })
    .from(organizations)
    .where(eq(organizations.id, orgId));
  if (!row) throw notFound('Organization', orgId);
  return row;
}

/** Whether and when the caller's organization is to be deleted. */
export async function getOrganizationDeletion(services: Services, ctx: TenantContext): Promise<DeletionView> {
  return viewOf((await organizationOf(services, ctx.orgId)).at);
}

/**
 * Schedules the caller's organization's deletion `ORG_DELETION_GRACE_DAYS` from now (asking again
 * keeps the first date) and queues the job that carries it out.
 * @throws 400 `confirmation_mismatch` at `body.confirm` when it is not the organization's name
 */
export async function scheduleOrganizationDeletion(
  services: Services,
  ctx: TenantContext,
  confirm: string,
  source: AuditSource,
): Promise<DeletionView> {
  const org = await organizationOf(services, ctx.orgId);
  if (confirm !== org.name)
    throw badRequest(
      `Type the organization's name, ${org.name}, to confirm`,
      'body.confirm',
      'confirmation_mismatch',
    );
  if (org.at) return viewOf(org.at);
  const at = new Date(Date.now() + services.config.organizationDeletionGraceDays * 86_400_000);
  await services.database.db
    .update(organizations)
    .set({ deletionScheduledFor: at })
    .where(eq(organizations.id, ctx.orgId));
  await withTenant(services.database, ctx, async (scope) => {
    await appendAudit(scope, source, {
      action: 'organization.deletion_scheduled',
      target: { type: 'organization', id: ctx.orgId },
      details: { deletion_scheduled_for: at.toISOString() },
    });
    await services.jobs.send<DeletionJob>(
      scope.conn,
      ORGANIZATION_DELETION_QUEUE,
      { org_id: ctx.orgId },
      { startAfter: at },
    );
  });
  return viewOf(at);
}

/** Cancels a scheduled deletion (the queued job then finds nothing to do). */
export async function cancelOrganizationDeletion(
  services: Services,
  ctx: TenantContext,
  source: AuditSource,
): Promise<DeletionView> {
  const org = await organizationOf(services, ctx.orgId);
  if (!org.at) return viewOf(null);
  await services.database.db
    .update(organizations)
    .set({ deletionScheduledFor: null })
    .where(eq(organizations.id, ctx.orgId));
  await withTenant(services.database, ctx, (scope) =>
    appendAudit(scope, source, {
      action: 'organization.deletion_canceled',
      target: { type: 'organization', id: ctx.orgId },
      details: { was_scheduled_for: org.at!.toISOString() },
    }),
  );
  return viewOf(null);
}

/**
 * Defines the deletion job: it deletes the organization when its deletion is still scheduled and
 * due (canceled: nothing; rescheduled later: a later job does it). A purge cut short by a crash
 * is retried and takes up where it stopped.
 */
export function defineOrganizationDeletionJobs(services: Services, logger: Logger): void {
  services.jobs.define<DeletionJob>(
    { name: ORGANIZATION_DELETION_QUEUE, retryLimit: 5, expireInSeconds: 6 * 3600, heartbeatSeconds: 60 },
    async ({ data }) => {
      const [row] = await services.database.db
        .select({ at: organizations.deletionScheduledFor })
        .from(organizations)
        .where(eq(organizations.id, data.org_id));
      if (!row?.at || row.at.getTime() > Date.now() + 1000) return;
      const report = await purgeOrganization(
        services.database,
        data.org_id,
        fileStoreOf(services.config),
        services.jobs,
      );
      logger.info({ org_id: data.org_id, ...report }, 'organization deleted');
    },
  );
}
