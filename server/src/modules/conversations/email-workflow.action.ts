import { AppError } from '../../platform/errors/app-error.js';
import { latestConsentIn } from '../consent/consent.service.js';
import { as, done, emitEmailSent, registerAction } from '../workflows/workflow-actions.js';
import { suppressionOf } from './send.service.js';

/**
 * The workflows' `send_email` action (issue 24), owned here because the suppression list it
 * honours (`message_suppressions`, `suppressionOf`) belongs to the inbox's sending. The e-mail
 * goes through the system mail layer (the organization's outbox without `SMTP_URL`, else a
 * `mail.send` job after the step's commit) with the Message-ID `<run id.step id@workflows.cairn>`
 * on every try, so a step run twice never sends twice, and the `workflow.email_sent` event puts it
 * on the record's timeline. Sent only when it may be: an address (or its domain) on the
 * suppression list (an unsubscribe, a hard bounce, a complaint) or a contact whose latest e-mail
 * consent is withdrawn makes the step `skipped` (recorded in its output, the run goes on), as
 * `send_sms` and sequences do. A test run says what it would send, or that it would skip and why.
 */
registerAction('send_email', {
  async run(ctx) {
    const step = as(ctx, 'send_email');
    const record = await ctx.record();
    const field = step.to ?? 'email';
    const custom = (record.custom ?? {}) as Record<string, unknown>;
    const raw = field in record ? record[field] : custom[field];
    const to = (typeof raw === 'string' ? raw : Array.isArray(raw) ? String(raw[0] ?? '') : '').trim();
    if (!to) throw new AppError(422, 'no_email', `The record has no e-mail address in ${field}`);
    const subject = await ctx.render(step.subject);
    const text = await ctx.render(step.body);
    // The list keeps addresses in lower case (suppression.service.ts).
    const suppressed = await suppressionOf(ctx.scope, 'email', to.toLowerCase());
    const contactId = ctx.def.key === 'contact' ? ctx.run.recordId : null;
    const consent = contactId ? await latestConsentIn(ctx.scope, contactId, 'email') : null;
    if (suppressed || consent === 'withdrawn') {
      const skipped = suppressed ? `suppressed (${suppressed})` : 'consent withdrawn';
      return done({
        to,
        subject,
        skipped,
        ...(ctx.dry ? { would: `skip the e-mail to ${to}: ${skipped}` } : {}),
      });
    }
    if (ctx.dry) return done({ to, subject, text, would: `e-mail “${subject}” to ${to}` });
    await ctx.services.mailer.sendIn(ctx.scope, ctx.services.jobs, {
      kind: 'workflow',
      to,
      subject,
      text,
      orgId: ctx.scope.ctx.orgId,
      // The idempotency key of the effect: the run and the step.
      messageId: `<${ctx.run.id}.${step.id}@workflows.cairn>`,
    });
    await emitEmailSent(ctx, { to, subject });
    return done({ to, subject });
  },
});
