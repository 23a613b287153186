import { and, eq, sql } from 'drizzle-orm';
import type { TenantScope } from '../../db/tenant.js';
import { emitEvents, type NewEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import type { ObjectDef } from '../../platform/registry/registry.types.js';
import { statusOf } from '../../platform/registry/status-field.js';
import type { StatusChange } from '../records/record-status.service.js';
import { handoffs } from './handoff.schema.js';
import { chooseAssignee, roleLabel } from './handoff-queue.service.js';

/**
 * Opens the hand-offs a write's status changes make, in its transaction (issue 21): a record
 * leaving a status cancels the hand-off waiting there; a record entering a status owned by a role
 * other than the mover's waits in that role's queue (one `record.handoff_requested` event each,
 * assigned by the queue's rule). A mover of the owning role keeps the record (no hand-off).
 */
export async function openHandoffs(
  scope: TenantScope,
  services: Services,
  def: ObjectDef,
  subject: { id: string; name: string; ownerId: string | null },
  changes: StatusChange[],
): Promise<void> {
  if (changes.length === 0) return;
  const { ctx } = scope;
  const events: NewEvent[] = [];
  for (const change of changes) {
    await scope.tx
      .update(handoffs)
      .set({ state: 'cancelled', decidedAt: sql`now()`, decidedBy: ctx.actor.id })
      .where(
        and(
          eq(handoffs.orgId, ctx.orgId),
          eq(handoffs.recordId, subject.id),
          eq(handoffs.field, change.field.key),
          eq(handoffs.state, 'waiting'),
        ),
      );
    const status = statusOf(change.config, change.to);
    const role = status?.owner_role;
    if (!status || !role || role === ctx.role) continue;
    const assignedTo = await chooseAssignee(scope, def, change.field.key, role);
    const [row] = await scope.tx
      .insert(handoffs)
      .values({
        orgId: ctx.orgId,
        recordId: subject.id,
        object: def.key,
        field: change.field.key,
        status: change.to,
        fromStatus: change.from,
        role,
        assignedTo,
        requestedBy: ctx.actor.type === 'user' ? ctx.actor.id : null,
        previousOwner: subject.ownerId,
      })
      .returning({ id: handoffs.id });
    events.push({
      type: 'record.handoff_requested',
      subject: { object: def.key, id: subject.id },
      data: {
        name: subject.name,
        handoff_id: row!.id,
        field: change.field.key,
        status: change.to,
        status_label: status.label,
        role,
        role_label: await roleLabel(scope, role),
        assigned_to: assignedTo,
      },
    });
  }
  await emitEvents(scope, services.jobs, events);
}
