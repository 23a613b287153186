import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { TenantScope } from '../../db/tenant.js';
import { AppError } from '../../platform/errors/app-error.js';
import { emitEvents, type NewEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { recordStatusHistory } from '../../platform/records/record-status.schema.js';
import type { FieldDef, ObjectDef } from '../../platform/registry/registry.types.js';
import {
  initialStatus,
  roleMaySet,
  type StatusConfigOut,
  statusOf,
  transitionOf,
} from '../../platform/registry/status-field.js';

/**
 * Status fields on the record engine's write path (issue 21): the rules of a status field's
 * definition checked on every create and update of a custom object's record, the history of each
 * change (from, to, who, when, why) and a `record.status_changed` event per change.
 */

const DAY_MS = 86_400_000;

/** One status field's change in a write. */
export type StatusChange = { field: FieldDef; config: StatusConfigOut; from: string | null; to: string };

/** The object's active status fields with their definitions. */
export const statusFieldsOf = (def: ObjectDef): { field: FieldDef; config: StatusConfigOut }[] =>
  def.fields.flatMap((field) =>
    field.type === 'status' && field.statuses && !field.retired ? [{ field, config: field.statuses }] : [],
  );

const labelOf = (config: StatusConfigOut, value: string | null) =>
  value === null ? null : (statusOf(config, value)?.label ?? value);

export type StatusRuleOptions = {
  /** Why: required by the moves and statuses that say so. */
  reason?: string | undefined;
  /** The principal's role (`TenantContext.role`); absent: the system, an import (roles not checked). */
  role?: string | undefined;
  /** Work no person does row by row (an import): roles and reasons are not asked for; moves still are. */
  bulk?: boolean;
  /** A denied hand-off's return (issue 21): the hand-off stands for the move, so no rule is checked. */
  handoffReturn?: boolean;
};

/**
 * The status changes a write makes, checked against each status field's definition. On create
 * (`before` null) a status field left empty gets its initial status (written into `after`).
 * Checked in this order: the move is allowed (from the record's status to the new one), the
 * principal's role may set the new status, a reason is given where the move or status needs one.
 * @throws 409 `transition_not_allowed` and 403 `status_role_forbidden` naming `<path>.<key>`;
 *   422 `reason_required` naming `body.status_reason`; 422 `status_required` when a status is cleared
 */
export function checkStatusChanges(
  def: ObjectDef,
  before: Record<string, unknown> | null,
  after: Record<string, unknown>,
  options: StatusRuleOptions,
  path = 'body.custom',
): StatusChange[] {
  const changes: StatusChange[] = [];
  for (const { field, config } of statusFieldsOf(def)) {
    if (before === null && (after[field.key] === undefined || after[field.key] === null))
      after[field.key] = initialStatus(config);
    const from = typeof before?.[field.key] === 'string' ? (before[field.key] as string) : null;
    const to = typeof after[field.key] === 'string' ? (after[field.key] as string) : null;
    if (from === to) continue;
    const at = `${path}.${field.key}`;
    if (to === null)
      throw new AppError(422, 'status_required', `${field.label} can be changed, not cleared`, {
        path: at,
        errors: [
          { path: at, code: 'status_required', message: `${field.label} can be changed, not cleared` },
        ],
      });
    const status = statusOf(config, to)!;
    const move =
      from === null || !statusOf(config, from) ? { reasonRequired: false } : transitionOf(config, from, to);
    if (options.handoffReturn) {
      changes.push({ field, config, from, to });
      continue;
    }
    if (!move) {
      const allowed = (config.transitions ?? [])
        .filter((t) => t.from === from)
        .map((t) => labelOf(config, t.to));
      const message = `${field.label} cannot move from ${labelOf(config, from)} to ${status.label}${
        allowed.length ? `; from ${labelOf(config, from)} it may move to ${allowed.join(', ')}` : ''
      }`;
      throw new AppError(409, 'transition_not_allowed', message, {
        path: at,
        errors: [{ path: at, code: 'transition_not_allowed', message }],
      });
    }
    if (!options.bulk && !roleMaySet(status, options.role)) {
      const message = `Your role (${options.role}) may not set ${field.label} to ${status.label}`;
      throw new AppError(403, 'status_role_forbidden', message, {
        path: at,
        errors: [{ path: at, code: 'status_role_forbidden', message }],
      });
    }
    if (!options.bulk && (move.reasonRequired || status.reason_required) && !options.reason?.trim()) {
      const message = `Moving ${field.label} to ${status.label} needs a reason`;
      throw new AppError(422, 'reason_required', message, {
        path: 'body.status_reason',
        errors: [{ path: 'body.status_reason', code: 'reason_required', message }],
      });
    }
    changes.push({ field, config, from, to });
  }
  return changes;
}

/** Keys of the status fields a write changes: left out of its `record.updated` (they have their own event). */
export const statusKeysOf = (changes: StatusChange[]) => new Set(changes.map((c) => c.field.key));

/** A record whose status changes: its id, name, creation time and related records (for the event). */
export type StatusSubject = {
  id: string;
  name: string;
  createdAt: string;
  related?: { object: string; id: string }[];
};

/**
 * Writes the history rows of status changes (one statement) and, unless `announce` is false (a
 * record's first status, told by its `record.created`), one `record.status_changed` event each,
 * with the days the record spent in its previous status.
 */
export async function recordStatusChanges(
  scope: TenantScope,
  services: Services,
  def: ObjectDef,
  items: { subject: StatusSubject; changes: StatusChange[]; reason?: string | undefined }[],
  announce = true,
): Promise<void> {
  const all = items.flatMap((i) => i.changes.map((c) => ({ item: i, change: c })));
  if (all.length === 0) return;
  const { orgId, actor } = scope.ctx;
  const entered = new Map<string, string>();
  if (announce) {
    const rows = await scope.tx
      .select({
        recordId: recordStatusHistory.recordId,
        field: recordStatusHistory.field,
        at: sql<string>`max(${recordStatusHistory.changedAt})::text`,
      })
      .from(recordStatusHistory)
      .where(
        and(
          eq(recordStatusHistory.orgId, orgId),
          inArray(recordStatusHistory.recordId, [...new Set(all.map((a) => a.item.subject.id))]),
        ),
      )
      .groupBy(recordStatusHistory.recordId, recordStatusHistory.field);
    for (const r of rows) entered.set(`${r.recordId}:${r.field}`, r.at);
  }
  await scope.tx.insert(recordStatusHistory).values(
    all.map(({ item, change }) => ({
      orgId,
      recordId: item.subject.id,
      field: change.field.key,
      fromStatus: change.from,
      toStatus: change.to,
      reason: item.reason?.trim() || null,
      changedBy: actor.id,
      actorType: actor.type,
    })),
  );
  if (!announce) return;
  const now = Date.now();
  await emitEvents(
    scope,
    services.jobs,
    all.map(({ item, change }): NewEvent => {
      const since = entered.get(`${item.subject.id}:${change.field.key}`) ?? item.subject.createdAt;
      return {
        type: 'record.status_changed',
        subject: { object: def.key, id: item.subject.id },
        data: {
          name: item.subject.name,
          field: change.field.key,
          field_label: change.field.label,
          from: change.from,
          to: change.to,
          from_label: labelOf(change.config, change.from),
          to_label: labelOf(change.config, change.to)!,
          to_kind: statusOf(change.config, change.to)?.kind ?? 'open',
          reason: item.reason?.trim() || null,
          days_in_previous_status: Math.round(((now - Date.parse(since)) / DAY_MS) * 10) / 10,
        },
        ...(item.subject.related ? { related: item.subject.related } : {}),
      };
    }),
  );
}

export const StatusHistoryEntry = z
  .object({
    field: z.string().describe('The status field’s key'),
    from: z.object({ value: z.string(), label: z.string() }).nullable().describe('Null for the first status'),
    to: z.object({ value: z.string(), label: z.string(), kind: z.string() }),
    reason: z.string().nullable(),
    changed_by: z.string().nullable().describe('The actor’s id (a user or an API key)'),
    actor_type: z.string(),
    changed_at: z.string(),
    seconds_in_status: z
      .number()
      .int()
      .describe(
        'How long the record stayed in `to`: until the next change, or until now for the current one',
      ),
    days_in_status: z.number(),
    current: z.boolean().describe('The record is still in this status'),
  })
  .meta({ id: 'StatusHistoryEntry' });

/**
 * A record's status history, oldest first: each change with the time the record then spent in
 * its new status. A status removed from the definition keeps its value as its label.
 */
export async function statusHistoryOf(
  scope: TenantScope,
  def: ObjectDef,
  recordId: string,
  fieldKey?: string,
): Promise<z.infer<typeof StatusHistoryEntry>[]> {
  const rows = await scope.tx
    .select()
    .from(recordStatusHistory)
    .where(
      and(
        eq(recordStatusHistory.orgId, scope.ctx.orgId),
        eq(recordStatusHistory.recordId, recordId),
        fieldKey ? eq(recordStatusHistory.field, fieldKey) : undefined,
      ),
    )
    .orderBy(asc(recordStatusHistory.changedAt), asc(recordStatusHistory.id));
  const configs = new Map(statusFieldsOf(def).map((s) => [s.field.key, s.config]));
  const now = Date.now();
  return rows.map((r, i) => {
    const config = configs.get(r.field);
    const status = (v: string) => (config ? statusOf(config, v) : undefined);
    const next = rows.slice(i + 1).find((x) => x.field === r.field);
    const ms = (next ? Date.parse(next.changedAt) : now) - Date.parse(r.changedAt);
    return {
      field: r.field,
      from:
        r.fromStatus === null
          ? null
          : { value: r.fromStatus, label: status(r.fromStatus)?.label ?? r.fromStatus },
      to: {
        value: r.toStatus,
        label: status(r.toStatus)?.label ?? r.toStatus,
        kind: status(r.toStatus)?.kind ?? 'open',
      },
      reason: r.reason,
      changed_by: r.changedBy,
      actor_type: r.actorType,
      changed_at: new Date(r.changedAt).toISOString(),
      seconds_in_status: Math.max(0, Math.round(ms / 1000)),
      days_in_status: Math.round((Math.max(0, ms) / DAY_MS) * 10) / 10,
      current: !next,
    };
  });
}

/**
 * When each record entered its current status of `field` (its last history row), by record id;
 * records with none are left out (their creation time stands in).
 */
export async function statusEnteredAt(
  scope: TenantScope,
  field: string,
  recordIds: string[],
): Promise<Map<string, string>> {
  if (recordIds.length === 0) return new Map();
  const rows = await scope.tx
    .select({
      recordId: recordStatusHistory.recordId,
      at: sql<string>`max(${recordStatusHistory.changedAt})::text`,
    })
    .from(recordStatusHistory)
    .where(
      and(
        eq(recordStatusHistory.orgId, scope.ctx.orgId),
        eq(recordStatusHistory.field, field),
        inArray(recordStatusHistory.recordId, recordIds),
      ),
    )
    .groupBy(recordStatusHistory.recordId);
  return new Map(rows.map((r) => [r.recordId, r.at]));
}
