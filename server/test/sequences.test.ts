import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendMessage } from '../src/modules/conversations/send-batch.service.js';
import { runTick } from '../src/modules/sequences/sequence-runner.service.js';
import { addDays, nextWindowOpening } from '../src/platform/time/sending-window.js';
import { type Dovecot, startDovecot } from './kit/dovecot.js';
import { expectProblem, expectStatus, SHARED_DATA, signUp, startTestApp, type TestApp } from './kit/index.js';

// Outreach sequences (issue 25) against real parts: Dovecot (IMAP: replies and bounces arrive in
// the synced mailbox), smtp-server (what was sent), a local server speaking Twilio's REST format.

const DATA = existsSync(SHARED_DATA) ? SHARED_DATA : '/work/shared/data/';
const WEEKDAYS = { days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' };

describe('sending windows across daylight-saving changes (luxon)', () => {
  it('US, 2027-03-14: a Friday evening opens Monday 09:00 EDT (13:00Z), not 14:00Z', () => {
    const friday = new Date('2027-03-12T23:30:00Z'); // 18:30 EST
    expect(nextWindowOpening(friday, 'America/New_York', WEEKDAYS)?.toISOString()).toBe(
      '2027-03-15T13:00:00.000Z',
    );
    // The Friday before opened at 09:00 EST (14:00Z).
    expect(
      nextWindowOpening(new Date('2027-03-12T05:00:00Z'), 'America/New_York', WEEKDAYS)?.toISOString(),
    ).toBe('2027-03-12T14:00:00.000Z');
    // A calendar day across the change keeps the wall-clock time: 10:00 EST -> 10:00 EDT.
    expect(
      addDays(new Date('2027-03-13T15:00:00Z'), 1, 'America/New_York', false, WEEKDAYS).toISOString(),
    ).toBe('2027-03-14T14:00:00.000Z');
  });

  it('EU, 2027-03-28: Paris opens 09:00 CEST (07:00Z) after the change, 08:00Z before; business days skip the weekend and holidays', () => {
    expect(nextWindowOpening(new Date('2027-03-26T17:00:00Z'), 'Europe/Paris', WEEKDAYS)?.toISOString()).toBe(
      '2027-03-29T07:00:00.000Z',
    );
    expect(nextWindowOpening(new Date('2027-03-26T06:00:00Z'), 'Europe/Paris', WEEKDAYS)?.toISOString()).toBe(
      '2027-03-26T08:00:00.000Z',
    );
    // Inside the window: now.
    const inside = new Date('2027-03-29T12:00:00Z');
    expect(nextWindowOpening(inside, 'Europe/Paris', WEEKDAYS)?.getTime()).toBe(inside.getTime());
    // Two business days from Friday 10:00 CET = Tuesday 10:00 CEST (Monday is a holiday: Wednesday).
    const friday = new Date('2027-03-26T09:00:00Z');
    expect(addDays(friday, 2, 'Europe/Paris', true, WEEKDAYS).toISOString()).toBe('2027-03-30T08:00:00.000Z');
    expect(addDays(friday, 2, 'Europe/Paris', true, WEEKDAYS, ['2027-03-29']).toISOString()).toBe(
      '2027-03-31T08:00:00.000Z',
    );
    // A window never open.
    expect(nextWindowOpening(friday, 'Europe/Paris', { days: [], start: '09:00', end: '17:00' })).toBeNull();
  });
});

type Received = { to: string[]; raw: string };

async function startSmtp() {
  const received: Received[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          // Headers unfolded (RFC 5322 §2.2.3), so a test reads each on one line.
          raw: Buffer.concat(chunks)
            .toString('utf8')
            .replace(/\r\n[ \t]+/g, ' '),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { received, port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function startTwilio() {
  const sent: URLSearchParams[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      res.setHeader('content-type', 'application/json');
      if (!req.url?.endsWith('/Messages.json')) return res.writeHead(200).end(JSON.stringify({ sid: 'AC1' }));
      sent.push(form);
      res.writeHead(201).end(
        JSON.stringify({
          sid: `SM${String(sent.length).padStart(32, '0')}`,
          status: 'queued',
          to: form.get('To'),
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    sent,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let stranger: Awaited<ReturnType<typeof signUp>>;
let dovecot: Dovecot;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let tw: Awaited<ReturnType<typeof startTwilio>>;
let mailbox: string;
let sms: string;

beforeAll(async () => {
  [dovecot, smtp, tw] = await Promise.all([startDovecot(), startSmtp(), startTwilio()]);
  t = await startTestApp();
  admin = await signUp(t, 'Outreach Co');
  stranger = await signUp(t, 'Elsewhere');
  mailbox = expectStatus(
    await admin.client.post('/api/v1/channels', {
      kind: 'email',
      name: 'Sales',
      address: 'inbox@cairn.test',
      smtp: { host: '127.0.0.1', port: smtp.port, secure: false, user: null },
      imap: {
        host: dovecot.host,
        port: dovecot.port,
        secure: false,
        user: dovecot.user,
        password: dovecot.password,
      },
      sync_days: 7,
    }),
    201,
  ).id;
  sms = expectStatus(
    await admin.client.post('/api/v1/channels', {
      kind: 'sms',
      name: 'Line',
      address: '+1 202 883 1111',
      twilio: { account_sid: 'AC0123456789abcdef0123456789abcdef', auth_token: 'tok-1', api_base: tw.url },
    }),
    201,
  ).id;
}, 60_000);
afterAll(async () => {
  await t?.close();
  await Promise.all([dovecot?.stop(), smtp?.close(), tw?.close()]);
});

const ALWAYS = { days: [1, 2, 3, 4, 5, 6, 7], start: '00:00', end: '23:59' };
const to = (address: string) => smtp.received.filter((r) => r.to.includes(address));

async function contact(first: string, n: number) {
  return expectStatus(
    await admin.client.post('/api/v1/contacts', {
      first_name: first,
      last_name: 'Prospect',
      emails: [{ value: `${first.toLowerCase()}@prospects.example` }],
      phones: [{ number: `+1 415 555 01${String(n).padStart(2, '0')}` }],
      tags: ['outreach'],
    }),
    201,
  ) as { id: string };
}

async function enrollmentsOf(sequenceId: string) {
  const page = expectStatus(
    await admin.client.get(`/api/v1/sequences/${sequenceId}/enrollments?limit=200`),
    200,
  );
  return new Map<
    string,
    { id: string; status: string; exit_reason: string | null; next_run_at: string | null }
  >(page.data.map((e: { contact: { email: string } }) => [e.contact.email, e]));
}

describe('a 5-step EMAIL / WAIT / SMS / CALL / EMAIL sequence', () => {
  let sequence: { id: string; steps: { id: string; type: string }[] };
  const names = ['Ann', 'Bob', 'Cid', 'Dee', 'Eve'];

  it('is built, enrolls from a filter (previewed first), and sends the first e-mail within the window with one-click unsubscribe', async () => {
    for (const [i, n] of names.entries()) await contact(n, i);
    await contact('Zed', 99).then((z) => admin.client.patch(`/api/v1/contacts/${z.id}`, { tags: ['other'] }));
    sequence = expectStatus(
      await admin.client.post('/api/v1/sequences', {
        name: 'Spring outreach',
        channel_id: mailbox,
        sms_channel_id: sms,
        settings: { time_zone: 'America/New_York', window: ALWAYS, hourly_limit: 0, daily_limit: 0 },
        steps: [
          {
            type: 'EMAIL',
            subject: 'Hello {{contact.first_name}}',
            body: 'Hi {{contact.first_name}}, a word from {{sender.name}}.',
            variants: [
              { subject: 'Quick question, {{contact.first_name}}', body: 'Hi {{contact.first_name}}!' },
            ],
          },
          { type: 'WAIT', days: 2, business_days: true },
          { type: 'SMS', body: 'Hi {{contact.first_name}}, did you see my e-mail?' },
          { type: 'CALL', script: 'Ask {{contact.first_name}} about spring plans' },
          { type: 'EMAIL', subject: 'Last note', body: 'Closing the loop, {{contact.first_name}}.' },
        ],
      }),
      201,
    );
    expect(sequence.steps.map((s) => s.type)).toEqual(['EMAIL', 'WAIT', 'SMS', 'CALL', 'EMAIL']);
    expectProblem(
      await admin.client.post('/api/v1/sequences', {
        name: 'x',
        steps: [{ type: 'EMAIL', body: 'no subject' }],
      }),
      400,
      { path: 'body.steps[0].subject' },
    );

    const filter = { field: 'tags', op: 'hasAny', value: ['outreach'] };
    const preview = expectStatus(
      await admin.client.post(`/api/v1/sequences/${sequence.id}/enrollments`, { filter, preview: true }),
      200,
    );
    expect(preview).toEqual({ matched: 5, enrolled: 0, skipped: 0, capped: false });
    const enrolled = expectStatus(
      await admin.client.post(`/api/v1/sequences/${sequence.id}/enrollments`, { filter }),
      200,
    );
    expect(enrolled).toMatchObject({ matched: 5, enrolled: 5 });
    // One active enrollment per contact per sequence.
    const again = expectStatus(
      await admin.client.post(`/api/v1/sequences/${sequence.id}/enrollments`, { filter }),
      200,
    );
    expect(again).toMatchObject({ matched: 5, enrolled: 0, skipped: 5 });

    await t.drain();
    await runTick(t.services, admin.orgId);
    await t.drain();
    for (const n of names) {
      const got = to(`${n.toLowerCase()}@prospects.example`);
      expect(got).toHaveLength(1);
      expect(got[0]!.raw).toMatch(/Subject: (Hello|Quick question,) /);
      expect(got[0]!.raw).toContain(`Hi ${n}`);
      expect(got[0]!.raw).toMatch(/List-Unsubscribe: <http[^>]+\/public\/unsubscribe\/[^>]+>/);
      expect(got[0]!.raw).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
      expect(got[0]!.raw).toMatch(/Message-ID: <seq\.[0-9a-f]{32}\.[0-9a-f]{32}@cairn\.test>/);
    }
    // The WAIT ran next: two business days later, in New York.
    const after = await enrollmentsOf(sequence.id);
    const next = new Date(after.get('ann@prospects.example')!.next_run_at!);
    expect(next.getTime()).toBeGreaterThan(Date.now() + 47 * 3_600_000);
  }, 60_000);

  it('running the tick and the send jobs again sends nothing twice', async () => {
    await Promise.all([runTick(t.services, admin.orgId), runTick(t.services, admin.orgId)]);
    await t.drain();
    const { rows } = await t.services.database.raw.query<{ id: string }>(
      `select id from messages where org_id = $1 and idempotency_key like 'seq:%'`,
      [admin.orgId],
    );
    expect(rows).toHaveLength(5);
    for (const r of rows) await sendMessage(t.services, { org_id: admin.orgId, message_id: r.id });
    expect(smtp.received.filter((r) => r.to[0]!.endsWith('@prospects.example'))).toHaveLength(5);
  });

  it('a reply in the thread, a bounce DSN and a suppression stop the right enrollments', async () => {
    const first = to('ann@prospects.example')[0]!.raw;
    const messageId = /Message-ID: (<[^>]+>)/.exec(first)![1]!;
    await dovecot.append(
      [
        'From: Ann Prospect <ann@prospects.example>',
        'To: inbox@cairn.test',
        'Subject: Re: Hello Ann',
        'Message-ID: <reply-ann@prospects.example>',
        `In-Reply-To: ${messageId}`,
        `References: ${messageId}`,
        `Date: ${new Date().toUTCString()}`,
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Sounds good, call me.',
        '',
      ].join('\r\n'),
    );
    // A real DSN (Fastmail's) about Bob's address.
    const bounce = readFileSync(`${DATA}email/postal-mime-fixtures/bounce.eml`, 'latin1').replaceAll(
      'htfgvhyufthdgcvhgjyfthgc@ethereal.email',
      'bob@prospects.example',
    );
    await dovecot.append(bounce);
    expectStatus(await admin.client.post(`/api/v1/channels/${mailbox}/sync`), 200);
    await t.drain();
    expectStatus(
      await admin.client.post('/api/v1/suppressions', {
        channel_kind: 'email',
        address: 'cid@prospects.example',
      }),
      201,
    );
    expectProblem(
      await admin.client.post('/api/v1/suppressions', { channel_kind: 'domain', address: 'not a domain' }),
      400,
      { path: 'body.address' },
    );

    const e = await enrollmentsOf(sequence.id);
    expect(e.get('ann@prospects.example')).toMatchObject({ status: 'exited', exit_reason: 'replied' });
    expect(e.get('bob@prospects.example')).toMatchObject({ status: 'exited', exit_reason: 'bounced' });
    expect(e.get('dee@prospects.example')).toMatchObject({ status: 'active' });
    const list = expectStatus(await admin.client.get('/api/v1/suppressions?q=bob'), 200);
    expect(list.data).toMatchObject([
      { address: 'bob@prospects.example', reason: 'bounced', channel_kind: 'email' },
    ]);

    // A week later: the rest of the sequence, for those still in it.
    await runTick(t.services, admin.orgId, new Date(Date.now() + 7 * 86_400_000));
    await t.drain();
    const after = await enrollmentsOf(sequence.id);
    expect(after.get('cid@prospects.example')).toMatchObject({ status: 'exited', exit_reason: 'suppressed' });
    expect(to('cid@prospects.example')).toHaveLength(1);
    for (const n of ['dee', 'eve']) {
      expect(after.get(`${n}@prospects.example`)).toMatchObject({ status: 'finished' });
      expect(to(`${n}@prospects.example`)).toHaveLength(2);
    }
    expect(to('ann@prospects.example')).toHaveLength(1);
    // Cid's e-mail is suppressed, not his number: his text was queued and his call became a task,
    // but the last e-mail ended his enrollment before the text went out, which cancelled it.
    expect(tw.sent.map((f) => f.get('Body')).sort()).toEqual([
      'Hi Dee, did you see my e-mail?',
      'Hi Eve, did you see my e-mail?',
    ]);
    const tasks = expectStatus(await admin.client.get('/api/v1/tasks?limit=50'), 200);
    const calls = tasks.data.filter((x: { title: string }) => x.title.startsWith('Call '));
    expect(calls.map((x: { title: string }) => x.title).sort()).toEqual([
      'Call Cid Prospect',
      'Call Dee Prospect',
      'Call Eve Prospect',
    ]);
    expect(calls[0].description).toMatch(/Ask (Cid|Dee|Eve) about spring plans/);

    const stats = expectStatus(await admin.client.get(`/api/v1/sequences/${sequence.id}/analytics`), 200);
    expect(stats).toMatchObject({
      enrolled: 5,
      finished: 2,
      exited: 3,
      replied: 1,
      bounced: 1,
      sent: 9,
      tasks: 3,
    });
    expect(stats.exit_reasons).toMatchObject({ replied: 1, bounced: 1, suppressed: 1 });
    const firstStep = stats.steps[0];
    expect(firstStep.sent).toBe(5);
    expect(firstStep.variants.reduce((n: number, v: { sent: number }) => n + v.sent, 0)).toBe(5);
    expect(stats.steps[2]).toMatchObject({ type: 'SMS', sent: 2 });
  }, 60_000);
});

describe('windows, unsubscribe, consent, isolation', () => {
  it('holds a send until the window opens in the contact’s zone', async () => {
    const c = await contact('Fay', 50);
    const now = new Date();
    const js = (now.getUTCDay() + 1) % 7;
    const tomorrow = js === 0 ? 7 : js; // ISO weekday of tomorrow (UTC)
    const s = expectStatus(
      await admin.client.post('/api/v1/sequences', {
        name: 'Tomorrow only',
        channel_id: mailbox,
        settings: { time_zone: 'UTC', window: { days: [tomorrow], start: '10:00', end: '11:00' } },
        steps: [{ type: 'EMAIL', subject: 'Hi', body: 'Hello' }],
      }),
      201,
    );
    expectStatus(
      await admin.client.post(`/api/v1/sequences/${s.id}/enrollments`, { contact_ids: [c.id] }),
      200,
    );
    await runTick(t.services, admin.orgId, now);
    await t.drain();
    expect(to('fay@prospects.example')).toHaveLength(0);
    const e = (await enrollmentsOf(s.id)).get('fay@prospects.example')!;
    const at = new Date(e.next_run_at!);
    expect(at.getUTCHours()).toBe(10);
    expect(at.getTime()).toBeGreaterThan(now.getTime());
    expect(at.getTime() - now.getTime()).toBeLessThan(2 * 86_400_000);
  });

  it('unsubscribes with RFC 8058 one-click: suppressed, consent withdrawn, every enrollment ended', async () => {
    const c = await contact('Gus', 60);
    const s = expectStatus(
      await admin.client.post('/api/v1/sequences', {
        name: 'Newsletter-ish',
        channel_id: mailbox,
        settings: { window: ALWAYS },
        steps: [
          { type: 'EMAIL', subject: 'One', body: 'First' },
          { type: 'WAIT', days: 1 },
          { type: 'EMAIL', subject: 'Two', body: 'Second' },
        ],
      }),
      201,
    );
    expectStatus(
      await admin.client.post(`/api/v1/sequences/${s.id}/enrollments`, { contact_ids: [c.id] }),
      200,
    );
    await runTick(t.services, admin.orgId);
    await t.drain();
    const raw = to('gus@prospects.example')[0]!.raw;
    const url = /List-Unsubscribe: <([^>]+)>/.exec(raw)![1]!;
    const path = new URL(url).pathname;
    const page = await t.app.inject({ method: 'GET', url: path });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<form method="post">');
    const forged = await t.app.inject({ method: 'GET', url: `${path.slice(0, -3)}AAA` });
    expect(forged.statusCode).toBe(404);
    const done = await t.app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(done.statusCode).toBe(200);
    await t.drain();
    expect((await enrollmentsOf(s.id)).get('gus@prospects.example')).toMatchObject({
      status: 'exited',
      exit_reason: 'unsubscribed',
    });
    const consents = expectStatus(
      await admin.client.get(`/api/v1/consents?object=contact&record_id=${c.id}`),
      200,
    );
    expect(consents.data[0]).toMatchObject({ channel: 'email', status: 'withdrawn' });
    expect(consents.data[0].proof.one_click).toBe(true);
    const supp = expectStatus(await admin.client.get('/api/v1/suppressions?q=gus'), 200);
    expect(supp.data[0]).toMatchObject({ reason: 'unsubscribed' });
  });

  it('a withdrawn consent stops the send; a required consent must be granted', async () => {
    const c = await contact('Hal', 70);
    expectStatus(
      await admin.client.post('/api/v1/consents', {
        contact_id: c.id,
        channel: 'email',
        purpose: 'marketing',
        status: 'withdrawn',
        source: 'phone call',
        proof: { note: 'asked on the phone' },
      }),
      201,
    );
    expectProblem(
      await admin.client.post('/api/v1/consents', {
        contact_id: c.id,
        channel: 'fax',
        purpose: 'marketing',
        status: 'granted',
        source: 'x',
      }),
      400,
      { path: 'body.channel' },
    );
    const s = expectStatus(
      await admin.client.post('/api/v1/sequences', {
        name: 'Consent check',
        channel_id: mailbox,
        settings: { window: ALWAYS },
        steps: [{ type: 'EMAIL', subject: 'Hi', body: 'Hello' }],
      }),
      201,
    );
    expectStatus(
      await admin.client.post(`/api/v1/sequences/${s.id}/enrollments`, { contact_ids: [c.id] }),
      200,
    );
    await runTick(t.services, admin.orgId);
    await t.drain();
    expect(to('hal@prospects.example')).toHaveLength(0);
    expect((await enrollmentsOf(s.id)).get('hal@prospects.example')).toMatchObject({
      exit_reason: 'unsubscribed',
    });
  });

  it('pauses, resumes and removes; another organization sees 404s', async () => {
    const c = await contact('Ivy', 80);
    const s = expectStatus(
      await admin.client.post('/api/v1/sequences', {
        name: 'Manual',
        settings: { window: ALWAYS },
        steps: [{ type: 'LINKEDIN', action: 'connect' }],
      }),
      201,
    );
    expectStatus(
      await admin.client.post(`/api/v1/sequences/${s.id}/enrollments`, { contact_ids: [c.id] }),
      200,
    );
    const e = (await enrollmentsOf(s.id)).get('ivy@prospects.example')!;
    expect(
      expectStatus(await admin.client.post(`/api/v1/sequence-enrollments/${e.id}/pause`), 200).status,
    ).toBe('paused');
    expectProblem(
      await admin.client.post(`/api/v1/sequence-enrollments/${e.id}/pause`),
      409,
      'invalid_state',
    );
    await runTick(t.services, admin.orgId);
    expect((await enrollmentsOf(s.id)).get('ivy@prospects.example')).toMatchObject({
      status: 'paused',
      step_index: 0,
    });
    expectStatus(await admin.client.post(`/api/v1/sequence-enrollments/${e.id}/resume`), 200);
    await runTick(t.services, admin.orgId);
    expect((await enrollmentsOf(s.id)).get('ivy@prospects.example')).toMatchObject({ status: 'finished' });
    const tasks = expectStatus(await admin.client.get('/api/v1/tasks?limit=50'), 200);
    expect(tasks.data.some((x: { title: string }) => x.title === 'LinkedIn: connect Ivy Prospect')).toBe(
      true,
    );

    expectProblem(await stranger.client.get(`/api/v1/sequences/${s.id}`), 404, 'not_found');
    expectProblem(await stranger.client.post(`/api/v1/sequence-enrollments/${e.id}/pause`), 404, 'not_found');
    expectProblem(
      await stranger.client.post(`/api/v1/sequences/${s.id}/enrollments`, { contact_ids: [c.id] }),
      404,
      'not_found',
    );
    expect(expectStatus(await stranger.client.get('/api/v1/sequences'), 200).data).toEqual([]);
    expectStatus(await admin.client.delete(`/api/v1/sequences/${s.id}`), 204);
    expectProblem(await admin.client.get(`/api/v1/sequences/${s.id}`), 404, 'not_found');
  });
});

describe('who sends, the enrollments list, and a send left by a dead worker', () => {
  const one = (steps = 1) => ({
    name: `One e-mail ${Math.random()}`,
    channel_id: mailbox,
    settings: { window: ALWAYS, hourly_limit: 0, daily_limit: 0 },
    steps: Array.from({ length: steps }, () => ({
      type: 'EMAIL',
      subject: 'Hi {{contact.first_name}}',
      body: 'From {{sender.email}}',
    })),
  });
  let alt: string;

  it('an enrollment names the mailbox that sends (the organization’s own e-mail channel), listed newest first', async () => {
    alt = expectStatus(
      await admin.client.post('/api/v1/channels', {
        kind: 'email',
        name: 'Alt',
        address: 'alt@cairn.test',
        smtp: { host: '127.0.0.1', port: smtp.port, secure: false, user: null },
      }),
      201,
    ).id;
    const theirs = expectStatus(
      await stranger.client.post('/api/v1/channels', {
        kind: 'email',
        name: 'Theirs',
        address: 'theirs@elsewhere.test',
        smtp: { host: '127.0.0.1', port: smtp.port, secure: false, user: null },
      }),
      201,
    ).id;
    const s = expectStatus(await admin.client.post('/api/v1/sequences', one()), 201);
    const jon = await contact('Jon', 60);
    const kay = await contact('Kay', 61);
    // Another tenant's mailbox, or a channel that is no mailbox: 404 at the field.
    for (const channel_id of [theirs, sms])
      expectProblem(
        await admin.client.post(`/api/v1/sequences/${s.id}/enrollments`, {
          contact_ids: [jon.id],
          channel_id,
        }),
        404,
        { code: 'not_found', path: 'body.channel_id' },
      );
    expectStatus(
      await admin.client.post(`/api/v1/sequences/${s.id}/enrollments`, {
        contact_ids: [jon.id],
        channel_id: alt,
      }),
      200,
    );
    expectStatus(
      await admin.client.post(`/api/v1/sequences/${s.id}/enrollments`, { contact_ids: [kay.id] }),
      200,
    );
    await runTick(t.services, admin.orgId);
    await t.drain();
    const jons = to('jon@prospects.example');
    expect(jons).toHaveLength(1);
    expect(jons[0]!.raw).toMatch(/From: .*alt@cairn\.test/);
    expect(jons[0]!.raw).toContain('From alt@cairn.test');
    const kays = to('kay@prospects.example');
    expect(kays).toHaveLength(1);
    expect(kays[0]!.raw).toMatch(/From: .*inbox@cairn\.test/);

    // Newest first, one a page.
    const first = expectStatus(await admin.client.get(`/api/v1/sequences/${s.id}/enrollments?limit=1`), 200);
    expect(first.data.map((e: { contact: { email: string } }) => e.contact.email)).toEqual([
      'kay@prospects.example',
    ]);
    expect(first.data[0].channel_id).toBeNull();
    const second = expectStatus(
      await admin.client.get(`/api/v1/sequences/${s.id}/enrollments?limit=1&cursor=${first.next_cursor}`),
      200,
    );
    expect(second.data.map((e: { contact: { email: string } }) => e.contact.email)).toEqual([
      'jon@prospects.example',
    ]);
    expect(second.data[0].channel_id).toBe(alt);
    expect(second.next_cursor).toBeNull();
    expectProblem(await admin.client.get(`/api/v1/sequences/${s.id}/enrollments?cursor=bm9wZQ`), 400, {
      path: 'query.cursor',
    });
  });

  it('a message left `sending` by a dead worker is settled by the mailbox’s sent copy, or left to a person', async () => {
    await dovecot.create('Sent');
    const s = expectStatus(await admin.client.post('/api/v1/sequences', one()), 201);
    const people = [await contact('Lee', 62), await contact('Mo', 63), await contact('Ned', 64)];
    for (const [i, p] of people.entries())
      expectStatus(
        await admin.client.post(`/api/v1/sequences/${s.id}/enrollments`, {
          contact_ids: [p.id],
          ...(i === 2 ? { channel_id: alt } : {}),
        }),
        200,
      );
    await runTick(t.services, admin.orgId);
    // As a worker killed mid-send leaves them: claimed two minutes ago (past the lease), not sent.
    const { rows } = await t.services.database.raw.query<{ id: string; message_id: string; to: string }>(
      `update messages m set status = 'sending', claimed_at = now() - interval '2 minutes', attempts = 1
         from sequence_step_runs r
        where r.org_id = m.org_id and r.message_id = m.id and r.sequence_id = $1 and m.status = 'queued'
        returning m.id, m.message_id, m.to_addresses[1] as to`,
      [s.id],
    );
    expect(rows).toHaveLength(3);
    const mo = rows.find((r) => r.to === 'mo@prospects.example')!;
    // Mo's reached the server before the worker died: its sent copy is in the mailbox.
    await dovecot.append(
      `From: inbox@cairn.test\r\nTo: mo@prospects.example\r\nSubject: Hi Mo\r\nMessage-ID: ${mo.message_id}\r\n\r\nFrom inbox@cairn.test\r\n`,
      'Sent',
    );
    for (const r of rows) await sendMessage(t.services, { org_id: admin.orgId, message_id: r.id });
    await t.drain();
    // Lee's never arrived: sent now, once. Mo's is marked sent, not sent again.
    expect(to('lee@prospects.example')).toHaveLength(1);
    expect(to('mo@prospects.example')).toHaveLength(0);
    // Ned's mailbox keeps no sent copy: failed, in doubt, for a person to decide (Retry).
    expect(to('ned@prospects.example')).toHaveLength(0);
    const status = async (id: string) =>
      (
        await t.services.database.raw.query<{ status: string; error: string | null }>(
          'select status, error from messages where id = $1',
          [id],
        )
      ).rows[0]!;
    for (const r of rows.filter((x) => x.to !== 'ned@prospects.example'))
      expect(await status(r.id)).toMatchObject({ status: 'sent', error: null });
    const ned = await status(rows.find((r) => r.to === 'ned@prospects.example')!.id);
    expect(ned.status).toBe('failed');
    expect(ned.error).toMatch(/^in_doubt: /);
  }, 60_000);
});
