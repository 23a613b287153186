import fastifyMultipart from '@fastify/multipart';
import { and, eq, sql } from 'drizzle-orm';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type TenantContext, withTenant } from '../../db/tenant.js';
import { AppError, notFound } from '../../platform/errors/app-error.js';
import { checkedJsonText } from '../../platform/http/input.js';
import { Problem } from '../../platform/http/problem.js';
import type { ApiApp, Services } from '../../platform/http/types.js';
import { type ChannelRow, secretsOf } from './channel.service.js';
import { channels } from './conversation.schema.js';
import { MAX_ATTACHMENTS } from './inbound.service.js';
import { storeInboundAttachments } from './message-attachments.service.js';
import { ingestMessage } from './message-ingest.service.js';
import { applyProviderEvents } from './provider-events.service.js';
import { type FilePart, type FormPart, type InboundForm, providerInbound } from './provider-inbound.js';
import {
  isBasicAuth,
  isMailgunSignature,
  isSendgridSignature,
  mailgunEvents,
  postmarkEvents,
  sendgridEvents,
} from './provider-webhook.js';

/**
 * Largest webhook body: SendGrid's Inbound Parse posts up to 30 MB; Cairn keeps 10 MB messages.
 * A multipart post's files are kept up to this many bytes in all (the rest are named, not kept).
 */
const MAX_INBOUND_BYTES = 10 * 1024 * 1024;
/**
 * Largest inbound mail post read whole: Postmark's inbound JSON carries up to 35 MB of attachments
 * (its "Attachment and Email Size Limits" article), base64-encoded (4/3: ~47 MB) beside bodies of
 * up to 5 MB. Past it, 413 `payload_too_large`. A multipart post (SendGrid, Mailgun) is streamed
 * and held to `MAX_INBOUND_BYTES` of files instead; its attachments past that are named, not kept.
 */
const MAX_INBOUND_POST_BYTES = 50 * 1024 * 1024;
const NOT_KEPT = `Not kept: past the ${MAX_INBOUND_BYTES / 1_048_576} MB of attachments one provider post may carry`;

type RawRequest = FastifyRequest & { rawBody?: Buffer };

const Params = z.strictObject({ org_id: z.uuid(), id: z.uuid() });
const Headers = z.object({
  authorization: z.string().max(2000).optional(),
  'x-twilio-email-event-webhook-signature': z.string().max(500).optional(),
  'x-twilio-email-event-webhook-timestamp': z.string().max(50).optional(),
});

/** The form fields and files of a multipart or url-encoded body, by name. */
function formOf(body: unknown): InboundForm {
  const out: InboundForm = {};
  for (const [name, v] of Object.entries((body ?? {}) as Record<string, unknown>))
    out[name] = [v].flat().map((p): FormPart => {
      if (typeof p === 'string') return { value: p };
      const part = p as {
        type?: string;
        value?: unknown;
        filename?: string;
        mimetype?: string;
        file?: unknown;
      };
      if (part.type === 'file') {
        const content = Buffer.isBuffer(part.value) ? part.value : null;
        return {
          filename: part.filename ?? null,
          mimetype: part.mimetype ?? 'application/octet-stream',
          size: content?.length ?? 0,
          content,
        };
      }
      return { value: typeof part.value === 'string' ? part.value : String(part.value ?? '') };
    });
  return out;
}
const flatForm = (form: InboundForm) =>
  Object.fromEntries(
    Object.entries(form).map(([k, v]) => {
      const first = [v].flat()[0];
      return [k, first && 'value' in first ? first.value : null];
    }),
  );

/**
 * Reads a multipart body (SendGrid Inbound Parse, a Mailgun route forward with attachments):
 * fields by name, files by name, type, size and bytes. A file's bytes are kept up to
 * `maxFileBytes + 1` (`FILE_MAX_BYTES`: past it the files pipeline refuses the file, as for synced
 * mail) and within `MAX_INBOUND_BYTES` for all the post's files; a file past those is named with
 * its size and why it was not kept (one past `MAX_INBOUND_BYTES` alone is cut by the parser).
 * `maxFileBytes` null keeps no bytes (the event webhooks carry no files).
 * @throws 400 `invalid_multipart` when the body is not well-formed multipart (or has more than
 *   `MAX_ATTACHMENTS` files)
 */
async function multipartOf(req: FastifyRequest, maxFileBytes: number | null): Promise<InboundForm> {
  const form: InboundForm = {};
  const add = (name: string, part: FormPart) => {
    form[name] = [...[form[name] ?? []].flat(), part];
  };
  let room = MAX_INBOUND_BYTES;
  try {
    for await (const part of req.parts()) {
      if (part.type === 'field') {
        add(part.fieldname, { value: typeof part.value === 'string' ? part.value : String(part.value) });
        continue;
      }
      const keep = maxFileBytes === null ? 0 : Math.min(maxFileBytes + 1, room);
      const chunks: Buffer[] = [];
      let kept = 0;
      let size = 0;
      for await (const chunk of part.file as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (kept < keep) {
          const piece = chunk.subarray(0, keep - kept);
          chunks.push(piece);
          kept += piece.length;
        }
      }
      const whole = kept === size && !part.file.truncated;
      // All of it, or enough of it to show the pipeline that it is over its limit.
      const content = whole || (maxFileBytes !== null && kept > maxFileBytes) ? Buffer.concat(chunks) : null;
      if (content) room -= kept;
      const file: FilePart = {
        filename: part.filename || null,
        mimetype: part.mimetype,
        size,
        content,
        reason: content ? null : NOT_KEPT,
      };
      add(part.fieldname, file);
    }
  } catch (error) {
    throw new AppError(
      400,
      'invalid_multipart',
      `The multipart body could not be read: ${(error as Error).message}`,
      {
        path: 'body',
      },
    );
  }
  return form;
}

async function providerChannel(services: Services, ctx: TenantContext, id: string): Promise<ChannelRow> {
  const [row] = await withTenant(services.database, ctx, ({ tx }) =>
    tx
      .select()
      .from(channels)
      .where(and(eq(channels.orgId, ctx.orgId), eq(channels.id, id), eq(channels.kind, 'email'))),
  );
  if (!row?.settings.provider) throw notFound('Channel', id);
  return row;
}

/** Counts a refused request on the channel and answers 403 `invalid_signature`. */
async function refuse(services: Services, ctx: TenantContext, row: ChannelRow, what: string): Promise<never> {
  await withTenant(services.database, ctx, ({ tx }) =>
    tx
      .update(channels)
      .set({ rejectedWebhooks: sql`${channels.rejectedWebhooks} + 1` })
      .where(and(eq(channels.orgId, ctx.orgId), eq(channels.id, row.id))),
  );
  throw new AppError(403, 'invalid_signature', `The ${what} does not verify`);
}

/** Whether the request is the channel's provider's, by that provider's own scheme. */
function verified(row: ChannelRow, key: string, req: RawRequest, body: unknown): boolean {
  const h = req.headers;
  const auth = typeof h.authorization === 'string' ? h.authorization : undefined;
  switch (row.settings.provider!.name) {
    case 'sendgrid':
      // Inbound Parse is not signed: basic auth in its URL. The Event Webhook is signed (ECDSA).
      return req.url.endsWith('/inbound')
        ? isBasicAuth(key, auth)
        : isSendgridSignature(
            key,
            h['x-twilio-email-event-webhook-signature'] as string | undefined,
            h['x-twilio-email-event-webhook-timestamp'] as string | undefined,
            req.rawBody ?? Buffer.alloc(0),
          );
    case 'postmark':
      return isBasicAuth(key, auth);
    case 'mailgun': {
      const b = (body ?? {}) as Record<string, unknown>;
      // Current webhooks nest the signature's fields; legacy form posts and route forwards do not.
      const nested = b.signature && typeof b.signature === 'object' ? b.signature : b;
      return isMailgunSignature(key, nested as Record<string, unknown>);
    }
  }
}

/**
 * The e-mail providers' webhooks of one provider-mode channel (issue 23/25), public and verified
 * by each provider's scheme (SendGrid events: ECDSA `X-Twilio-Email-Event-Webhook-Signature`;
 * Mailgun: HMAC of timestamp + token; Postmark and SendGrid Inbound Parse: basic auth with the
 * channel's webhook key). An unverified request is refused (403 `invalid_signature`) and counted
 * on the channel (`rejected_webhooks`).
 */
export function registerProviderWebhooks(app: ApiApp, services: Services): void {
  app.register(async (scoped) => {
    const api = scoped as unknown as ApiApp;
    await scoped.register(fastifyMultipart, {
      // A file past `fileSize` is cut (`truncated`) and named as not kept, not a 400 the provider retries.
      throwFileSizeLimit: false,
      limits: {
        fileSize: MAX_INBOUND_BYTES,
        files: MAX_ATTACHMENTS,
        fields: 100,
        fieldSize: MAX_INBOUND_BYTES,
      },
    });
    api.removeContentTypeParser('application/json');
    api.addContentTypeParser(
      'application/json',
      { parseAs: 'buffer', bodyLimit: MAX_INBOUND_BYTES },
      (req, body, done) => {
        (req as RawRequest).rawBody = body as Buffer;
        try {
          // The same rules as every JSON body (UTF-8, depth, JSON, no NUL); the bytes kept for the signature.
          done(null, JSON.parse(checkedJsonText(body as Buffer)));
        } catch (error) {
          done(error as Error, undefined);
        }
      },
    );
    api.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: MAX_INBOUND_BYTES },
      (_req, body, done) => {
        const params: Record<string, string | string[]> = {};
        for (const [k, v] of new URLSearchParams(String(body))) {
          const prev = params[k];
          params[k] = prev === undefined ? v : [prev, v].flat();
        }
        done(null, params);
      },
    );
    const common = {
      config: { access: 'public' as const },
      schema: { tags: ['channels'], params: Params, headers: Headers, body: z.unknown() },
    };
    api.post(
      '/public/channels/:org_id/:id/provider/events',
      {
        ...common,
        bodyLimit: MAX_INBOUND_BYTES,
        schema: {
          ...common.schema,
          operationId: 'receiveEmailProviderEvents',
          summary:
            "The channel's provider's event webhook (SendGrid Event Webhook, Postmark delivery/bounce/spam webhooks, Mailgun webhooks): delivered, bounced, complained, unsubscribed. 403 `invalid_signature` when it does not verify",
          response: {
            200: z.object({ received: z.number().int(), applied: z.number().int() }),
            400: Problem,
            403: Problem,
            404: Problem,
          },
        },
      },
      async (req) => {
        const ctx: TenantContext = { orgId: req.params.org_id, actor: { type: 'system', id: null } };
        const row = await providerChannel(services, ctx, req.params.id);
        const key = secretsOf(services, row).provider_webhook_key ?? '';
        const name = row.settings.provider!.name;
        const body =
          name === 'postmark' || name === 'sendgrid'
            ? req.body
            : flatForm(req.isMultipart() ? await multipartOf(req, null) : formOf(req.body));
        const jsonMailgun =
          name === 'mailgun' &&
          !!req.body &&
          typeof (req.body as { signature?: unknown }).signature === 'object';
        const checked = jsonMailgun ? req.body : body;
        if (!verified(row, key, req as RawRequest, checked))
          await refuse(services, ctx, row, `${name} signature`);
        const events =
          name === 'sendgrid'
            ? sendgridEvents(req.body)
            : name === 'postmark'
              ? postmarkEvents(req.body)
              : mailgunEvents((jsonMailgun ? req.body : body) as Record<string, unknown>);
        const applied = await withTenant(services.database, ctx, (scope) =>
          applyProviderEvents(services, scope, row, events),
        );
        return { received: events.length, applied };
      },
    );
    api.post(
      '/public/channels/:org_id/:id/provider/inbound',
      {
        ...common,
        bodyLimit: MAX_INBOUND_POST_BYTES,
        schema: {
          ...common.schema,
          operationId: 'receiveEmailProviderInbound',
          summary:
            "The channel's provider's inbound mail webhook (SendGrid Inbound Parse, Postmark inbound JSON, Mailgun route forward): stored in the inbox, threaded, once per Message-ID, its attachments through the files pipeline. 403 `invalid_signature` when it does not verify; 422 `unreadable_message` when nothing could be read",
          response: {
            200: z.object({ stored: z.boolean(), message_id: z.uuid().nullable() }),
            400: Problem,
            403: Problem,
            404: Problem,
            422: Problem,
          },
        },
      },
      async (req) => {
        const ctx: TenantContext = { orgId: req.params.org_id, actor: { type: 'system', id: null } };
        const row = await providerChannel(services, ctx, req.params.id);
        const key = secretsOf(services, row).provider_webhook_key ?? '';
        const name = row.settings.provider!.name;
        const body =
          name === 'postmark'
            ? req.body
            : req.isMultipart()
              ? await multipartOf(req, services.config.files.maxBytes)
              : formOf(req.body);
        if (!verified(row, key, req as RawRequest, name === 'mailgun' ? flatForm(body as InboundForm) : body))
          await refuse(services, ctx, row, `${name} signature`);
        const message = await providerInbound(name, body);
        if (!message)
          throw new AppError(422, 'unreadable_message', 'No sender could be read from the message', {
            path: 'body',
          });
        const id = await withTenant(services.database, ctx, (scope) =>
          ingestMessage(services, scope, row, message),
        );
        // Its attachments through the files pipeline once it is committed, as a synced message's
        // (a refused or infected one is noted on the message; the provider still gets its 200).
        if (id && message.files) await storeInboundAttachments(services, ctx.orgId, id, message.files);
        return { stored: id !== null, message_id: id };
      },
    );
  });
}
