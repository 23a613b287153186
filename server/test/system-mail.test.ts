import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  expectProblem,
  expectStatus,
  PASSWORD,
  signUp,
  startTestApp,
  type TestApp,
  uniqueEmail,
} from './kit/index.js';

type Received = { to: string[]; raw: string };

/** A real SMTP server (nodemailer's smtp-server) in this process, keeping what it receives. */
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
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    received,
    url: `smtp://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The body of a received message, quoted-printable decoded. */
const bodyOf = (raw: string) =>
  raw
    .slice(raw.indexOf('\r\n\r\n') + 4)
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));

async function waitFor<T>(what: () => T | undefined, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = what();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('system e-mail through SMTP (SMTP_URL)', () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let t: TestApp;
  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({ SMTP_URL: smtp.url, MAIL_FROM: 'Cairn <no-reply@cairn.test>' });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('sends a reset link that works once, for an hour, and signs out every session', async () => {
    const admin = await signUp(t, 'Mailed');
    const member = await addMember(t, admin.client, 'user');
    const stranger = uniqueEmail('nobody');
    const known = await t.client().post('/api/v1/password/forgot', { email: member.email });
    const unknown = await t.client().post('/api/v1/password/forgot', { email: stranger });
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(unknown.body).toEqual(known.body);

    const mail = await waitFor(() =>
      smtp.received.find((m) => m.to.includes(member.email) && m.raw.includes('Subject: Reset')),
    );
    expect(mail.raw).toMatch(/^From: Cairn <no-reply@cairn\.test>/m);
    expect(mail.raw).toMatch(/^Subject: Reset your Cairn password/m);
    const link = /http:\/\/cairn\.test\/reset-password\?token=([A-Za-z0-9%_-]+)/.exec(bodyOf(mail.raw));
    expect(link).not.toBeNull();
    const token = decodeURIComponent(link![1]!);

    expectProblem(await t.client().post('/api/v1/password/reset', { token, password: 'short' }), 400, {
      path: 'body.password',
    });
    const fresh = 'Brand-New-Pass-7';
    expectStatus(await t.client().post('/api/v1/password/reset', { token, password: fresh }), 204);
    // Every session of the account is over; the new password signs in, the old one does not.
    expectProblem(await member.client.get('/api/v1/me'), 401);
    expectProblem(
      await t.client().post('/api/auth/sign-in/email', { email: member.email, password: PASSWORD }),
      401,
    );
    expectStatus(
      await t.client().post('/api/auth/sign-in/email', { email: member.email, password: fresh }),
      200,
    );
    // Single use.
    expectProblem(
      await t.client().post('/api/v1/password/reset', { token, password: 'Another-Pass-8' }),
      400,
      { code: 'invalid_token', path: 'body.token' },
    );
    // Nothing went to the unknown address.
    expect(smtp.received.some((m) => m.to.includes(stranger))).toBe(false);
    // The reset is in the organization's audit log.
    const log = expectStatus(await admin.client.get('/api/v1/audit?action=auth.password_reset'), 200);
    expect(log.data.map((e: { actor: { id: string } }) => e.actor.id)).toEqual([member.userId]);
    // With SMTP configured, nothing is kept in the outbox.
    const outbox = expectStatus(await admin.client.get('/api/v1/system-mail'), 200);
    expect(outbox).toEqual({ transport: 'smtp', data: [] });
  });

  it('a link older than an hour no longer works', async () => {
    const admin = await signUp(t, 'Expired');
    expectStatus(await t.client().post('/api/v1/password/forgot', { email: admin.email }), 202);
    const mail = await waitFor(() =>
      smtp.received.find((m) => m.to.includes(admin.email) && m.raw.includes('Subject: Reset')),
    );
    const token = decodeURIComponent(/reset-password\?token=([A-Za-z0-9%_-]+)/.exec(bodyOf(mail.raw))![1]!);
    await t.services.database.raw.query(
      `update verifications set expires_at = now() - interval '1 second' where identifier = $1`,
      [`reset-password:${token}`],
    );
    expectProblem(
      await t.client().post('/api/v1/password/reset', { token, password: 'Brand-New-Pass-7' }),
      400,
      'invalid_token',
    );
    expectStatus(
      await t.client().post('/api/auth/sign-in/email', { email: admin.email, password: PASSWORD }),
      200,
    );
  });

  it('sends the sign-up verification link, which verifies the address', async () => {
    const admin = await signUp(t, 'Verified by mail');
    const mail = await waitFor(() =>
      smtp.received.find((m) => m.to.includes(admin.email) && m.raw.includes('Subject: Confirm')),
    );
    const token = decodeURIComponent(/verify-email\?token=(\S+)/.exec(bodyOf(mail.raw))![1]!);
    expectStatus(await t.client().post('/api/v1/email/verify', { token }), 204);
  });

  it('sends invitations by e-mail too', async () => {
    const admin = await signUp(t, 'Inviting');
    const email = uniqueEmail('invitee');
    const invitation = expectStatus(
      await admin.client.post('/api/v1/invitations', { email, role: 'user' }),
      201,
    );
    const mail = await waitFor(() => smtp.received.find((m) => m.to.includes(email)));
    expect(bodyOf(mail.raw)).toContain(invitation.link);
  });
});

describe('system e-mail without SMTP_URL: the local outbox', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it("keeps messages in the organization's outbox, which its admins read", async () => {
    const admin = await signUp(t, 'Outbox');
    const other = await signUp(t, 'Elsewhere');
    const member = await addMember(t, admin.client, 'user');
    expectStatus(await t.client().post('/api/v1/password/forgot', { email: member.email }), 202);
    const invitee = uniqueEmail('later');
    const invitation = expectStatus(
      await admin.client.post('/api/v1/invitations', { email: invitee, role: 'viewer' }),
      201,
    );
    const read = async () => expectStatus(await admin.client.get('/api/v1/system-mail'), 200);
    // Sent after the answers, as each is written: wait for the two this test looks at (counting
    // the messages raced the sign-up's verification e-mail, also kept here, on a busy machine).
    const arrived = (b: { data: { kind: string; to: string }[] }) =>
      b.data.some((m) => m.kind === 'password_reset' && m.to === member.email) &&
      b.data.some((m) => m.kind === 'invitation' && m.to === invitee);
    let box = await read();
    for (let i = 0; i < 200 && !arrived(box); i++) {
      await new Promise((r) => setTimeout(r, 50));
      box = await read();
    }
    expect(box.transport).toBe('outbox');
    const kinds = box.data.map((m: { kind: string; to: string }) => `${m.kind}:${m.to}`);
    expect(kinds).toContain(`password_reset:${member.email}`);
    const reset = box.data.find((m: { kind: string }) => m.kind === 'password_reset');
    expect(reset.text).toMatch(/http:\/\/cairn\.test\/reset-password\?token=/);
    // Two invitations went out (the member's, then this one): this one carries its own link.
    const invited = box.data.find(
      (m: { kind: string; to: string }) => m.kind === 'invitation' && m.to === invitee,
    );
    expect(invited.text).toContain(invitation.link);
    // Another organization's admin sees none of it; a member who is not an admin is refused.
    const elsewhere = expectStatus(await other.client.get('/api/v1/system-mail'), 200);
    expect(JSON.stringify(elsewhere)).not.toContain(member.email);
    expectProblem(await member.client.get('/api/v1/system-mail'), 403, 'forbidden');
  });
});
