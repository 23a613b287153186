import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, expectStatus, signUp, startTestApp, type TestApp } from './kit/index.js';

// Message templates and signatures (issue 23): one store of templates, their variables filled for
// a conversation's contact (an unknown one is a 422, never sent raw), and each member's signature
// appended to e-mail but not to SMS.

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let stranger: Awaited<ReturnType<typeof signUp>>;
let mailbox: string;
let sms: string;
let contactId: string;

const textOf = async (conversationId: string, messageId: string) => {
  const thread = expectStatus(await admin.client.get(`/api/v1/conversations/${conversationId}`), 200);
  return thread.messages.find((m: { id: string }) => m.id === messageId) as { text: string; subject: string };
};

beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Templates Co');
  stranger = await signUp(t, 'Elsewhere');
  mailbox = expectStatus(
    await admin.client.post('/api/v1/channels', {
      kind: 'local',
      name: 'Local',
      address: 'team@templates.test',
      from_name: 'Team Templates',
    }),
    201,
  ).id;
  sms = expectStatus(
    await admin.client.post('/api/v1/channels', {
      kind: 'sms',
      name: 'SMS',
      address: '+14155550100',
      twilio: { account_sid: 'ACtemplates', auth_token: 'token', api_base: 'http://127.0.0.1:9' },
    }),
    201,
  ).id;
  expectStatus(
    await admin.client.post('/api/v1/objects/contact/fields', { label: 'Shoe size', type: 'text' }),
    201,
  );
  const company = expectStatus(
    await admin.client.post('/api/v1/companies', { name: 'Analytical Engines' }),
    201,
  );
  contactId = expectStatus(
    await admin.client.post('/api/v1/contacts', {
      first_name: 'Ada',
      last_name: 'Lovelace',
      emails: [{ value: 'ada@example.org' }],
      phones: [{ number: '+14155550199' }],
      companies: [{ id: company.id, primary: true }],
      custom: { shoe_size: '38' },
    }),
    201,
  ).id;
}, 180_000);
afterAll(async () => {
  await t?.close();
});

describe('message templates', () => {
  it('are stored once per organization, checked for unknown variables and unique shortcuts', async () => {
    const created = expectStatus(
      await admin.client.post('/api/v1/message-templates', {
        name: 'Follow up',
        subject: 'Hello {{first_name}}',
        body: 'Hi {{first_name}} at {{company}}, size {{contact.shoe_size}}. {{sender.name}}',
      }),
      201,
    );
    expect(created).toMatchObject({ shortcut: 'follow-up', kind: 'any' });
    expect(created.variables).toEqual(['first_name', 'company', 'contact.shoe_size', 'sender.name']);
    expectStatus(
      await admin.client.post('/api/v1/message-templates', {
        name: 'Texting',
        kind: 'sms',
        body: 'Hey {{first_name}}',
      }),
      201,
    );
    expectStatus(
      await admin.client.post('/api/v1/message-templates', {
        name: 'Mail only',
        kind: 'email',
        body: 'Dear all',
      }),
      201,
    );
    expectProblem(
      await admin.client.post('/api/v1/message-templates', { name: 'Bad', body: 'Hi {{favourite_colour}}' }),
      422,
      { code: 'unknown_variable', path: 'body.body' },
    );
    expectProblem(
      await admin.client.post('/api/v1/message-templates', { name: 'Follow-up', body: 'again' }),
      409,
      { code: 'duplicate_key', path: 'body.shortcut' },
    );
    const smsOnes = expectStatus(await admin.client.get('/api/v1/message-templates?kind=sms'), 200);
    expect(smsOnes.data.map((x: { name: string }) => x.name)).toEqual(['Follow up', 'Texting']);
    expect(expectStatus(await admin.client.get('/api/v1/message-templates'), 200).data).toHaveLength(3);
    // Another organization sees none of them, and cannot read one by id.
    expect(expectStatus(await stranger.client.get('/api/v1/message-templates'), 200).data).toEqual([]);
    expectProblem(await stranger.client.get(`/api/v1/message-templates/${created.id}`), 404, 'not_found');
    expectProblem(
      await stranger.client.patch(`/api/v1/message-templates/${created.id}`, { name: 'x' }),
      404,
      'not_found',
    );

    const renamed = expectStatus(
      await admin.client.patch(`/api/v1/message-templates/${created.id}`, { shortcut: 'fu' }),
      200,
    );
    expect(renamed.shortcut).toBe('fu');
  });

  it('renders for a contact and a channel; an unknown variable names itself', async () => {
    const rendered = expectStatus(
      await admin.client.post('/api/v1/message-templates/render', {
        text: 'Hi {{first_name}} at {{ company }}, size {{contact.shoe_size}}. {{sender.name}}',
        subject: 'Hello {{contact.last_name}}',
        contact_id: contactId,
        channel_id: mailbox,
      }),
      200,
    );
    expect(rendered).toEqual({
      text: 'Hi Ada at Analytical Engines, size 38. Team Templates',
      subject: 'Hello Lovelace',
      variables: ['first_name', 'company', 'contact.shoe_size', 'sender.name', 'contact.last_name'],
    });
    const problem = expectProblem(
      await admin.client.post('/api/v1/message-templates/render', {
        text: 'Hi {{nickname}}',
        contact_id: contactId,
      }),
      422,
      { code: 'unknown_variable', path: 'body.text' },
    );
    expect(JSON.stringify(problem)).toContain('{{nickname}}');
    expectProblem(
      await stranger.client.post('/api/v1/message-templates/render', { text: 'Hi', contact_id: contactId }),
      404,
      'not_found',
    );
  });
});

describe('signatures and sending', () => {
  it('fills variables on send, appends the signature to e-mail only, and never sends a raw variable', async () => {
    expect(expectStatus(await admin.client.get('/api/v1/me/signature'), 200)).toEqual({ signature: null });
    expectStatus(
      await admin.client.put('/api/v1/me/signature', { signature: 'Grace\nTemplates Co  \n' }),
      200,
    );
    expect(expectStatus(await admin.client.get('/api/v1/me/signature'), 200)).toEqual({
      signature: 'Grace\nTemplates Co',
    });
    // Each member has their own: the other organization's admin has none.
    expect(expectStatus(await stranger.client.get('/api/v1/me/signature'), 200)).toEqual({ signature: null });

    const mail = expectStatus(
      await admin.client.post('/api/v1/messages', {
        channel_id: mailbox,
        to: 'ada@example.org',
        subject: 'For {{first_name}}',
        text: 'Dear {{first_name}} of {{company}}',
      }),
      202,
    );
    const sent = await textOf(mail.conversation_id, mail.id);
    expect(sent.text).toBe('Dear Ada of Analytical Engines\n\n-- \nGrace\nTemplates Co');
    expect(sent.subject).toBe('For Ada');

    const reply = expectStatus(
      await admin.client.post(`/api/v1/conversations/${mail.conversation_id}/messages`, {
        text: 'Again {{first_name}}',
        signature: false,
      }),
      202,
    );
    expect((await textOf(mail.conversation_id, reply.id)).text).toBe('Again Ada');

    const text = expectStatus(
      await admin.client.post('/api/v1/messages', {
        channel_id: sms,
        to: '+14155550199',
        text: 'Hi {{first_name}}',
      }),
      202,
    );
    expect((await textOf(text.conversation_id, text.id)).text).toBe('Hi Ada');

    // An unknown variable: refused, nothing queued.
    const before = expectStatus(await admin.client.get(`/api/v1/conversations/${mail.conversation_id}`), 200);
    expectProblem(
      await admin.client.post(`/api/v1/conversations/${mail.conversation_id}/messages`, {
        text: 'Hi {{nope}}',
      }),
      422,
      { code: 'unknown_variable', path: 'body.text' },
    );
    const after = expectStatus(await admin.client.get(`/api/v1/conversations/${mail.conversation_id}`), 200);
    expect(after.messages).toHaveLength(before.messages.length);

    // A conversation with no contact cannot fill contact variables.
    const loose = expectStatus(
      await admin.client.post('/api/v1/messages', {
        channel_id: mailbox,
        to: 'someone@else.test',
        text: 'plain',
      }),
      202,
    );
    expectProblem(
      await admin.client.post(`/api/v1/conversations/${loose.conversation_id}/messages`, {
        text: 'Hi {{first_name}}',
      }),
      422,
      { code: 'unknown_variable', path: 'body.text' },
    );

    expectStatus(await admin.client.put('/api/v1/me/signature', { signature: null }), 200);
    expect(expectStatus(await admin.client.get('/api/v1/me/signature'), 200)).toEqual({ signature: null });
  });
});
