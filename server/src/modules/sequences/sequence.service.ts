import { and, asc, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, badRequest, notFound } from '../../platform/errors/app-error.js';
import { emitEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import { templatesIn } from '../message-templates/message-template.service.js';
import type {
  SequenceCreate,
  SequenceUpdate,
  SequenceSettings as SettingsInput,
  StepInput,
} from './sequence.dto.js';
import {
  type SequenceSettings,
  type StepSettings,
  sequenceEnrollments,
  sequenceSteps,
  sequences,
} from './sequence.schema.js';

export type SequenceRow = typeof sequences.$inferSelect;
export type StepRow = typeof sequenceSteps.$inferSelect;

/** Business days 09:00-17:00, no limits off by default: 200 a day, 50 an hour per mailbox. */
export const DEFAULT_SETTINGS: SequenceSettings = {
  window: { days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' },
  daily_limit: 200,
  hourly_limit: 50,
  allow_multiple: false,
  require_consent: false,
  stop_on_company_reply: false,
};

const settingsOf = (base: SequenceSettings, input: z.infer<typeof SettingsInput> | undefined) => {
  const merged = { ...base };
  for (const [k, v] of Object.entries(input ?? {})) if (v !== undefined) Object.assign(merged, { [k]: v });
  return merged;
};

function stepSettings(input: z.infer<typeof StepInput>): StepSettings {
  const { id: _id, type: _type, ...rest } = input;
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as StepSettings;
}

const stepView = (s: StepRow) => ({ id: s.id, position: s.position, type: s.type, ...s.settings });

async function countsOf(scope: TenantScope, sequenceIds: string[]) {
  const { rows } = await scope.conn.query<{ sequence_id: string; status: string; n: number }>(
    `select sequence_id, status, count(*)::int as n from sequence_enrollments
      where org_id = $1 and sequence_id = any($2::uuid[]) group by 1, 2`,
    [scope.ctx.orgId, sequenceIds],
  );
  const counts = new Map<string, { active: number; paused: number; finished: number; exited: number }>();
  for (const id of sequenceIds) counts.set(id, { active: 0, paused: 0, finished: 0, exited: 0 });
  for (const r of rows) {
    const c = counts.get(r.sequence_id)!;
    if (r.status in c) c[r.status as keyof typeof c] = r.n;
  }
  return counts;
}

async function viewsOf(scope: TenantScope, rows: SequenceRow[]) {
  const ids = rows.map((r) => r.id);
  const steps = ids.length
    ? await scope.tx
        .select()
        .from(sequenceSteps)
        .where(and(eq(sequenceSteps.orgId, scope.ctx.orgId), inArray(sequenceSteps.sequenceId, ids)))
        .orderBy(asc(sequenceSteps.position))
    : [];
  const counts = await countsOf(scope, ids);
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    status: r.status,
    channel_id: r.channelId,
    sms_channel_id: r.smsChannelId,
    settings: r.settings,
    steps: steps.filter((s) => s.sequenceId === r.id).map(stepView),
    counts: counts.get(r.id)!,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  }));
}

/** A live (not archived) sequence of the caller's organization. @throws 404 */
export async function sequenceIn(scope: TenantScope, id: string): Promise<SequenceRow> {
  const [row] = await scope.tx
    .select()
    .from(sequences)
    .where(and(eq(sequences.orgId, scope.ctx.orgId), eq(sequences.id, id), isNull(sequences.archivedAt)));
  if (!row) throw notFound('Sequence', id);
  return row;
}

/** The steps of a sequence in order. */
export async function stepsOf(scope: TenantScope, sequenceId: string): Promise<StepRow[]> {
  return scope.tx
    .select()
    .from(sequenceSteps)
    .where(and(eq(sequenceSteps.orgId, scope.ctx.orgId), eq(sequenceSteps.sequenceId, sequenceId)))
    .orderBy(asc(sequenceSteps.position), asc(sequenceSteps.id));
}

/** A channel of the organization of the right kind. @throws 422 `reference_not_found` at `path` */
async function assertChannel(
  scope: TenantScope,
  id: string | null | undefined,
  kinds: string[],
  path: string,
) {
  if (!id) return;
  const { rows } = await scope.conn.query<{ kind: string }>(
    'select kind from channels where org_id = $1 and id = $2',
    [scope.ctx.orgId, id],
  );
  if (!rows[0] || !kinds.includes(rows[0].kind))
    throw new AppError(422, 'reference_not_found', `No ${kinds.join(' or ')} channel ${id}`, { path });
}

/**
 * Each step's template (issue 25) is one of the organization's, of the step's channel (an e-mail
 * template, or `any`, for an EMAIL step; SMS likewise), and an EMAIL step has a subject from it or
 * its own. @throws 422 `reference_not_found` at `body.steps[i].template_id` (another
 * organization's id too), 422 `validation_failed` for a wrong kind or no subject
 */
async function assertTemplates(scope: TenantScope, steps: z.infer<typeof StepInput>[]) {
  const ids = steps.flatMap((s) => (s.template_id ? [s.template_id] : []));
  if (ids.length === 0) return;
  const templates = await templatesIn(scope, ids);
  for (const [i, s] of steps.entries()) {
    if (!s.template_id) continue;
    const path = `body.steps[${i}].template_id`;
    const template = templates.get(s.template_id);
    if (!template)
      throw new AppError(422, 'reference_not_found', `No message template ${s.template_id}`, { path });
    const kind = s.type === 'SMS' ? 'sms' : 'email';
    if (template.kind !== 'any' && template.kind !== kind)
      throw new AppError(
        422,
        'validation_failed',
        `This is an ${template.kind === 'sms' ? 'SMS' : 'e-mail'} template: an ${kind === 'sms' ? 'SMS' : 'e-mail'} step needs an ${kind === 'sms' ? 'SMS' : 'e-mail'} template or one for any channel`,
        { path },
      );
    if (kind === 'email' && !template.subject && !s.subject)
      throw new AppError(422, 'validation_failed', 'The template has no subject: give the step one', {
        path: `body.steps[${i}].subject`,
      });
  }
}

/** Writes the steps: those with an id are kept (updated), others added, the rest removed. */
async function writeSteps(scope: TenantScope, sequenceId: string, steps: z.infer<typeof StepInput>[]) {
  const orgId = scope.ctx.orgId;
  const existing = await stepsOf(scope, sequenceId);
  const known = new Set(existing.map((s) => s.id));
  steps.forEach((s, i) => {
    if (s.id && !known.has(s.id))
      throw badRequest(
        `Step ${s.id} is not a step of this sequence`,
        `body.steps[${i}].id`,
        'reference_not_found',
      );
  });
  await assertTemplates(scope, steps);
  const kept = new Set(steps.map((s) => s.id).filter(Boolean));
  const gone = existing.filter((s) => !kept.has(s.id)).map((s) => s.id);
  if (gone.length)
    await scope.tx
      .delete(sequenceSteps)
      .where(and(eq(sequenceSteps.orgId, orgId), inArray(sequenceSteps.id, gone)));
  for (const [position, s] of steps.entries()) {
    if (s.id)
      await scope.tx
        .update(sequenceSteps)
        .set({ position, type: s.type, settings: stepSettings(s), updatedAt: sql`now()` })
        .where(and(eq(sequenceSteps.orgId, orgId), eq(sequenceSteps.id, s.id)));
    else
      await scope.tx
        .insert(sequenceSteps)
        .values({ orgId, sequenceId, position, type: s.type, settings: stepSettings(s) });
  }
}

export async function listSequences(services: Services, ctx: TenantContext) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const rows = await scope.tx
        .select()
        .from(sequences)
        .where(and(eq(sequences.orgId, ctx.orgId), isNull(sequences.archivedAt)))
        .orderBy(desc(sequences.createdAt))
        .limit(500);
      return { data: await viewsOf(scope, rows) };
    },
    { readOnly: true },
  );
}

export async function getSequence(services: Services, ctx: TenantContext, id: string) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => (await viewsOf(scope, [await sequenceIn(scope, id)]))[0]!,
    {
      readOnly: true,
    },
  );
}

/** Creates a sequence with its steps. @throws 422 `reference_not_found` for a channel not of the organization */
export async function createSequence(
  services: Services,
  ctx: TenantContext,
  input: z.infer<typeof SequenceCreate>,
) {
  return withTenant(services.database, ctx, async (scope) => {
    await assertChannel(scope, input.channel_id, ['email', 'local'], 'body.channel_id');
    await assertChannel(scope, input.sms_channel_id, ['sms'], 'body.sms_channel_id');
    const [row] = await scope.tx
      .insert(sequences)
      .values({
        orgId: ctx.orgId,
        name: input.name,
        channelId: input.channel_id ?? null,
        smsChannelId: input.sms_channel_id ?? null,
        settings: settingsOf(DEFAULT_SETTINGS, input.settings),
        createdBy: ctx.actor.type === 'user' ? ctx.actor.id : null,
        updatedBy: ctx.actor.type === 'user' ? ctx.actor.id : null,
      })
      .returning();
    await writeSteps(scope, row!.id, input.steps ?? []);
    await emitEvent(scope, services.jobs, {
      type: 'sequence.created',
      subject: { object: 'sequence', id: row!.id },
      data: { name: row!.name },
    });
    return (await viewsOf(scope, [row!]))[0]!;
  });
}

export async function updateSequence(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: z.infer<typeof SequenceUpdate>,
) {
  return withTenant(services.database, ctx, async (scope) => {
    const row = await sequenceIn(scope, id);
    await assertChannel(scope, input.channel_id, ['email', 'local'], 'body.channel_id');
    await assertChannel(scope, input.sms_channel_id, ['sms'], 'body.sms_channel_id');
    const [updated] = await scope.tx
      .update(sequences)
      .set({
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.status !== undefined ? { status: input.status } : {}),
        ...(input.channel_id !== undefined ? { channelId: input.channel_id } : {}),
        ...(input.sms_channel_id !== undefined ? { smsChannelId: input.sms_channel_id } : {}),
        settings: settingsOf(row.settings, input.settings),
        updatedAt: sql`now()`,
        updatedBy: ctx.actor.type === 'user' ? ctx.actor.id : null,
      })
      .where(and(eq(sequences.orgId, ctx.orgId), eq(sequences.id, id)))
      .returning();
    await emitEvent(scope, services.jobs, {
      type: 'sequence.updated',
      subject: { object: 'sequence', id },
      data: { name: updated!.name },
    });
    return (await viewsOf(scope, [updated!]))[0]!;
  });
}

/** Replaces the steps (the builder saves them all at once). */
export async function replaceSteps(
  services: Services,
  ctx: TenantContext,
  id: string,
  steps: z.infer<typeof StepInput>[],
) {
  return withTenant(services.database, ctx, async (scope) => {
    const row = await sequenceIn(scope, id);
    await writeSteps(scope, id, steps);
    await scope.tx
      .update(sequences)
      .set({ updatedAt: sql`now()` })
      .where(and(eq(sequences.orgId, ctx.orgId), eq(sequences.id, id)));
    await emitEvent(scope, services.jobs, {
      type: 'sequence.updated',
      subject: { object: 'sequence', id },
      data: { name: row.name },
    });
    return (await viewsOf(scope, [row]))[0]!;
  });
}

/** Archives a sequence; its active and paused enrollments end as `removed`. */
export async function archiveSequence(services: Services, ctx: TenantContext, id: string): Promise<void> {
  await withTenant(services.database, ctx, async (scope) => {
    const row = await sequenceIn(scope, id);
    await scope.tx
      .update(sequences)
      .set({ archivedAt: sql`now()`, updatedAt: sql`now()` })
      .where(and(eq(sequences.orgId, ctx.orgId), eq(sequences.id, id)));
    await scope.tx
      .update(sequenceEnrollments)
      .set({ status: 'exited', exitReason: 'removed', endedAt: sql`now()`, nextRunAt: null })
      .where(
        and(
          eq(sequenceEnrollments.orgId, ctx.orgId),
          eq(sequenceEnrollments.sequenceId, id),
          sql`${sequenceEnrollments.status} in ('active', 'paused')`,
        ),
      );
    await emitEvent(scope, services.jobs, {
      type: 'sequence.archived',
      subject: { object: 'sequence', id },
      data: { name: row.name },
    });
  });
}
