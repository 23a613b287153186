import { and, eq } from 'drizzle-orm';
import { newId } from '../../db/ids.js';
import { withTenant } from '../../db/tenant.js';
import { members } from '../../platform/auth/auth.schema.js';
import type { AdminAlert } from '../../platform/guard/guard-incidents.js';
import type { Services } from '../../platform/http/types.js';
import { deliverNotification } from '../notifications/notification-delivery.service.js';

/**
 * Tells every admin of the organization about a guard crossing: an in-app notification of kind
 * `security_alert` each (its detail is the sentence; it links to the incident on a block). The
 * admin it is about is told too: they may be the only one who can review it.
 */
export async function alertAdmins(services: Services, alert: Parameters<AdminAlert>[0]): Promise<void> {
  await withTenant(
    services.database,
    { orgId: alert.orgId, actor: { type: 'system', id: null } },
    async (scope) => {
      const admins = await scope.tx
        .select({ userId: members.userId })
        .from(members)
        .where(and(eq(members.organizationId, alert.orgId), eq(members.role, 'admin')));
      for (const admin of admins) {
        await deliverNotification(scope, {
          recipientId: admin.userId,
          kind: 'security_alert',
          object: alert.kind === 'block' ? 'guard_incident' : 'guard_warning',
          recordId: alert.id,
          recordName: alert.subjectLabel,
          actorId: null,
          detail: alert.sentence,
          eventId: newId(),
        });
      }
    },
  );
}
