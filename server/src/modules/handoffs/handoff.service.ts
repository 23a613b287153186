import type { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, conflict, forbidden, notFound } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { formatRecordNumber } from '../../platform/registry/custom-objects.js';
import { customObjectDefs } from '../../platform/registry/registry.service.js';
import type { ObjectDef } from '../../platform/registry/registry.types.js';
import { statusOf } from '../../platform/registry/status-field.js';
import { customObjectIn, nameOf, updateRecordIn } from '../records/record-engine.service.js';
import { statusFieldsOf } from '../records/record-status.service.js';
import type { HandoffDeny, HandoffViewOut, QueueItemsQuery } from './handoff.dto.js';
import { roleLabel } from './handoff-queue.service.js';

/**
 * Working a hand-off queue (issue 21): reading a queue's hand-offs, accepting one (the accepting
 * member becomes the record's owner) and denying one with a reason (the record returns to a
 * chosen status). Only members of the owning role (and admins) decide; of two deciding at once,
 * one wins and the other gets 409 `handoff_decided` (a conditional update on the waiting state,
 * which PostgreSQL re-checks after the first transaction commits).
 */

type Row = {
  id: string;
  record_id: string;
  object: string;
  field: string;
  status: string;
  from_status: string | null;
  role: string;
  state: HandoffViewOut['state'];
  assigned_to: string | null;
  requested_by: string | null;
  previous_owner: string | null;
  requested_at: string;
  decided_by: string | null;
  decided_at: string | null;
  reason: string | null;
  returned_to: string | null;
  custom: Record<string, unknown>;
  number: number | null;
  age_seconds: number;
};

const SELECT = `select h.id, h.record_id, h.object, h.field, h.status, h.from_status, h.role, h.state,
    h.assigned_to, h.requested_by, h.previous_owner, h.requested_at::text, h.decided_by,
    h.decided_at::text, h.reason, h.returned_to, r.custom, r.number,
    floor(extract(epoch from coalesce(h.decided_at, now()) - h.requested_at))::int as age_seconds
  from handoffs h join records r on r.org_id = h.org_id and r.id = h.record_id`;

const iso = (v: string | null) => (v === null ? null : new Date(v).toISOString());

function viewOf(defs: Map<string, ObjectDef>, row: Row): HandoffViewOut {
  const def = defs.get(row.object);
  const config = def ? statusFieldsOf(def).find((s) => s.field.key === row.field)?.config : undefined;
  return {
    id: row.id,
    object: row.object,
    object_label: def?.labelSingular ?? row.object,
    record_id: row.record_id,
    record_name: def ? nameOf(def, { id: row.record_id, custom: row.custom }) : row.record_id,
    number_label:
      row.number !== null && def?.custom?.numbering
        ? formatRecordNumber(def.custom.numbering, row.number)
        : null,
    field: row.field,
    status: row.status,
    status_label: (config && statusOf(config, row.status)?.label) ?? row.status,
    from_status: row.from_status,
    role: row.role,
    state: row.state,
    assigned_to: row.assigned_to,
    requested_by: row.requested_by,
    requested_at: iso(row.requested_at)!,
    age_seconds: Math.max(0, row.age_seconds),
    decided_by: row.decided_by,
    decided_at: iso(row.decided_at),
    reason: row.reason,
    returned_to: row.returned_to,
  };
}

async function defsByKey(scope: TenantScope): Promise<Map<string, ObjectDef>> {
  return new Map((await customObjectDefs(scope.tx, scope.ctx.orgId)).map((d) => [d.key, d]));
}

async function loadHandoff(scope: TenantScope, id: string): Promise<Row> {
  const { rows } = await scope.conn.query<Row>(`${SELECT} where h.org_id = $1 and h.id = $2`, [
    scope.ctx.orgId,
    id,
  ]);
  if (!rows[0]) throw notFound('Hand-off', id);
  return rows[0];
}

/** One hand-off. @throws 404 (another tenant's id included) */
export async function getHandoff(services: Services, ctx: TenantContext, id: string) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => viewOf(await defsByKey(scope), await loadHandoff(scope, id)),
    { readOnly: true },
  );
}

/** A queue's hand-offs (oldest first), or a record's (newest first) when `recordId` is given. */
export async function listHandoffs(
  services: Services,
  ctx: TenantContext,
  filter: { role: string; query: z.infer<typeof QueueItemsQuery> } | { object: string; recordId: string },
): Promise<HandoffViewOut[]> {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const defs = await defsByKey(scope);
      let rows: Row[];
      if ('role' in filter) {
        const mine = filter.query.assigned === 'me' ? ` and h.assigned_to = $4` : '';
        ({ rows } = await scope.conn.query<Row>(
          `${SELECT} where h.org_id = $1 and h.role = $2 and h.state = $3${mine}
            order by h.requested_at ${filter.query.state === 'waiting' ? 'asc' : 'desc'}, h.id
            limit ${filter.query.limit}`,
          [ctx.orgId, filter.role, filter.query.state, ...(mine ? [ctx.actor.id] : [])],
        ));
      } else {
        const def = await customObjectIn(scope, filter.object);
        // A record of another tenant (or none) is a 404, as every unknown id, not an empty list.
        const found = await scope.conn.query(
          `select 1 from records r join custom_objects o on o.org_id = r.org_id and o.id = r.object_id
            where r.org_id = $1 and o.key = $2 and r.id = $3`,
          [ctx.orgId, def.key, filter.recordId],
        );
        if (found.rows.length === 0) throw notFound('Record', filter.recordId);
        ({ rows } = await scope.conn.query<Row>(
          `${SELECT} where h.org_id = $1 and h.record_id = $2 and h.object = $3
            order by h.requested_at desc, h.id limit 200`,
          [ctx.orgId, filter.recordId, def.key],
        ));
      }
      return rows.map((r) => viewOf(defs, r));
    },
    { readOnly: true },
  );
}

/** @throws 403 `handoff_not_your_role` unless the caller holds the owning role or is an admin */
function assertMayDecide(ctx: TenantContext, row: Row) {
  if (ctx.role === 'admin' || ctx.role === row.role) return;
  throw new AppError(
    403,
    'handoff_not_your_role',
    `Only members of the ${row.role} role decide this hand-off`,
  );
}

/** Marks the hand-off decided if it still waits. @throws 409 `handoff_decided` when it does not */
async function decide(scope: TenantScope, row: Row, state: 'accepted' | 'denied', extra: unknown[] = []) {
  const { rows: done } = await scope.conn.query(
    `update handoffs set state = $3, decided_by = $4, decided_at = now(), reason = $5, returned_to = $6
      where org_id = $1 and id = $2 and state = 'waiting' returning id`,
    [scope.ctx.orgId, row.id, state, scope.ctx.actor.id, extra[0] ?? null, extra[1] ?? null],
  );
  if (done.length === 0) {
    const [now] = (
      await scope.conn.query<{ state: string }>(`select state from handoffs where org_id = $1 and id = $2`, [
        scope.ctx.orgId,
        row.id,
      ])
    ).rows;
    throw conflict(`This hand-off was already ${now?.state ?? 'decided'}`, undefined, 'handoff_decided');
  }
}

/**
 * Accepts a waiting hand-off: the caller becomes the record's owner; a `record.handoff_accepted`
 * event tells the sender and the previous owner. @throws 404, 403, 409 `handoff_decided`
 */
export async function acceptHandoff(services: Services, ctx: TenantContext, id: string) {
  return withTenant(services.database, ctx, async (scope) => {
    const row = await loadHandoff(scope, id);
    assertMayDecide(ctx, row);
    if (ctx.actor.type !== 'user') throw forbidden('A member accepts a hand-off (an API key owns no record)');
    await decide(scope, row, 'accepted');
    await scope.conn.query(
      `update records set owner_id = $3, updated_at = now(), updated_by = $3 where org_id = $1 and id = $2`,
      [ctx.orgId, row.record_id, ctx.actor.id],
    );
    const defs = await defsByKey(scope);
    const view = viewOf(defs, row);
    await emitEvent(scope, services.jobs, {
      type: 'record.handoff_accepted',
      subject: { object: row.object, id: row.record_id },
      data: {
        name: view.record_name,
        handoff_id: row.id,
        field: row.field,
        status: row.status,
        status_label: view.status_label,
        role: row.role,
        role_label: await roleLabel(scope, row.role),
        previous_owner: row.previous_owner,
        requested_by: row.requested_by,
      },
    });
    return viewOf(defs, await loadHandoff(scope, id));
  });
}

/**
 * Denies a waiting hand-off with a reason: the record returns to `return_to` (the status it came
 * from when absent) through the record engine (history and `record.status_changed` with the
 * reason; the return skips the field's transition and role rules, which the hand-off stands for),
 * and a `record.handoff_denied` event tells the sender and the previous owner.
 * @throws 404, 403, 409 `handoff_decided`, 422 `invalid_return_status` at `body.return_to`
 */
export async function denyHandoff(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: z.infer<typeof HandoffDeny>,
) {
  return withTenant(services.database, ctx, async (scope) => {
    const row = await loadHandoff(scope, id);
    assertMayDecide(ctx, row);
    const defs = await defsByKey(scope);
    const def = defs.get(row.object);
    const config = def && statusFieldsOf(def).find((s) => s.field.key === row.field)?.config;
    const back = input.return_to ?? row.from_status;
    const target = config && back ? statusOf(config, back) : undefined;
    if (!target || back === row.status) {
      const message = back
        ? `"${back}" is not another status of this record's field`
        : 'Name the status the record returns to';
      throw new AppError(422, 'invalid_return_status', message, {
        path: 'body.return_to',
        errors: [{ path: 'body.return_to', code: 'invalid_return_status', message }],
      });
    }
    await decide(scope, row, 'denied', [input.reason, target.value]);
    await updateRecordIn(
      scope,
      services,
      row.object,
      row.record_id,
      { custom: { [row.field]: target.value }, status_reason: input.reason },
      { handoffReturn: true },
    );
    const view = viewOf(defs, row);
    await emitEvent(scope, services.jobs, {
      type: 'record.handoff_denied',
      subject: { object: row.object, id: row.record_id },
      data: {
        name: view.record_name,
        handoff_id: row.id,
        field: row.field,
        status: row.status,
        status_label: view.status_label,
        role: row.role,
        role_label: await roleLabel(scope, row.role),
        reason: input.reason,
        returned_to: target.value,
        returned_to_label: target.label,
        previous_owner: row.previous_owner,
        requested_by: row.requested_by,
      },
    });
    return viewOf(defs, await loadHandoff(scope, id));
  });
}
