import { CASES, holdsOwn, NO_IDS } from './isolation-cases.js';

// The isolation walk's cases for message templates and signatures (issue 23): templates are the
// tenant's; rendering names a conversation, a contact or a channel, each the caller's own; the
// signature is the caller's own in their organization.

const template = (v: Record<string, string>) => `/api/v1/message-templates/${v['path.id']}`;

NO_IDS['GET /api/v1/me/signature'] = "the caller's own signature: takes no id";
NO_IDS['PUT /api/v1/me/signature'] = "the caller's own signature: takes no id";

CASES['GET /api/v1/message-templates'] = [
  {
    fields: {},
    send: () => ({ url: '/api/v1/message-templates' }),
    holds: (r) => holdsOwn(r, 'messageTemplate'),
  },
];
CASES['POST /api/v1/message-templates'] = [
  {
    fields: {},
    ok: 201,
    send: (_v, ids) => ({
      url: '/api/v1/message-templates',
      body: { name: `${ids.marker} walked ${Math.random().toString(36).slice(2)}`, body: 'walked' },
    }),
  },
];
CASES['GET /api/v1/message-templates/:id'] = [
  { fields: { 'path.id': 'messageTemplate' }, send: (v) => ({ url: template(v) }) },
];
CASES['PATCH /api/v1/message-templates/:id'] = [
  {
    fields: { 'path.id': 'messageTemplate' },
    send: (v) => ({ url: template(v), body: { body: 'walked {{first_name}}' } }),
  },
];
CASES['DELETE /api/v1/message-templates/:id'] = [
  {
    fields: { 'path.id': 'freshMessageTemplate' },
    fresh: ['freshMessageTemplate'],
    ok: 204,
    send: (v) => ({ url: template(v) }),
  },
];
CASES['POST /api/v1/message-templates/render'] = [
  {
    fields: { 'body.conversation_id': 'conversation' },
    send: (v) => ({
      url: '/api/v1/message-templates/render',
      body: { text: 'Hi {{first_name}}', conversation_id: v['body.conversation_id'] },
    }),
  },
  {
    fields: { 'body.contact_id': 'contact', 'body.channel_id': 'channel' },
    send: (v) => ({
      url: '/api/v1/message-templates/render',
      body: {
        text: 'Hi {{first_name}} from {{sender.email}}',
        contact_id: v['body.contact_id'],
        channel_id: v['body.channel_id'],
      },
    }),
  },
];

// A reply or a new message attaches stored files by id (issue 23): the caller's own files only.
CASES['POST /api/v1/conversations/:id/messages'] = [
  ...(CASES['POST /api/v1/conversations/:id/messages'] ?? []),
  {
    fields: { 'path.id': 'conversation', 'body.attachments[]': 'file' },
    ok: 202,
    send: (v) => ({
      url: `/api/v1/conversations/${v['path.id']}/messages`,
      body: { text: 'walked', attachments: [v['body.attachments[]']] },
    }),
  },
];
CASES['POST /api/v1/messages'] = [
  ...(CASES['POST /api/v1/messages'] ?? []),
  {
    fields: { 'body.channel_id': 'channel', 'body.attachments[]': 'file' },
    ok: 202,
    send: (v) => ({
      url: '/api/v1/messages',
      body: {
        channel_id: v['body.channel_id'],
        to: 'walker@walk.test',
        text: 'walked',
        attachments: [v['body.attachments[]']],
      },
    }),
  },
];
