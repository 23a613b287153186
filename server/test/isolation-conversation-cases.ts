import { CASES, holdsOwn, NO_IDS } from './isolation-cases.js';

// The isolation walk's cases for conversations (issue 23): channels, conversations and messages
// are the tenant's; Twilio's webhook names a channel and its organization in the path and is
// authenticated by its signature, not a session.

const channel = (v: Record<string, string>) => `/api/v1/channels/${v['path.id']}`;
const conversation = (v: Record<string, string>) => `/api/v1/conversations/${v['path.id']}`;

NO_IDS['GET /api/v1/organization/deletion'] = "the caller's own organization: takes no id";
NO_IDS['POST /api/v1/organization/deletion'] =
  "the caller's own organization (its name retyped): takes no id";
NO_IDS['DELETE /api/v1/organization/deletion'] = "the caller's own organization: takes no id";
NO_IDS['GET /api/v1/conversations/unread-count'] = "the caller's own unread count: takes no id";

CASES['POST /api/v1/channels'] = [
  {
    fields: {},
    ok: 201,
    send: () => ({
      url: '/api/v1/channels',
      body: { kind: 'local', name: 'walked', address: 'w@walk.test' },
    }),
  },
];
CASES['GET /api/v1/channels'] = [
  { fields: {}, send: () => ({ url: '/api/v1/channels' }), holds: (r) => holdsOwn(r, 'channel') },
];
CASES['GET /api/v1/conversations/channels'] = [
  {
    fields: {},
    send: () => ({ url: '/api/v1/conversations/channels' }),
    holds: (r) => holdsOwn(r, 'channel'),
  },
];
CASES['GET /api/v1/channels/:id'] = [
  { fields: { 'path.id': 'channel' }, send: (v) => ({ url: channel(v) }) },
];
CASES['PATCH /api/v1/channels/:id'] = [
  {
    fields: { 'path.id': 'channel' },
    fresh: ['channel'],
    send: (v) => ({ url: channel(v), body: { name: 'walked' } }),
  },
];
CASES['DELETE /api/v1/channels/:id'] = [
  { fields: { 'path.id': 'channel' }, fresh: ['channel'], ok: 204, send: (v) => ({ url: channel(v) }) },
];
CASES['POST /api/v1/channels/:id/test'] = [
  { fields: { 'path.id': 'channel' }, send: (v) => ({ url: `${channel(v)}/test` }) },
];
CASES['POST /api/v1/channels/:id/sync'] = [
  // The local mailbox has no IMAP side: its owner reaches it and is told so (409), another tenant gets a 404.
  { fields: { 'path.id': 'channel' }, ok: 409, send: (v) => ({ url: `${channel(v)}/sync` }) },
];
CASES['GET /api/v1/conversations'] = [
  { fields: {}, send: () => ({ url: '/api/v1/conversations' }), holds: (r) => holdsOwn(r, 'conversation') },
  {
    fields: { 'query.channel_id': 'channel' },
    send: (v) => ({ url: `/api/v1/conversations?channel_id=${v['query.channel_id']}` }),
    holds: (r) => holdsOwn(r, 'conversation'),
  },
];
CASES['GET /api/v1/conversations'].push({
  fields: { 'query.contact_id': 'contact' },
  send: (v) => ({ url: `/api/v1/conversations?contact_id=${v['query.contact_id']}` }),
  holds: (r) => holdsOwn(r, 'conversation'),
});
CASES['GET /api/v1/conversations/:id'] = [
  { fields: { 'path.id': 'conversation' }, send: (v) => ({ url: conversation(v) }) },
];
CASES['PATCH /api/v1/conversations/:id'] = [
  {
    fields: { 'path.id': 'conversation' },
    send: (v) => ({ url: conversation(v), body: { status: 'open' } }),
  },
];
// The sender put on a contact: the conversation (path) and an existing contact (body) must be the
// caller's; the walked conversation's sender is its tenant's contact already, found again.
CASES['POST /api/v1/conversations/:id/contact'] = [
  { fields: { 'path.id': 'conversation' }, send: (v) => ({ url: `${conversation(v)}/contact`, body: {} }) },
  {
    fields: { 'path.id': 'conversation', 'body.contact_id': 'contact' },
    send: (v) => ({ url: `${conversation(v)}/contact`, body: { contact_id: v['body.contact_id'] } }),
  },
];
CASES['POST /api/v1/conversations/:id/read'] = [
  { fields: { 'path.id': 'conversation' }, send: (v) => ({ url: `${conversation(v)}/read` }) },
];
CASES['POST /api/v1/conversations/:id/messages'] = [
  {
    fields: { 'path.id': 'conversation' },
    ok: 202,
    send: (v) => ({ url: `${conversation(v)}/messages`, body: { text: 'walked' } }),
  },
];
CASES['POST /api/v1/messages'] = [
  {
    fields: { 'body.channel_id': 'channel' },
    ok: 202,
    send: (v) => ({
      url: '/api/v1/messages',
      body: { channel_id: v['body.channel_id'], to: 'walker@walk.test', text: 'walked' },
    }),
  },
];
CASES['POST /api/v1/messages/:id/retry'] = [
  {
    fields: { 'path.id': 'message' },
    ok: 409,
    send: (v) => ({ url: `/api/v1/messages/${v['path.id']}/retry` }),
  },
];
// Twilio's webhook is public: the organization and channel in its path must belong together (another
// organization's channel is a 404), and then the request must carry Twilio's signature over the
// channel's auth token: the owner's unsigned request reaches the channel and is refused with 403
// (signed requests: conversations.test.ts).
CASES['POST /api/v1/public/channels/:org_id/:id/twilio'] = [
  {
    fields: { 'path.org_id': 'org', 'path.id': 'smsChannel' },
    ok: 403,
    send: (v) => ({
      url: `/api/v1/public/channels/${v['path.org_id']}/${v['path.id']}/twilio`,
      body: { From: '+14155550199', To: '+14155550100', Body: 'walked' },
    }),
  },
];
// The e-mail providers' webhooks: the same, verified by the provider's scheme (Postmark here: basic
// auth with the channel's webhook key); signed requests: conversations-providers.test.ts.
for (const hook of ['events', 'inbound'])
  CASES[`POST /api/v1/public/channels/:org_id/:id/provider/${hook}`] = [
    {
      fields: { 'path.org_id': 'org', 'path.id': 'providerChannel' },
      ok: 403,
      send: (v) => ({
        url: `/api/v1/public/channels/${v['path.org_id']}/${v['path.id']}/provider/${hook}`,
        body: { RecordType: 'Delivery', MessageID: 'walked', Recipient: 'w@walk.test' },
      }),
    },
  ];
CASES['PATCH /api/v1/conversations/:id']!.push({
  fields: { 'path.id': 'conversation', 'body.assignee_id': 'user' },
  send: (v) => ({ url: conversation(v), body: { assignee_id: v['body.assignee_id'] } }),
});
