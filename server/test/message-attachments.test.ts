import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageView } from '../src/modules/conversations/conversation.dto.js';
import { type Dovecot, startDovecot } from './kit/dovecot.js';
import { CLAMD, type Clamd, downloadFile, EICAR, startClamd, uploadFile } from './kit/files.js';
import { expectProblem, expectStatus, SHARED_DATA, signUp, startTestApp, type TestApp } from './kit/index.js';

// Message attachments (issue 23) through the files pipeline: a real mailbox (Dovecot) holding the
// MIME torture test (nested message/rfc822 parts with images, gzip, HTML and a PGP signature) and
// a message carrying the EICAR test virus, synced; what is allowed is stored on the contact and
// downloadable, what is not keeps its name and why. A reply attaches a stored file by its id and
// a real SMTP server (smtp-server) receives it.

const DATA = `${SHARED_DATA}email/`;

let t: TestApp;
let dovecot: Dovecot;
let clamd: Clamd | undefined;
let admin: Awaited<ReturnType<typeof signUp>>;
let stranger: Awaited<ReturnType<typeof signUp>>;
const received: string[] = [];
let smtp: SMTPServer;
let channel: string;
let contactId: string;

type Attachment = MessageView['attachments'][number];

beforeAll(async () => {
  smtp = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push(Buffer.concat(chunks).toString('utf8'));
        callback();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  [dovecot, clamd] = await Promise.all([startDovecot(), CLAMD ? startClamd() : Promise.resolve(undefined)]);
  t = await startTestApp(clamd ? { CLAMAV_URL: clamd.url } : {});
  admin = await signUp(t, 'Attach Co');
  stranger = await signUp(t, 'Elsewhere');
  contactId = expectStatus(
    await admin.client.post('/api/v1/contacts', {
      first_name: 'Ryan',
      last_name: 'Finnie',
      emails: [{ value: 'rfinnie@domain.dom' }],
    }),
    201,
  ).id;
  channel = expectStatus(
    await admin.client.post('/api/v1/channels', {
      kind: 'email',
      name: 'Inbox',
      address: 'inbox@cairn.test',
      smtp: {
        host: '127.0.0.1',
        port: (smtp.server.address() as AddressInfo).port,
        secure: false,
        user: null,
      },
      imap: {
        host: dovecot.host,
        port: dovecot.port,
        secure: false,
        user: dovecot.user,
        password: dovecot.password,
      },
    }),
    201,
  ).id;
}, 400_000);
afterAll(async () => {
  await t?.close();
  await Promise.all([
    dovecot?.stop(),
    clamd?.stop(),
    new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r())),
  ]);
});

/** The conversation with `subject` (e-mail threads by Message-ID and subject: one per subject here). */
const threadOf = async (subject: RegExp) => {
  const list = expectStatus(await admin.client.get('/api/v1/conversations?status=any'), 200);
  const c = list.data.find((x: { subject: string | null }) => subject.test(x.subject ?? ''));
  return expectStatus(await admin.client.get(`/api/v1/conversations/${c.id}`), 200);
};

describe('inbound attachments', () => {
  it('stores the allowed parts of nested MIME through the files pipeline and names the refused ones', async () => {
    await dovecot.append(readFileSync(`${DATA}postal-mime-fixtures/mimetorture.eml`));
    const eicar = [
      'From: Ryan <rfinnie@domain.dom>',
      'To: inbox@cairn.test',
      'Subject: Test file',
      'Message-ID: <eicar-1@domain.dom>',
      `Date: ${new Date().toUTCString()}`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain',
      '',
      'See attached',
      '--b1',
      'Content-Type: text/plain; name="notes.txt"',
      'Content-Disposition: attachment; filename="notes.txt"',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from(EICAR).toString('base64'),
      '--b1--',
      '',
    ].join('\r\n');
    await dovecot.append(eicar);
    const sync = expectStatus(await admin.client.post(`/api/v1/channels/${channel}/sync`), 200);
    expect(sync.stored).toBe(2);

    const thread = await threadOf(/torture/i);
    expect(thread.contact.id).toBe(contactId);
    const torture = thread.messages[0];
    const byName = (name: string) =>
      (torture.attachments as Attachment[]).find((a) => a.filename === name) as Attachment;
    expect(torture.attachments.length).toBeGreaterThanOrEqual(8);
    for (const name of ['smiley-3.png', 'dot.gif']) {
      expect(byName(name)).toMatchObject({ status: 'stored', reason: null });
      expect(byName(name).file_id).toMatch(/^[0-9a-f-]{36}$/);
    }
    for (const name of ['foo.gz', 'htmlfile.html', 'signature.asc']) {
      expect(byName(name)).toMatchObject({ status: 'rejected', file_id: null });
      expect(byName(name).reason).toBeTruthy();
    }
    // The stored image downloads as a PNG (re-encoded by the pipeline), and shows on the contact.
    const png = await downloadFile(t, admin.client, byName('smiley-3.png').file_id!);
    expect(png.status).toBe(200);
    expect(png.raw.subarray(1, 4).toString()).toBe('PNG');
    const files = expectStatus(await admin.client.get(`/api/v1/files?object=contact&id=${contactId}`), 200);
    expect(files.data.map((f: { id: string }) => f.id)).toContain(byName('dot.gif').file_id);
    // Another organization cannot fetch it.
    expectProblem(
      await stranger.client.post(`/api/v1/files/${byName('dot.gif').file_id}/link`),
      404,
      'not_found',
    );

    const virus = (await threadOf(/^Test file$/)).messages[0];
    if (clamd)
      expect(virus.attachments[0]).toMatchObject({
        filename: 'notes.txt',
        status: 'infected',
        file_id: null,
      });
    else expect(virus.attachments[0]).toMatchObject({ filename: 'notes.txt' });

    // Synced again: nothing new, nothing stored twice.
    expect(expectStatus(await admin.client.post(`/api/v1/channels/${channel}/sync`), 200).stored).toBe(0);
  }, 120_000);
});

describe('outbound attachments', () => {
  it('attaches a stored file to a reply by its id; the SMTP server receives its bytes', async () => {
    const thread = await threadOf(/torture/i);
    const upload = await uploadFile(
      t,
      admin.client,
      { object: 'contact', id: contactId },
      'quote.txt',
      'Line one\nLine two\n',
      'text/plain',
    );
    expect(upload.status).toBe(201);
    const fileId = upload.body.id as string;

    // Another organization's file, an SMS, a file that is not stored: refused with the path.
    const foreign = await uploadFile(
      t,
      stranger.client,
      {
        object: 'contact',
        id: expectStatus(await stranger.client.post('/api/v1/contacts', { first_name: 'X' }), 201).id,
      },
      'x.txt',
      'x',
      'text/plain',
    );
    expectProblem(
      await admin.client.post(`/api/v1/conversations/${thread.id}/messages`, {
        text: 'Here',
        attachments: [foreign.body.id],
      }),
      404,
      { code: 'not_found', path: 'body.attachments[0]' },
    );

    const sent = expectStatus(
      await admin.client.post(`/api/v1/conversations/${thread.id}/messages`, {
        text: 'Here is the quote',
        attachments: [fileId],
      }),
      202,
    );
    expect(sent.attachments).toEqual([
      expect.objectContaining({ filename: 'quote.txt', file_id: fileId, status: 'stored' }),
    ]);
    await t.drain();
    const after = await threadOf(/torture/i);
    expect(after.messages.find((m: { id: string }) => m.id === sent.id).status).toBe('sent');
    const raw = received.find((r) => r.includes('Here is the quote'));
    expect(raw).toBeTruthy();
    const parsed = await simpleParser(raw!);
    expect(parsed.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([
      ['quote.txt', 'Line one\nLine two\n'],
    ]);
  }, 60_000);
});
