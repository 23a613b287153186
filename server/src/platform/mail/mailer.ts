import { createHash } from 'node:crypto';
import { and, desc, eq } from 'drizzle-orm';
import nodemailer from 'nodemailer';
import type { Logger } from 'pino';
import { runOutsideDbBudget } from '../../db/budget.js';
import type { Database } from '../../db/client.js';
import { newId } from '../../db/ids.js';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import type { JobQueue } from '../jobs/job-queue.js';
import { systemMail } from './mail.schema.js';

export type SystemMailKind =
  | 'password_reset'
  | 'email_verification'
  | 'signup_attempt'
  | 'invitation'
  | 'quote'
  | 'workflow'
  | 'booking'
  | 'report';

/** A file sent with a message. */
export type MailAttachment = { filename: string; contentType: string; content: Buffer };

/** A system message: to one address, plain text. */
export type SystemMessage = {
  kind: SystemMailKind;
  to: string;
  subject: string;
  text: string;
  /**
   * The organization the message concerns (an invitation's); without it, a message to a user is
   * kept in the outbox of each organization the user belongs to.
   */
  orgId?: string | undefined;
  attachments?: MailAttachment[] | undefined;
};

/**
 * The one sending layer for system e-mail (issue 22): through the SMTP server of `SMTP_URL`
 * (nodemailer, https://nodemailer.com/smtp/), or, with none configured, into the local outbox
 * admins read at `GET /api/v1/system-mail`.
 */
export type Mailer = {
  /** `smtp` or `outbox`. */
  readonly transport: 'smtp' | 'outbox';
  /** Sends (or keeps) a message; failures are logged, never thrown at the caller. */
  send(message: SystemMessage): Promise<void>;
  /**
   * Sends one message of an organization as part of the caller's tenant transaction, once
   * (a workflow's e-mail step): with the outbox transport it is kept in that transaction, so it
   * exists exactly when the step's completion does; over SMTP a job (in the same transaction)
   * sends it with the `messageId` given (a retried send carries the same Message-ID, so the
   * receiving side can drop a repeat), and a failed send is retried by the job queue.
   */
  sendIn(scope: TenantScope, jobs: JobQueue, message: SystemMessage & { messageId: string }): Promise<void>;
  close(): Promise<void>;
};

/** The queue of `sendIn`'s messages over SMTP. */
export const MAIL_QUEUE = 'mail.send';

export function createMailer(
  config: { smtpUrl: string | undefined; mailFrom: string },
  database: Database,
  logger: Logger,
  jobs?: JobQueue,
): Mailer {
  if (config.smtpUrl) {
    const transport = nodemailer.createTransport(config.smtpUrl);
    // The job of `sendIn`: a failure throws, so the queue retries it.
    jobs?.define<SystemMessage & { messageId: string }>(
      { name: MAIL_QUEUE, retryLimit: 8 },
      async ({ data }) => {
        await transport.sendMail({
          from: config.mailFrom,
          to: data.to,
          subject: data.subject,
          text: data.text,
          messageId: data.messageId,
        });
      },
    );
    return {
      transport: 'smtp',
      async send(message) {
        try {
          await transport.sendMail({
            from: config.mailFrom,
            to: message.to,
            subject: message.subject,
            text: message.text,
            attachments: message.attachments?.map((a) => ({
              filename: a.filename,
              contentType: a.contentType,
              content: a.content,
            })),
          });
        } catch (error) {
          logger.error({ err: error, kind: message.kind }, 'system e-mail not sent');
        }
      },
      sendIn: (scope, jobs, message) =>
        jobs.send(scope.conn, MAIL_QUEUE, { ...message, orgId: scope.ctx.orgId }).then(() => undefined),
      async close() {
        transport.close();
      },
    };
  }
  async function keep(message: SystemMessage): Promise<void> {
    try {
      const orgIds = message.orgId ? [message.orgId] : await organizationsOf(database, message.to);
      for (const orgId of orgIds) {
        await withTenant(database, { orgId, actor: { type: 'system', id: null } }, ({ tx }) =>
          tx.insert(systemMail).values({
            orgId,
            id: newId(),
            kind: message.kind,
            recipient: message.to,
            subject: message.subject,
            text: message.text,
            attachments: (message.attachments ?? []).map((a) => ({
              filename: a.filename,
              content_type: a.contentType,
              sha256: createHash('sha256').update(a.content).digest('hex'),
              base64: a.content.toString('base64'),
            })),
          }),
        );
      }
      if (orgIds.length === 0)
        logger.warn({ kind: message.kind }, 'system e-mail to a user of no organization: not kept');
    } catch (error) {
      logger.error({ err: error, kind: message.kind }, 'system e-mail not kept');
    }
  }
  return {
    transport: 'outbox',
    // Outside the request's budget: a caller need not wait, and the request's end must not cut it.
    send: (message) => runOutsideDbBudget(() => keep(message)),
    async sendIn(scope, _jobs, message) {
      await scope.tx.insert(systemMail).values({
        orgId: scope.ctx.orgId,
        id: newId(),
        kind: message.kind,
        recipient: message.to,
        subject: message.subject,
        text: message.text,
      });
    },
    async close() {},
  };
}

async function organizationsOf(database: Database, email: string): Promise<string[]> {
  const { rows } = await database.raw.query<{ org_id: string }>(
    `select m.organization_id as org_id from members m join users u on u.id = m.user_id
      where u.email = lower($1)`,
    [email.trim()],
  );
  return rows.map((r) => r.org_id);
}

export type SystemMailView = {
  id: string;
  created_at: string;
  kind: string;
  to: string;
  subject: string;
  text: string;
  attachments: { filename: string; content_type: string; size: number; sha256: string }[];
};

/** The organization's outbox, newest first (the last 200 messages). */
export async function listSystemMail(database: Database, ctx: TenantContext): Promise<SystemMailView[]> {
  const rows = await withTenant(
    database,
    ctx,
    ({ tx }) =>
      tx
        .select()
        .from(systemMail)
        .where(eq(systemMail.orgId, ctx.orgId))
        .orderBy(desc(systemMail.id))
        .limit(200),
    { readOnly: true },
  );
  return rows.map((r) => ({
    id: r.id,
    created_at: r.createdAt.toISOString(),
    kind: r.kind,
    to: r.recipient,
    subject: r.subject,
    text: r.text,
    attachments: r.attachments.map((a) => ({
      filename: a.filename,
      content_type: a.content_type,
      size: Buffer.from(a.base64, 'base64').length,
      sha256: a.sha256,
    })),
  }));
}

/** The bytes of an attachment of a kept message. @returns null when there is none */
export async function systemMailAttachment(
  database: Database,
  ctx: TenantContext,
  id: string,
  index: number,
): Promise<{ filename: string; contentType: string; content: Buffer } | null> {
  const [row] = await withTenant(
    database,
    ctx,
    ({ tx }) =>
      tx
        .select({ attachments: systemMail.attachments })
        .from(systemMail)
        .where(and(eq(systemMail.orgId, ctx.orgId), eq(systemMail.id, id))),
    { readOnly: true },
  );
  const a = row?.attachments[index];
  return a
    ? { filename: a.filename, contentType: a.content_type, content: Buffer.from(a.base64, 'base64') }
    : null;
}
