import { AppError } from '../../platform/errors/app-error.js';
import { latestConsentIn } from '../consent/consent.service.js';
import { as, done, registerAction, type StepContext } from '../workflows/workflow-actions.js';
import { e164 } from './channel.service.js';
import { channelIn, openConversationIn } from './conversation.service.js';
import { queueMessage, suppressionOf } from './send.service.js';

/**
 * The workflows' `send_sms` action (issue 24), owned here because it sends through the inbox's
 * SMS channel (Twilio): the text is queued on the contact's thread with the channel (opened when
 * there is none), so it shows in the inbox and on the timeline like any message, and goes out
 * through the send queue with its retries. Sent only when it may be: a number on the suppression
 * list (an SMS STOP) or a contact whose latest SMS consent is withdrawn makes the step `skipped`
 * (recorded, the run goes on), as sequences do. The idempotency key of the message is the run and
 * the step, so a step run twice never sends twice.
 */

async function phoneOf(ctx: StepContext, field: string): Promise<string | null> {
  const record = await ctx.record();
  const custom = (record.custom ?? {}) as Record<string, unknown>;
  const raw = field in record ? record[field] : custom[field];
  const text = typeof raw === 'string' ? raw : Array.isArray(raw) ? String(raw[0] ?? '') : '';
  return text ? e164(text) : null;
}

registerAction('send_sms', {
  async run(ctx) {
    const step = as(ctx, 'send_sms');
    const field = step.to ?? 'phone';
    const to = await phoneOf(ctx, field);
    if (!to) throw new AppError(422, 'no_phone', `The record has no valid phone number in ${field}`);
    const text = await ctx.render(step.body);
    const channel = await channelIn(ctx.scope, step.channel_id);
    if (channel.kind !== 'sms') return done({ skipped: 'not_an_sms_channel' });
    const suppressed = await suppressionOf(ctx.scope, 'sms', to);
    const contactId = ctx.def.key === 'contact' ? ctx.run.recordId : null;
    const consent = contactId ? await latestConsentIn(ctx.scope, contactId, 'sms') : null;
    if (suppressed || consent === 'withdrawn')
      return done({ to, skipped: suppressed ? `suppressed (${suppressed})` : 'consent withdrawn' });
    if (ctx.dry) return done({ to, text, would: `text “${text.slice(0, 60)}” to ${to}` });
    const { rows } = await ctx.scope.conn.query<{ id: string }>(
      `select id from conversations where org_id = $1 and channel_id = $2 and counterpart = $3
        order by last_message_at desc nulls last limit 1`,
      [ctx.scope.ctx.orgId, channel.id, to],
    );
    const conversationId =
      rows[0]?.id ??
      (await openConversationIn(ctx.scope, channel, to, { contactId, subject: null, assigneeId: null }));
    const messageId = await queueMessage(
      ctx.services,
      ctx.scope,
      channel,
      { id: conversationId, counterpart: to, subject: null },
      { text },
      { idempotencyKey: `workflow:${ctx.run.id}:${step.id}` },
    );
    return done({ to, text, message_id: messageId, conversation_id: conversationId });
  },
  async validate(scope, step) {
    if (step.type !== 'send_sms') return [];
    const { channel_id } = step;
    const { rows } = await scope.conn.query<{ kind: string }>(
      'select kind from channels where org_id = $1 and id = $2',
      [scope.ctx.orgId, channel_id],
    );
    if (!rows[0])
      return [
        {
          path: '.channel_id',
          code: 'reference_not_found',
          message: 'No channel of this organization has this id',
        },
      ];
    if (rows[0].kind !== 'sms')
      return [{ path: '.channel_id', code: 'invalid_workflow', message: 'This channel does not send SMS' }];
    return [];
  },
});
