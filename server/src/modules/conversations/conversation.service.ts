import { and, eq, inArray } from 'drizzle-orm';
import { type TenantContext, type TenantScope, withTenant } from '../../db/tenant.js';
import { AppError, badRequest, notFound } from '../../platform/errors/app-error.js';
import type { Services } from '../../platform/http/types.js';
import { recordConsentIn } from '../consent/consent.service.js';
import { createContactIn } from '../contacts/contact.service.js';
import { renderForIn, signatureIn, withSignature } from '../message-templates/message-template.service.js';
import { type ChannelRow, e164, isEmail } from './channel.service.js';
import type { ConversationListQueryInput, ConversationView, MessageView } from './conversation.dto.js';
import { channels, isMetaKind } from './conversation.schema.js';
import type { AttachmentMeta } from './inbound.service.js';
import { announceInbox } from './inbox-stream.js';
import { outboundAttachmentsIn } from './message-attachments.service.js';
import { ingestMessage } from './message-ingest.service.js';
import { metaProfileOf } from './meta-graph.js';
import { queueMessage } from './send.service.js';
import { suppressIn } from './suppression.service.js';

type ConversationRow = {
  id: string;
  channel_id: string;
  channel_kind: ConversationView['channel']['kind'];
  channel_name: string;
  contact_id: string | null;
  contact_name: string | null;
  counterpart: string;
  subject: string | null;
  status: ConversationView['status'];
  assignee_id: string | null;
  unread_count: number;
  last_message_at: string;
  last_preview: string | null;
  created_at: string;
};

const COLUMNS = `
  select v.id, v.channel_id, ch.kind as channel_kind, ch.name as channel_name, v.contact_id,
         nullif(trim(concat_ws(' ', c.first_name, c.last_name)), '') as contact_name,
         v.counterpart, v.subject, v.status, v.assignee_id, v.unread_count,
         to_char(v.last_message_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as last_message_at,
         v.last_preview,
         to_char(v.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_at
`;
const JOINS = `
    join channels ch on ch.org_id = v.org_id and ch.id = v.channel_id
    left join contacts c on c.org_id = v.org_id and c.id = v.contact_id`;
const SELECT = `${COLUMNS} from conversations v ${JOINS}`;
/**
 * The inbox's order. `nulls last` as in `conversations_list_idx` (the columns are never null):
 * a plain `desc` means `nulls first`, which that index cannot give, and the list then sorted the
 * whole tenant's conversations.
 */
const ORDER = 'v.last_message_at desc nulls last, v.id desc nulls last';

const viewOf = (r: ConversationRow): ConversationView => ({
  id: r.id,
  channel: { id: r.channel_id, kind: r.channel_kind, name: r.channel_name },
  contact: r.contact_id ? { id: r.contact_id, name: r.contact_name } : null,
  counterpart: r.counterpart,
  subject: r.subject,
  status: r.status,
  assignee_id: r.assignee_id,
  unread_count: r.unread_count,
  last_message_at: r.last_message_at,
  last_preview: r.last_preview,
  created_at: r.created_at,
});

const encodeCursor = (r: ConversationRow) =>
  Buffer.from(JSON.stringify([r.last_message_at, r.id])).toString('base64url');

function decodeCursor(cursor: string): [string, string] {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (
      typeof at === 'string' &&
      typeof id === 'string' &&
      !Number.isNaN(Date.parse(at)) &&
      /^[0-9a-f-]{36}$/i.test(id)
    )
      return [at, id];
  } catch {}
  throw badRequest('The cursor is not one this list gave', 'query.cursor', 'invalid_cursor');
}

/** The inbox: conversations across channels, the latest first, with cursor paging. */
export async function listConversations(
  services: Services,
  ctx: TenantContext,
  query: ConversationListQueryInput,
): Promise<{ data: ConversationView[]; next_cursor: string | null }> {
  const params: unknown[] = [ctx.orgId];
  const where = ['v.org_id = $1'];
  const add = (clause: (n: string) => string, value: unknown) => {
    params.push(value);
    where.push(clause(`$${params.length}`));
  };
  if (query.status !== 'any') add((n) => `v.status = ${n}`, query.status);
  if (query.filter === 'mine') add((n) => `v.assignee_id = ${n}`, ctx.actor.id ?? '');
  if (query.filter === 'unassigned') where.push('v.assignee_id is null');
  if (query.channel_id) add((n) => `v.channel_id = ${n}`, query.channel_id);
  if (query.contact_id) add((n) => `v.contact_id = ${n}`, query.contact_id);
  if (query.cursor) {
    const [at, id] = decodeCursor(query.cursor);
    params.push(at, id);
    where.push(`(v.last_message_at, v.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  params.push(query.limit + 1);
  const rows = await withTenant(
    services.database,
    ctx,
    async ({ conn }) =>
      (
        await conn.query<ConversationRow>(
          // The page is taken from the index first; only its rows are joined to channels and contacts.
          `${COLUMNS}
             from (select * from conversations v where ${where.join(' and ')} order by ${ORDER} limit $${params.length}) v
             ${JOINS}
            order by ${ORDER}`,
          params,
        )
      ).rows,
    { readOnly: true },
  );
  const page = rows.slice(0, query.limit);
  return {
    data: page.map(viewOf),
    next_cursor: rows.length > query.limit ? encodeCursor(page.at(-1)!) : null,
  };
}

async function loadConversation(scope: TenantScope, id: string): Promise<ConversationRow> {
  const { rows } = await scope.conn.query<ConversationRow>(`${SELECT} where v.org_id = $1 and v.id = $2`, [
    scope.ctx.orgId,
    id,
  ]);
  if (!rows[0]) throw notFound('Conversation', id);
  return rows[0];
}

const TS = (col: string) => `to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

async function messagesOf(scope: TenantScope, conversationId: string): Promise<MessageView[]> {
  const { rows } = await scope.conn.query<MessageView>(
    `select id, conversation_id, direction, message_id, from_address as "from", to_addresses as "to", subject,
            text, html, attachments, status, error, delivery_status, attempts, sent_by, ${TS('read_at')} as read_at,
            ${TS('sent_at')} as sent_at, ${TS('created_at')} as created_at
       from messages where org_id = $1 and conversation_id = $2
      order by created_at, id`,
    [scope.ctx.orgId, conversationId],
  );
  // Messages stored before the files pipeline took attachments name no file.
  return rows.map((m) => ({
    ...m,
    attachments: m.attachments.map((a) => ({
      ...a,
      file_id: a.file_id ?? null,
      status: a.status ?? null,
      reason: a.reason ?? null,
    })),
  }));
}

/** A conversation with its full history, oldest message first. */
export async function getThread(services: Services, ctx: TenantContext, id: string) {
  return withTenant(
    services.database,
    ctx,
    async (scope) => {
      const conversation = viewOf(await loadConversation(scope, id));
      return { ...conversation, messages: await messagesOf(scope, id) };
    },
    { readOnly: true },
  );
}

/** Opens or closes a conversation, or assigns it to a member (or to no one). @throws 400 when the assignee is no member */
export async function updateConversation(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: { status?: 'open' | 'closed' | undefined; assignee_id?: string | null | undefined },
): Promise<ConversationView> {
  return withTenant(services.database, ctx, async (scope) => {
    await loadConversation(scope, id);
    if (input.assignee_id) {
      const { rows } = await scope.conn.query(
        `select 1 from members where organization_id = $1 and user_id = $2`,
        [ctx.orgId, input.assignee_id],
      );
      if (!rows.length)
        throw badRequest('The assignee is not a member of the organization', 'body.assignee_id');
    }
    await scope.conn.query(
      `update conversations
          set status = coalesce($3, status),
              assignee_id = case when $4 then $5 else assignee_id end,
              updated_at = clock_timestamp()
        where org_id = $1 and id = $2`,
      [ctx.orgId, id, input.status ?? null, input.assignee_id !== undefined, input.assignee_id ?? null],
    );
    await announceInbox(scope.conn, ctx.orgId);
    return viewOf(await loadConversation(scope, id));
  });
}

/**
 * Puts the conversation's person on a contact (issue 23, "an unknown sender can be turned into a
 * contact in one click"): `contact_id` links an existing contact; without it the contact with the
 * sender's e-mail or number is linked when there is one, else a contact is made from the sender
 * (its e-mail, its number, or for Messenger / Instagram the name Meta shares with the page). Every
 * conversation with that person on the channel is linked, so their next messages land on the
 * contact's timeline.
 * @throws 404 unknown conversation or contact
 */
export async function linkContact(
  services: Services,
  ctx: TenantContext,
  id: string,
  input: { contact_id?: string | undefined },
): Promise<ConversationView> {
  const conversation = await withTenant(services.database, ctx, (scope) => loadConversation(scope, id), {
    readOnly: true,
  });
  let profile: { first_name: string | null; last_name: string | null } | null = null;
  if (!input.contact_id && isMetaKind(conversation.channel_kind)) {
    const channel = await withTenant(
      services.database,
      ctx,
      async ({ tx }) =>
        (
          await tx
            .select()
            .from(channels)
            .where(and(eq(channels.orgId, ctx.orgId), eq(channels.id, conversation.channel_id)))
        )[0],
      { readOnly: true },
    );
    // Outside the transaction: a call to Meta holds no connection.
    if (channel) profile = await metaProfileOf(services, channel, conversation.counterpart);
  }
  return withTenant(services.database, ctx, async (scope) => {
    const c = await loadConversation(scope, id);
    let contactId = input.contact_id ?? null;
    if (contactId) {
      const { rows } = await scope.conn.query(
        `select 1 from contacts where org_id = $1 and id = $2 and archived_at is null`,
        [ctx.orgId, contactId],
      );
      if (!rows.length) throw notFound('Contact', contactId);
    } else if (c.channel_kind === 'sms') {
      const { rows } = await scope.conn.query<{ id: string }>(
        `select id from contacts where org_id = $1 and archived_at is null
            and (phone = $2 or phones @> jsonb_build_array(jsonb_build_object('e164', $2::text)))
          order by created_at limit 1`,
        [ctx.orgId, c.counterpart],
      );
      contactId =
        rows[0]?.id ?? (await createContactIn(scope, services, { phones: [{ number: c.counterpart }] })).id;
    } else if (isMetaKind(c.channel_kind)) {
      const label = c.channel_kind === 'instagram' ? 'Instagram' : 'Messenger';
      contactId = (
        await createContactIn(scope, services, {
          first_name: profile?.first_name ?? `${label} ${c.counterpart.slice(-6)}`,
          last_name: profile?.last_name ?? null,
          notes: profile ? null : `From ${label}; Meta did not share the name (id ${c.counterpart}).`,
        })
      ).id;
    } else {
      const { rows } = await scope.conn.query<{ id: string }>(
        `select e.contact_id as id from contact_emails e join contacts k on k.org_id = e.org_id and k.id = e.contact_id
          where e.org_id = $1 and e.email = $2 and e.active and k.archived_at is null limit 1`,
        [ctx.orgId, c.counterpart],
      );
      contactId =
        rows[0]?.id ?? (await createContactIn(scope, services, { emails: [{ value: c.counterpart }] })).id;
    }
    await scope.conn.query(
      `update conversations set contact_id = $4, updated_at = clock_timestamp()
        where org_id = $1 and channel_id = $2 and counterpart = $3`,
      [ctx.orgId, c.channel_id, c.counterpart, contactId],
    );
    await announceInbox(scope.conn, ctx.orgId);
    return viewOf(await loadConversation(scope, id));
  });
}

/** Marks every message of a conversation read. */
export async function markRead(
  services: Services,
  ctx: TenantContext,
  id: string,
): Promise<ConversationView> {
  return withTenant(services.database, ctx, async (scope) => {
    await loadConversation(scope, id);
    await scope.conn.query(
      `update messages set read_at = clock_timestamp() where org_id = $1 and conversation_id = $2 and read_at is null and direction = 'in'`,
      [ctx.orgId, id],
    );
    await scope.conn.query(`update conversations set unread_count = 0 where org_id = $1 and id = $2`, [
      ctx.orgId,
      id,
    ]);
    await announceInbox(scope.conn, ctx.orgId);
    return viewOf(await loadConversation(scope, id));
  });
}

/** Unread messages of open conversations (the navigation's badge). */
export async function unreadCount(services: Services, ctx: TenantContext) {
  return withTenant(
    services.database,
    ctx,
    async ({ conn }) => {
      const { rows } = await conn.query<{ messages: number; conversations: number }>(
        `select coalesce(sum(unread_count), 0)::int as messages, count(*) filter (where unread_count > 0)::int as conversations
           from conversations where org_id = $1 and status = 'open'`,
        [ctx.orgId],
      );
      return rows[0]!;
    },
    { readOnly: true },
  );
}

/**
 * An active channel of the organization, in the caller's transaction.
 * @throws 404 (422 `reference_not_found` at `path` when given); 409 `channel_paused`
 */
/** The tenant's channels among `ids`, whatever their status (a batch's mailboxes); unknown ids are absent. */
export async function channelsIn(scope: TenantScope, ids: string[]): Promise<ChannelRow[]> {
  if (ids.length === 0) return [];
  return scope.tx
    .select()
    .from(channels)
    .where(and(eq(channels.orgId, scope.ctx.orgId), inArray(channels.id, ids)));
}

export async function channelIn(scope: TenantScope, id: string, path?: string): Promise<ChannelRow> {
  const { rows } = await scope.conn.query<{ id: string }>(
    `select id from channels where org_id = $1 and id = $2`,
    [scope.ctx.orgId, id],
  );
  if (!rows[0]) {
    if (path) throw new AppError(422, 'reference_not_found', `Channel ${id} was not found`, { path });
    throw notFound('Channel', id);
  }
  const [row] = await scope.tx
    .select()
    .from(channels)
    .where(and(eq(channels.orgId, scope.ctx.orgId), eq(channels.id, id)));
  if (row!.status !== 'active')
    throw new AppError(409, 'channel_paused', 'The channel is paused: resume it in the settings to send', {
      path,
    });
  return row!;
}

type OutgoingInput = {
  text: string;
  subject?: string | undefined;
  signature?: boolean | undefined;
  attachments?: string[] | undefined;
};

/**
 * What a person sends (issue 23): its template variables filled for the contact (422
 * `unknown_variable` for one that names no field, so a raw `{{...}}` never goes out) and, on
 * e-mail, the member's signature appended unless `signature: false`.
 */
async function outgoingIn(
  scope: TenantScope,
  channel: ChannelRow,
  contactId: string | null,
  input: OutgoingInput,
): Promise<{ text: string; subject?: string | undefined; attachments: AttachmentMeta[] }> {
  const target = { contactId, sender: { name: channel.fromName, email: channel.address } };
  let text = (await renderForIn(scope, target, input.text, 'body.text')).text;
  const subject =
    input.subject === undefined
      ? undefined
      : (await renderForIn(scope, target, input.subject, 'body.subject')).text;
  const email = channel.kind === 'email' || channel.kind === 'local';
  if (input.attachments?.length && !email)
    throw new AppError(422, 'attachments_not_supported', 'Attachments go out on e-mail only', {
      path: 'body.attachments',
    });
  const attachments = await outboundAttachmentsIn(scope, input.attachments ?? []);
  if (email && input.signature !== false) text = withSignature(text, await signatureIn(scope));
  return subject === undefined ? { text, attachments } : { text, subject, attachments };
}

/** A reply on a conversation: queued for sending. @returns the message, `queued` */
export async function reply(
  services: Services,
  ctx: TenantContext,
  conversationId: string,
  input: OutgoingInput,
): Promise<MessageView> {
  return withTenant(services.database, ctx, async (scope) => {
    const conversation = await loadConversation(scope, conversationId);
    const channel = await channelIn(scope, conversation.channel_id);
    const id = await queueMessage(
      services,
      scope,
      channel,
      conversation,
      await outgoingIn(scope, channel, conversation.contact_id, input),
    );
    return (await messagesOf(scope, conversationId)).find((m) => m.id === id)!;
  });
}

/** A new conversation: the first message to an address or number on a channel, queued for sending. */
export async function compose(
  services: Services,
  ctx: TenantContext,
  input: OutgoingInput & { channel_id: string; to: string },
): Promise<MessageView> {
  return withTenant(services.database, ctx, async (scope) => {
    const channel = await channelIn(scope, input.channel_id, 'body.channel_id');
    let to = input.to.trim();
    if (isMetaKind(channel.kind))
      throw badRequest(
        'A Messenger or Instagram conversation starts with the person’s message: reply from its thread',
        'body.channel_id',
      );
    if (channel.kind === 'sms') {
      const number = e164(to);
      if (!number) throw badRequest('Not a phone number in E.164 (+14155550100)', 'body.to');
      to = number;
    } else {
      to = to.toLowerCase();
      if (!isEmail(to)) throw badRequest('Not an e-mail address', 'body.to');
    }
    const { rows: contact } = await scope.conn.query<{ id: string }>(
      channel.kind === 'sms'
        ? `select id from contacts where org_id = $1 and (phone = $2 or phones @> jsonb_build_array(jsonb_build_object('e164', $2::text))) limit 1`
        : `select contact_id as id from contact_emails where org_id = $1 and email = $2 and active limit 1`,
      [ctx.orgId, to],
    );
    const { rows: existing } =
      channel.kind === 'sms'
        ? await scope.conn.query<{ id: string }>(
            `select id from conversations where org_id = $1 and channel_id = $2 and counterpart = $3 order by last_message_at desc limit 1`,
            [ctx.orgId, channel.id, to],
          )
        : { rows: [] as { id: string }[] };
    const conversationId =
      existing[0]?.id ??
      (await openConversationIn(scope, channel, to, {
        contactId: contact[0]?.id ?? null,
        subject: input.subject ?? null,
        assigneeId: ctx.actor.type === 'user' ? ctx.actor.id : null,
      }));
    const id = await queueMessage(
      services,
      scope,
      channel,
      { id: conversationId, counterpart: to, subject: input.subject ?? null },
      await outgoingIn(scope, channel, contact[0]?.id ?? null, input),
    );
    return (await messagesOf(scope, conversationId)).find((m) => m.id === id)!;
  });
}

/** Starts a conversation with `counterpart` on a channel, in the caller's transaction. @returns its id */
export async function openConversationIn(
  scope: TenantScope,
  channel: ChannelRow,
  counterpart: string,
  o: { contactId: string | null; subject: string | null; assigneeId: string | null },
): Promise<string> {
  const { rows } = await scope.conn.query<{ id: string }>(
    `insert into conversations (org_id, channel_id, contact_id, counterpart, subject, assignee_id)
     values ($1, $2, $3, $4, $5, $6) returning id`,
    [scope.ctx.orgId, channel.id, o.contactId, counterpart, o.subject, o.assigneeId],
  );
  return rows[0]!.id;
}

const STOP_WORDS = new Set(['stop', 'stopall', 'unsubscribe', 'cancel', 'end', 'quit', 'optout', 'revoke']);
const START_WORDS = new Set(['start', 'unstop', 'yes']);

/**
 * An inbound SMS (Twilio's webhook, signature checked by the caller): stored in its thread (the
 * pair of numbers); STOP and its synonyms put the number on the suppression list, START takes it off.
 */
export async function receiveSms(
  services: Services,
  channel: ChannelRow,
  params: Record<string, string>,
): Promise<{ stored: boolean; opted_out: boolean }> {
  const ctx: TenantContext = { orgId: channel.orgId, actor: { type: 'system', id: null } };
  const from = e164(params.From ?? '') ?? (params.From ?? '').slice(0, 32);
  const body = (params.Body ?? '').slice(0, 10_000);
  const sid = (params.MessageSid ?? params.SmsSid ?? '').slice(0, 64);
  if (!from || !sid) throw badRequest('Not an inbound message: From and MessageSid are required', 'body');
  const word = body.trim().toLowerCase();
  return withTenant(services.database, ctx, async (scope) => {
    let optedOut = false;
    const keyword = STOP_WORDS.has(word) ? 'stop' : START_WORDS.has(word) ? 'start' : null;
    if (keyword === 'stop') {
      await suppressIn(scope, 'sms', from, 'sms_stop', `twilio:${sid}`);
      optedOut = true;
    } else if (keyword === 'start') {
      await scope.conn.query(
        `delete from message_suppressions where org_id = $1 and channel_kind = 'sms' and address = $2 and reason = 'sms_stop'`,
        [ctx.orgId, from],
      );
    }
    if (keyword) {
      // The consent ledger keeps the keyword as proof (issue 25).
      const { rows: contact } = await scope.conn.query<{ id: string }>(
        `select id from contacts where org_id = $1 and (phone = $2 or phones @> jsonb_build_array(jsonb_build_object('e164', $2::text))) limit 1`,
        [ctx.orgId, from],
      );
      if (contact[0])
        await recordConsentIn(scope, {
          object: 'contact',
          recordId: contact[0].id,
          channel: 'sms',
          purpose: 'marketing',
          status: keyword === 'stop' ? 'withdrawn' : 'granted',
          source: `sms_keyword:${sid}`,
          proof: { keyword: body.trim().slice(0, 20), from, to: channel.address, message_sid: sid },
        });
    }
    const media = Number(params.NumMedia ?? 0) || 0;
    const id = await ingestMessage(services, scope, channel, {
      messageId: sid,
      inReplyTo: null,
      references: [],
      from,
      to: [channel.address],
      subject: null,
      text: body,
      html: null,
      attachments: Array.from({ length: Math.min(media, 10) }, (_, i) => ({
        filename: params[`MediaUrl${i}`] ?? null,
        content_type: params[`MediaContentType${i}`] ?? 'application/octet-stream',
        size: 0,
      })),
      providerId: sid,
    });
    return { stored: id !== null, opted_out: optedOut };
  });
}
