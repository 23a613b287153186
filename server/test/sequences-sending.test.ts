import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendMessages } from '../src/modules/conversations/send-batch.service.js';
import { runTick } from '../src/modules/sequences/sequence-runner.service.js';
import { expectProblem, expectStatus, signUp, startTestApp, type TestApp } from './kit/index.js';

// Sending at volume (issue 25): the send jobs of a fetch are one batch (one claim, the pooled SMTP
// connections, one record with the batch's events), and a sequence step can take its text from
// the organization's message templates.

type Received = { to: string; raw: string };
let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let other: Awaited<ReturnType<typeof signUp>>;
let smtp: SMTPServer;
let port = 0;
const received: Received[] = [];
const ALWAYS = { days: [1, 2, 3, 4, 5, 6, 7], start: '00:00', end: '23:59' };

beforeAll(async () => {
  smtp = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      // A mailbox that does not exist (permanent), and one whose server is busy (passing).
      if (address.address.startsWith('gone'))
        return callback(Object.assign(new Error('No such user'), { responseCode: 550 }));
      if (address.address.startsWith('busy'))
        return callback(Object.assign(new Error('Try again later'), { responseCode: 451 }));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        for (const r of session.envelope.rcptTo) received.push({ to: r.address, raw });
        callback();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  port = (smtp.server.address() as AddressInfo).port;
  t = await startTestApp();
  admin = await signUp(t, 'Batch sender');
  other = await signUp(t, 'Other sender');
}, 240_000);
afterAll(async () => {
  await t?.close();
  await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()));
});

const mailboxOf = async (client: typeof admin.client, address: string) =>
  expectStatus<{ id: string }>(
    await client.post('/api/v1/channels', {
      kind: 'email',
      name: 'Sales',
      address,
      smtp: { host: '127.0.0.1', port, secure: false, user: null },
    }),
    201,
  ).id;

const addContacts = async (orgId: string, userId: string, prefix: string, addresses: string[]) => {
  await t.services.database.raw.query(
    `with ins as (
       insert into contacts (org_id, first_name, last_name, owner_id, email, emails, tags)
       select $1, 'P' || g.n, 'Last', $2, g.a,
              jsonb_build_array(jsonb_build_object('value', g.a, 'primary', true)), array[$3]
         from unnest($4::text[]) with ordinality as g(a, n)
       returning org_id, id, email)
     insert into contact_emails (org_id, contact_id, email, active) select org_id, id, email, true from ins`,
    [orgId, userId, prefix, addresses],
  );
};

describe('the send batch', () => {
  it('sends a tick of 120 e-mails in batches: each once, one event each, a bounce failed, a busy server retried, a late suppression not sent', async () => {
    const mailbox = await mailboxOf(admin.client, 'sales@batch.test');
    const addresses = [
      ...Array.from({ length: 117 }, (_, i) => `p${i}@batch.example`),
      'gone@batch.example',
      'busy@batch.example',
      'late@batch.example',
    ];
    await addContacts(admin.orgId, admin.userId, 'batch', addresses);
    const sequence = expectStatus<{ id: string }>(
      await admin.client.post('/api/v1/sequences', {
        name: 'Batch',
        channel_id: mailbox,
        settings: { time_zone: 'UTC', window: ALWAYS, hourly_limit: 0, daily_limit: 0 },
        steps: [
          { type: 'EMAIL', subject: 'Hi {{contact.first_name}}', body: 'Hello {{contact.first_name}}' },
        ],
      }),
      201,
    );
    expect(
      expectStatus<{ enrolled: number }>(
        await admin.client.post(`/api/v1/sequences/${sequence.id}/enrollments`, {
          filter: { field: 'tags', op: 'hasAny', value: ['batch'] },
        }),
        200,
      ).enrolled,
    ).toBe(120);
    await runTick(t.services, admin.orgId);
    // Unsubscribed after the step was queued: the send checks again and does not send.
    expectStatus(
      await admin.client.post('/api/v1/suppressions', {
        channel_kind: 'email',
        address: 'late@batch.example',
      }),
      201,
    );
    await t.drain();

    const counts = new Map<string, number>();
    for (const r of received) counts.set(r.to, (counts.get(r.to) ?? 0) + 1);
    expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
    expect(counts.size).toBe(117);
    expect(counts.has('late@batch.example')).toBe(false);
    expect(received.find((r) => r.to === 'p7@batch.example')!.raw).toContain('Hello P8');

    const db = t.services.database.raw;
    const { rows } = await db.query<{ to: string; status: string; error: string | null; attempts: number }>(
      `select to_addresses[1] as to, status, error, attempts from messages
        where org_id = $1 and channel_id = $2 and direction = 'out'`,
      [admin.orgId, mailbox],
    );
    const byTo = new Map(rows.map((r) => [r.to, r]));
    expect(rows.filter((r) => r.status === 'sent')).toHaveLength(117);
    expect(byTo.get('gone@batch.example')).toMatchObject({ status: 'failed', attempts: 1 });
    expect(byTo.get('gone@batch.example')!.error).toMatch(/No such user/);
    expect(byTo.get('late@batch.example')).toMatchObject({ status: 'failed' });
    expect(byTo.get('late@batch.example')!.error).toMatch(/^recipient_suppressed/);
    // 451: queued again with its retry job (30 s later), not failed.
    expect(byTo.get('busy@batch.example')).toMatchObject({ status: 'queued', attempts: 1 });
    expect(byTo.get('busy@batch.example')!.error).toMatch(/Try again later/);

    // One event per settled message, about its contact.
    const { rows: events } = await db.query<{ type: string; n: number; subjects: number }>(
      `select type, count(*)::int as n, count(distinct subject_id)::int as subjects from events
        where org_id = $1 and type in ('message.sent', 'message.failed') group by 1 order by 1`,
      [admin.orgId],
    );
    expect(events).toEqual([
      { type: 'message.failed', n: 2, subjects: 2 },
      { type: 'message.sent', n: 117, subjects: 117 },
    ]);

    // The same jobs again (a batch fetched twice): nothing is sent twice, no event is added.
    const ids = rows.map((r) => r.to);
    expect(ids).toHaveLength(120);
    const { rows: all } = await db.query<{ id: string }>(
      `select id from messages where org_id = $1 and channel_id = $2`,
      [admin.orgId, mailbox],
    );
    const before = received.length;
    await Promise.all([
      sendMessages(
        t.services,
        all.map((m) => ({ org_id: admin.orgId, message_id: m.id })),
      ),
      sendMessages(
        t.services,
        all.map((m) => ({ org_id: admin.orgId, message_id: m.id })),
      ),
    ]);
    // Only the busy one was still queued: tried once more (and queued again).
    expect(received.length).toBe(before);
    const { rows: after } = await db.query<{ n: number }>(
      `select count(*)::int as n from events where org_id = $1 and type in ('message.sent', 'message.failed')`,
      [admin.orgId],
    );
    expect(after[0]!.n).toBe(119);
  }, 120_000);
});

describe('a sequence step from a message template', () => {
  it('sends the template rendered with the contact’s variables (short forms and company too), and the step’s own text once it is deleted', async () => {
    const mailbox = await mailboxOf(admin.client, 'reps@batch.test');
    const template = expectStatus<{ id: string }>(
      await admin.client.post('/api/v1/message-templates', {
        name: 'Intro',
        kind: 'email',
        subject: 'A note for {{first_name}}',
        body: 'Hi {{first_name}} at {{company}}, {{sender.name}} here.',
      }),
      201,
    );
    const company = expectStatus<{ id: string }>(
      await admin.client.post('/api/v1/companies', { name: 'Acme Rockets' }),
      201,
    );
    const contact = expectStatus<{ id: string }>(
      await admin.client.post('/api/v1/contacts', {
        first_name: 'Tia',
        emails: [{ value: 'tia@templated.example' }],
        companies: [{ id: company.id, primary: true }],
      }),
      201,
    );
    const sequence = expectStatus<{ id: string; steps: { template_id?: string }[] }>(
      await admin.client.post('/api/v1/sequences', {
        name: 'Templated',
        channel_id: mailbox,
        settings: { time_zone: 'UTC', window: ALWAYS, hourly_limit: 0, daily_limit: 0 },
        steps: [
          { type: 'EMAIL', template_id: template.id },
          { type: 'WAIT', days: 1 },
          {
            type: 'EMAIL',
            template_id: template.id,
            subject: 'Fallback',
            body: 'Our own words, {{contact.first_name}}',
          },
        ],
      }),
      201,
    );
    expect(sequence.steps.map((s) => s.template_id)).toEqual([template.id, undefined, template.id]);
    expectStatus(
      await admin.client.post(`/api/v1/sequences/${sequence.id}/enrollments`, { contact_ids: [contact.id] }),
      200,
    );
    await runTick(t.services, admin.orgId);
    await t.drain();
    const first = received.filter((r) => r.to === 'tia@templated.example');
    expect(first).toHaveLength(1);
    expect(first[0]!.raw).toContain('Subject: A note for Tia');
    expect(first[0]!.raw).toContain('Hi Tia at Acme Rockets, Sales here.');

    // The template deleted: the second step sends its own text (in the same thread).
    expectStatus(await admin.client.delete(`/api/v1/message-templates/${template.id}`), 204);
    // A day later (the WAIT): its time passed a second ago. (`now()` itself could fall in the same
    // millisecond as the tick's clock, but microseconds after it, and not be due yet.)
    await t.services.database.raw.query(
      `update sequence_enrollments set next_run_at = now() - interval '1 second' where org_id = $1 and sequence_id = $2`,
      [admin.orgId, sequence.id],
    );
    await runTick(t.services, admin.orgId);
    await t.drain();
    const both = received.filter((r) => r.to === 'tia@templated.example');
    expect(both).toHaveLength(2);
    expect(both[1]!.raw).toContain('Our own words, Tia');
  }, 60_000);

  it('another organization’s template, a template of the other channel, or one without a subject is refused at the step’s field', async () => {
    const theirs = expectStatus<{ id: string }>(
      await other.client.post('/api/v1/message-templates', { name: 'Theirs', subject: 'S', body: 'B' }),
      201,
    );
    const sms = expectStatus<{ id: string }>(
      await admin.client.post('/api/v1/message-templates', {
        name: 'Text',
        kind: 'sms',
        body: 'Hi {{first_name}}',
      }),
      201,
    );
    const bare = expectStatus<{ id: string }>(
      await admin.client.post('/api/v1/message-templates', {
        name: 'Bare',
        kind: 'email',
        body: 'No subject',
      }),
      201,
    );
    const create = (steps: unknown[]) => admin.client.post('/api/v1/sequences', { name: 'Refused', steps });
    expectProblem(
      await create([
        { type: 'WAIT', days: 1 },
        { type: 'EMAIL', template_id: theirs.id },
      ]),
      422,
      { code: 'reference_not_found', path: 'body.steps[1].template_id' },
    );
    expectProblem(await create([{ type: 'EMAIL', template_id: sms.id }]), 422, {
      code: 'validation_failed',
      path: 'body.steps[0].template_id',
    });
    expectProblem(await create([{ type: 'EMAIL', template_id: bare.id }]), 422, {
      code: 'validation_failed',
      path: 'body.steps[0].subject',
    });
    // An SMS step takes the SMS template; a CALL step takes none.
    const sequence = expectStatus<{ id: string }>(await create([{ type: 'SMS', template_id: sms.id }]), 201);
    expectProblem(
      await admin.client.put(`/api/v1/sequences/${sequence.id}/steps`, {
        steps: [{ type: 'SMS', template_id: theirs.id }],
      }),
      422,
      { code: 'reference_not_found', path: 'body.steps[0].template_id' },
    );
    expectProblem(await create([{ type: 'CALL', template_id: sms.id }]), 400, {
      code: 'validation_failed',
      path: 'body.steps[0].template_id',
    });
    // A channel that is not one of the organization's is refused as a template is: 422 at its field.
    expectProblem(
      await admin.client.post('/api/v1/sequences', { name: 'No mailbox', channel_id: randomUUID() }),
      422,
      { code: 'reference_not_found', path: 'body.channel_id' },
    );
    expectProblem(
      await admin.client.patch(`/api/v1/sequences/${sequence.id}`, { sms_channel_id: randomUUID() }),
      422,
      { code: 'reference_not_found', path: 'body.sms_channel_id' },
    );
  });
});
