import { and, eq } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import { members } from '../auth/auth.schema.js';
import { AppError } from '../errors/app-error.js';

/**
 * Checks that `userId` is a member of the scope's organization (an owner, an assignee).
 * @throws AppError 422 `reference_not_found` at `path` (e.g. `body.owner_id`) otherwise
 */
export async function assertMember(scope: TenantScope, userId: string, path: string): Promise<void> {
  const [row] = await scope.tx
    .select({ userId: members.userId })
    .from(members)
    .where(and(eq(members.organizationId, scope.ctx.orgId), eq(members.userId, userId)));
  if (!row)
    throw new AppError(422, 'reference_not_found', 'No member of this organization has this id', { path });
}
