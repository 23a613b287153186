import { newId } from '../../db/ids.js';
import type { TenantScope } from '../../db/tenant.js';
import { emitEvents, type NewEvent } from '../../platform/events/events.js';
import type { Services } from '../../platform/http/types.js';
import type { ChannelRow } from './channel.service.js';
import { type ChannelKind, isMetaKind } from './conversation.schema.js';
import { recordDeliveryReports } from './delivery-report.js';
import { baseSubject, type Inbound, previewOf } from './inbound.service.js';
import { announceInbox } from './inbox-stream.js';

/** A message with no thread found by its headers joins a thread by subject this recent (days). */
const SUBJECT_THREAD_DAYS = 30;
/** Recent conversations with one counterpart looked at for a subject match. */
const SUBJECT_CANDIDATES = 20;

type Contact = { id: string; name: string | null };
type Thread = { id: string; subject: string | null };
type Placed = {
  message: Inbound;
  ord: number;
  id: string;
  outgoing: boolean;
  counterpart: string;
  contact: Contact | null;
  conversationId: string;
};

/** PostgreSQL text cannot hold NUL: a broken message's stray NULs are dropped rather than the batch. */
const clean = (s: string | null) => (s == null ? s : s.replaceAll('\u0000', ''));

/** The contacts of these counterparts: by e-mail (an active address), by number (SMS), or the thread's (Messenger, Instagram). */
async function contactsOf(
  scope: TenantScope,
  channel: ChannelRow,
  counterparts: string[],
): Promise<Map<string, Contact>> {
  const orgId = scope.ctx.orgId;
  const found = new Map<string, Contact>();
  if (counterparts.length === 0) return found;
  const name = `nullif(trim(concat_ws(' ', c.first_name, c.last_name)), '')`;
  const { rows } = isMetaKind(channel.kind)
    ? // A page-scoped id names no one outside its page: the thread's contact, once linked.
      await scope.conn.query<Contact & { key: string }>(
        `select distinct on (v.counterpart) v.counterpart as key, c.id, ${name} as name
           from conversations v join contacts c on c.org_id = v.org_id and c.id = v.contact_id
          where v.org_id = $1 and v.channel_id = $2 and v.counterpart = any($3::text[])
          order by v.counterpart, v.last_message_at desc`,
        [orgId, channel.id, counterparts],
      )
    : channel.kind === 'sms'
      ? await scope.conn.query<Contact & { key: string }>(
          `select k.key, c.id, c.name
             from unnest($2::text[]) as k(key)
             cross join lateral (
               select c.id, ${name} as name from contacts c
                where c.org_id = $1 and (c.phone = k.key or c.phones @> jsonb_build_array(jsonb_build_object('e164', k.key)))
                order by c.created_at limit 1) c`,
          [orgId, counterparts],
        )
      : await scope.conn.query<Contact & { key: string }>(
          `select distinct on (e.email) e.email as key, c.id, ${name} as name
             from contact_emails e join contacts c on c.org_id = e.org_id and c.id = e.contact_id
            where e.org_id = $1 and e.email = any($2::text[]) and e.active
            order by e.email, c.created_at`,
          [orgId, counterparts],
        );
  for (const r of rows) found.set(r.key, { id: r.id, name: r.name });
  return found;
}

/**
 * Where each message goes: e-mail by its In-Reply-To / References (the thread of the newest
 * message it names, earlier messages of the same batch included), else by its subject with the
 * same counterpart in the last `SUBJECT_THREAD_DAYS` days, else a new conversation; SMS and Meta
 * by the counterpart. Reads what it needs in three queries for the whole batch.
 * @returns the new conversations to insert
 */
async function threadAll(scope: TenantScope, channel: ChannelRow, placed: Placed[]) {
  const orgId = scope.ctx.orgId;
  const email = !(channel.kind === 'sms' || isMetaKind(channel.kind));
  const created: (Thread & { counterpart: string; contactId: string | null })[] = [];
  /** Per counterpart: its conversations, the most recently active first. */
  const byCounterpart = new Map<string, Thread[]>();
  const counterparts = [...new Set(placed.map((p) => p.counterpart))];
  if (!email) {
    const { rows } = await scope.conn.query<Thread & { counterpart: string }>(
      `select distinct on (counterpart) counterpart, id, subject from conversations
        where org_id = $1 and channel_id = $2 and counterpart = any($3::text[])
        order by counterpart, last_message_at desc`,
      [orgId, channel.id, counterparts],
    );
    for (const r of rows) byCounterpart.set(r.counterpart, [r]);
  } else {
    const { rows } = await scope.conn.query<Thread & { counterpart: string }>(
      `select k.counterpart, v.id, v.subject
         from unnest($3::text[]) as k(counterpart)
         cross join lateral (
           select id, subject from conversations
            where org_id = $1 and channel_id = $2 and counterpart = k.counterpart
              and last_message_at > now() - make_interval(days => $4)
            order by last_message_at desc limit $5) v`,
      [orgId, channel.id, counterparts, SUBJECT_THREAD_DAYS, SUBJECT_CANDIDATES],
    );
    for (const r of rows)
      byCounterpart.set(r.counterpart, [
        ...(byCounterpart.get(r.counterpart) ?? []),
        { id: r.id, subject: r.subject },
      ]);
  }
  /** Message-ID -> its thread, its recency (stored messages by creation, this batch's after them). */
  const known = new Map<
    string,
    { conversationId: string; counterpart: string; subject: string | null; rank: number }
  >();
  if (email) {
    const refs = [...new Set(placed.flatMap((p) => [p.message.inReplyTo, ...p.message.references]))].filter(
      (r): r is string => !!r,
    );
    if (refs.length) {
      const { rows } = await scope.conn.query<{
        message_id: string;
        conversation_id: string;
        counterpart: string;
        subject: string | null;
        rank: number;
      }>(
        `select m.message_id, m.conversation_id, v.counterpart, v.subject,
                extract(epoch from m.created_at)::float8 as rank
           from messages m join conversations v on v.org_id = m.org_id and v.id = m.conversation_id
          where m.org_id = $1 and m.channel_id = $2 and m.message_id = any($3::text[])`,
        [orgId, channel.id, refs],
      );
      for (const r of rows) known.set(r.message_id, { ...r, conversationId: r.conversation_id });
    }
  }
  const touch = (counterpart: string, thread: Thread) => {
    const list = (byCounterpart.get(counterpart) ?? []).filter((t) => t.id !== thread.id);
    byCounterpart.set(counterpart, [thread, ...list].slice(0, SUBJECT_CANDIDATES));
  };
  for (const p of placed) {
    let thread: (Thread & { counterpart: string }) | null = null;
    if (email) {
      let best = -Infinity;
      for (const ref of [p.message.inReplyTo, ...p.message.references]) {
        const k = ref ? known.get(ref) : undefined;
        if (k && k.rank > best) {
          best = k.rank;
          thread = { id: k.conversationId, subject: k.subject, counterpart: k.counterpart };
        }
      }
      const base = baseSubject(p.message.subject);
      if (!thread && base) {
        const same = byCounterpart.get(p.counterpart)?.find((t) => baseSubject(t.subject) === base);
        if (same) thread = { ...same, counterpart: p.counterpart };
      }
    } else {
      const last = byCounterpart.get(p.counterpart)?.[0];
      if (last) thread = { ...last, counterpart: p.counterpart };
    }
    if (!thread) {
      thread = { id: newId(), subject: clean(p.message.subject), counterpart: p.counterpart };
      created.push({ ...thread, contactId: p.contact?.id ?? null });
    }
    p.conversationId = thread.id;
    touch(thread.counterpart, thread);
    if (email)
      known.set(p.message.messageId, {
        conversationId: thread.id,
        counterpart: thread.counterpart,
        subject: thread.subject,
        rank: Number.MAX_SAFE_INTEGER - placed.length + p.ord,
      });
  }
  return created;
}

/**
 * Stores a batch of incoming (or, in a synced mailbox, sent) messages in the caller's tenant
 * transaction, set-based: threaded (`threadAll`), matched to contacts, one event each (on the
 * contact's timeline, in one insert), the conversations' previews and unread counts brought up
 * to date, the inbox streams told once. A message already stored (same Message-ID on this
 * channel, or earlier in the batch) is left alone.
 * @returns per message, in the given order, the new message's id or null for a duplicate
 */
export async function ingestMessages(
  services: Services,
  scope: TenantScope,
  channel: ChannelRow,
  batch: Inbound[],
): Promise<(string | null)[]> {
  const orgId = scope.ctx.orgId;
  const result: (string | null)[] = batch.map(() => null);
  const firstOf = new Map<string, number>();
  batch.forEach((m, i) => {
    if (!firstOf.has(m.messageId)) firstOf.set(m.messageId, i);
  });
  const { rows: seen } = await scope.conn.query<{ message_id: string }>(
    `select message_id from messages where org_id = $1 and channel_id = $2 and message_id = any($3::text[])`,
    [orgId, channel.id, [...firstOf.keys()]],
  );
  for (const r of seen) firstOf.delete(r.message_id);
  if (firstOf.size === 0) return result;
  const placed: Placed[] = [...firstOf.values()].map((i, ord) => {
    const message = batch[i]!;
    const outgoing = message.from === channel.address;
    return {
      message,
      ord,
      id: newId(),
      outgoing,
      counterpart: (outgoing ? message.to[0] : message.from) ?? message.from,
      contact: null,
      conversationId: '',
    };
  });
  const contacts = await contactsOf(scope, channel, [...new Set(placed.map((p) => p.counterpart))]);
  for (const p of placed) p.contact = contacts.get(p.counterpart) ?? null;
  const created = await threadAll(scope, channel, placed);
  if (created.length)
    await scope.conn.query(
      `insert into conversations (org_id, id, channel_id, contact_id, counterpart, subject)
       select $1, x.id, $2, x.contact_id, x.counterpart, x.subject
         from jsonb_to_recordset($3::jsonb) as x(id uuid, contact_id uuid, counterpart text, subject text)`,
      [
        orgId,
        channel.id,
        JSON.stringify(
          created.map((c) => ({
            id: c.id,
            contact_id: c.contactId,
            counterpart: c.counterpart,
            subject: c.subject,
          })),
        ),
      ],
    );
  const { rows: inserted } = await scope.conn.query<{ id: string }>(
    `insert into messages (org_id, id, conversation_id, channel_id, direction, message_id, in_reply_to, "references",
        from_address, to_addresses, subject, text, html, attachments, status, provider_id, sent_at, created_at)
     select $1, x.id, x.conversation_id, $2, x.direction, x.message_id, x.in_reply_to, x.refs, x.from_address,
            x.to_addresses, x.subject, x.text, x.html, x.attachments, x.status, x.provider_id, x.sent_at,
            clock_timestamp() + x.ord * interval '1 microsecond'
       from jsonb_to_recordset($3::jsonb) as x(ord int, id uuid, conversation_id uuid, direction text,
            message_id text, in_reply_to text, refs text[], from_address text, to_addresses text[], subject text,
            text text, html text, attachments jsonb, status text, provider_id text, sent_at timestamptz)
      order by x.ord
     on conflict (org_id, channel_id, message_id) do nothing
     returning id`,
    [
      orgId,
      channel.id,
      JSON.stringify(
        placed.map(({ message: m, ord, id, outgoing, conversationId }) => ({
          ord,
          id,
          conversation_id: conversationId,
          direction: outgoing ? 'out' : 'in',
          message_id: clean(m.messageId),
          in_reply_to: clean(m.inReplyTo),
          refs: m.references.map(clean),
          from_address: clean(m.from),
          to_addresses: m.to.map(clean),
          subject: clean(m.subject),
          text: clean(m.text),
          html: clean(m.html),
          attachments: m.attachments,
          status: outgoing ? 'sent' : 'received',
          provider_id: m.providerId ?? null,
          sent_at: m.date && !Number.isNaN(m.date.getTime()) ? m.date.toISOString() : null,
        })),
      ),
    ],
  );
  // Another sync of the same mailbox may have stored some of them meanwhile: those are its.
  const stored = new Set(inserted.map((r) => r.id));
  const kept = placed.filter((p) => stored.has(p.id));
  if (kept.length < placed.length && created.length)
    await scope.conn.query(
      `delete from conversations v where v.org_id = $1 and v.id = any($2::uuid[])
          and not exists (select 1 from messages m where m.org_id = v.org_id and m.conversation_id = v.id)`,
      [orgId, created.map((c) => c.id)],
    );
  if (kept.length === 0) return result;
  for (const p of kept)
    if (p.message.reports?.length)
      await recordDeliveryReports(services, scope, channel, p.message.messageId, p.message.reports);
  // Per conversation: the last message's preview, the incoming ones counted unread.
  const touched = new Map<
    string,
    { id: string; preview: string; unread: number; contact_id: string | null }
  >();
  for (const p of kept) {
    const t = touched.get(p.conversationId) ?? {
      id: p.conversationId,
      preview: '',
      unread: 0,
      contact_id: null,
    };
    t.preview = clean(previewOf(p.message.text || p.message.subject || '')) ?? '';
    t.unread += p.outgoing ? 0 : 1;
    t.contact_id ??= p.contact?.id ?? null;
    touched.set(p.conversationId, t);
  }
  await scope.conn.query(
    `update conversations v
        set last_message_at = clock_timestamp(), last_preview = x.preview, updated_at = clock_timestamp(),
            unread_count = v.unread_count + x.unread, status = case when x.unread > 0 then 'open' else v.status end,
            contact_id = coalesce(v.contact_id, x.contact_id)
       from jsonb_to_recordset($2::jsonb) as x(id uuid, preview text, unread int, contact_id uuid)
      where v.org_id = $1 and v.id = x.id`,
    // In id order, so two transactions touching the same conversations lock them in one order.
    [orgId, JSON.stringify([...touched.values()].sort((a, b) => (a.id < b.id ? -1 : 1)))],
  );
  await announceInbox(scope.conn, orgId);
  await emitEvents(
    scope,
    services.jobs,
    kept.map(({ message, outgoing, contact, conversationId, counterpart, id }): NewEvent => {
      const preview = clean(previewOf(message.text || message.subject || '')) ?? '';
      return {
        type: outgoing ? 'message.sent' : 'message.received',
        subject: contact
          ? { object: 'contact', id: contact.id }
          : { object: 'conversation', id: conversationId },
        related: contact ? [{ object: 'conversation', id: conversationId }] : [],
        data: {
          name: contact?.name ?? (contact ? null : counterpart),
          conversation_id: conversationId,
          message_id: id,
          channel_id: channel.id,
          channel_kind: channel.kind as ChannelKind,
          subject: clean(message.subject),
          preview,
        },
      };
    }),
  );
  const indexOf = new Map([...firstOf.entries()]);
  for (const p of kept) result[indexOf.get(p.message.messageId)!] = p.id;
  return result;
}

/**
 * Stores one incoming message in the caller's tenant transaction (`ingestMessages` with one).
 * @returns the new message's id, or null for a duplicate
 */
export async function ingestMessage(
  services: Services,
  scope: TenantScope,
  channel: ChannelRow,
  message: Inbound,
): Promise<string | null> {
  return (await ingestMessages(services, scope, channel, [message]))[0] ?? null;
}
