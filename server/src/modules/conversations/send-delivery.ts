import { createHash } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { newId } from '../../db/ids.js';
import { withTenant } from '../../db/tenant.js';
import type { Services } from '../../platform/http/types.js';
import { systemMail } from '../../platform/mail/mail.schema.js';
import { type ChannelRow, imapClientOf, pooledSmtpTransportOf } from './channel.service.js';
import { isMetaKind, type messages } from './conversation.schema.js';
import { sendThroughProvider } from './email-provider.js';
import { mailAttachmentsOf } from './message-attachments.service.js';
import { sendMetaMessage } from './meta-graph.js';
import { twilioClient } from './twilio.js';

/**
 * One message handed to its transport (SMTP through the mailbox's pooled connections, an e-mail
 * provider's API, Twilio, Meta), and the check of a mailbox's sent copies for the messages a dead
 * worker left in doubt (issue 25).
 */

/** What the provider answered: sent (its id), or failed (passing: retried; or for good). */
export type Outcome = { ok: true; providerId: string | null } | { ok: false; error: string; retry: boolean };

/** Sends over the channel; never throws: the outcome says what the provider answered. */
export async function deliver(
  services: Services,
  channel: ChannelRow,
  message: typeof messages.$inferSelect,
): Promise<Outcome> {
  const to = message.toAddresses[0] ?? '';
  try {
    if (isMetaKind(channel.kind)) return await sendMetaMessage(services, channel, to, message.text);
    if (channel.kind === 'sms') {
      const sent = await twilioClient(services, channel).messages.create({
        from: channel.address,
        to,
        body: message.text,
      });
      return { ok: true, providerId: sent.sid };
    }
    const files = await mailAttachmentsOf(services, message.orgId, message.attachments);
    if (channel.kind === 'local') {
      // The built-in local mailbox: kept in the organization's outbox, reaching no one.
      const kept = await Promise.all(
        files.map(async (f) => {
          const content = await buffer(f.content);
          return {
            filename: f.filename,
            content_type: f.contentType,
            sha256: createHash('sha256').update(content).digest('hex'),
            base64: content.toString('base64'),
          };
        }),
      );
      await withTenant(
        services.database,
        { orgId: message.orgId, actor: { type: 'system', id: null } },
        ({ tx }) =>
          tx.insert(systemMail).values({
            orgId: message.orgId,
            id: newId(),
            kind: 'conversation',
            recipient: to,
            subject: message.subject ?? '(no subject)',
            text: message.text,
            attachments: kept,
          }),
      );
      return { ok: true, providerId: message.messageId };
    }
    if (channel.settings.provider) {
      if (files.length) {
        for (const f of files) f.content.destroy();
        return {
          ok: false,
          error:
            'attachments_not_supported: this channel sends through a provider API; send attachments from an SMTP mailbox',
          retry: false,
        };
      }
      return await sendThroughProvider(services, channel, {
        from: { address: channel.address, name: channel.fromName },
        to,
        subject: message.subject ?? '',
        text: message.text,
        headers: {
          ...(message.messageId ? { 'Message-ID': message.messageId } : {}),
          ...(message.inReplyTo ? { 'In-Reply-To': message.inReplyTo } : {}),
          ...(message.references.length ? { References: message.references.join(' ') } : {}),
          ...message.headers,
        },
        cairnId: message.id,
      });
    }
    const info = await pooledSmtpTransportOf(services, channel).sendMail({
      from: channel.fromName ? { name: channel.fromName, address: channel.address } : channel.address,
      to,
      subject: message.subject ?? '',
      text: message.text,
      messageId: message.messageId ?? undefined,
      headers: message.headers,
      ...(files.length ? { attachments: files } : {}),
      ...(message.inReplyTo ? { inReplyTo: message.inReplyTo } : {}),
      ...(message.references.length ? { references: message.references } : {}),
    });
    return { ok: true, providerId: info.messageId ?? null };
  } catch (error) {
    const e = error as { message?: string; responseCode?: number; status?: number; code?: unknown };
    const text = (e.message ?? String(error)).slice(0, 500);
    // SMTP 5xx and Twilio 4xx are final; anything else (network, 4xx SMTP, 429, 5xx) may pass.
    const retry = text.startsWith('attachment_missing')
      ? false
      : typeof e.responseCode === 'number'
        ? e.responseCode < 500
        : typeof e.status === 'number'
          ? e.status === 429 || e.status >= 500
          : true;
    return { ok: false, error: text, retry };
  }
}

/**
 * How long a send's claim holds: longer than one SMTP dialogue can take (connection, greeting and
 * socket timeouts). A message still `sending` past it was claimed by a worker that died mid-send.
 */
export const SEND_LEASE_MS = 90_000;

/** The error of a message whose send is in doubt, left to a person (issue 25). */
export const IN_DOUBT =
  'in_doubt: the worker sending this message stopped mid-send and the mailbox keeps no sent copy to check; ' +
  'it may or may not have reached the recipient. Check with them before sending it again (Retry)';

/**
 * Which of a mailbox's messages claimed by a worker that died mid-send reached the server (issue
 * 25): the Message-ID is fixed before the SMTP dialogue, so the mailbox's sent copy (its IMAP
 * folder with the `\Sent` special use, or named Sent) answers it: found, it was sent; absent, the
 * dialogue never finished and it is sent now. One IMAP connection for all of them (a mail server
 * caps connections per user: Dovecot's default is 10). A channel without such a folder (no IMAP,
 * an SMS, a provider) cannot tell: `ask`, a person decides.
 * @returns the Message-IDs found in the sent folder, or `ask`
 */
export async function sentCopiesOf(
  services: Services,
  channel: ChannelRow,
  messageIds: string[],
): Promise<Set<string> | 'ask'> {
  if (channel.kind !== 'email' || !channel.settings.imap || channel.settings.provider) return 'ask';
  const client = imapClientOf(services, channel);
  client.on('error', () => {});
  try {
    await client.connect();
    const boxes = (await client.list()).filter(
      (b) => b.specialUse === '\\Sent' || /^(sent|sent items|sent messages|sent mail)$/i.test(b.name),
    );
    if (boxes.length === 0) return 'ask';
    const found = new Set<string>();
    for (const box of boxes) {
      const lock = await client.getMailboxLock(box.path, { readOnly: true });
      try {
        for (const id of messageIds) {
          if (found.has(id)) continue;
          const uids = await client.search({ header: { 'message-id': id } }, { uid: true });
          if (uids && uids.length > 0) found.add(id);
        }
      } finally {
        lock.release();
      }
    }
    return found;
  } catch {
    return 'ask';
  } finally {
    await client.logout().catch(() => {});
  }
}
