import { CASES, FILTER_STORED, holdsOwn, NO_IDS, ownedId, rowsOf, WALK_OBJECT } from './isolation-cases.js';

// The isolation walk's cases for webhooks, REST hooks, forms and the consent ledger (issue 31).

const hook = (v: Record<string, string>) => `/api/v1/webhooks/${v['path.id']}`;
const delivery = (v: Record<string, string>) => `${hook(v)}/deliveries/${v['path.delivery_id']}`;
const target = 'https://walk.invalid/hook';

NO_IDS['GET /api/v1/hooks/triggers'] = 'the trigger catalogue: the same for every organization; takes no id';
NO_IDS['GET /api/v1/forms/fields/:object'] =
  "a form builder's field choices of an object of the caller's own registry (another tenant's custom object key is a 404); takes no id";
FILTER_STORED['POST /api/v1/webhooks'] =
  "a subscription's filter runs on the subscription's own organization's events only, in the dispatcher's tenant transaction";
FILTER_STORED['PATCH /api/v1/webhooks/:id'] = FILTER_STORED['POST /api/v1/webhooks'];
FILTER_STORED['POST /api/v1/hooks'] = FILTER_STORED['POST /api/v1/webhooks'];

CASES['POST /api/v1/webhooks'] = [
  {
    fields: {},
    ok: 201,
    send: () => ({ url: '/api/v1/webhooks', body: { target_url: target, event_types: ['contact.created'] } }),
  },
];
CASES['GET /api/v1/webhooks'] = [
  { fields: {}, send: () => ({ url: '/api/v1/webhooks' }), holds: (r) => holdsOwn(r, 'webhook') },
];
CASES['GET /api/v1/webhooks/:id'] = [{ fields: { 'path.id': 'webhook' }, send: (v) => ({ url: hook(v) }) }];
CASES['PATCH /api/v1/webhooks/:id'] = [
  {
    fields: { 'path.id': 'webhook' },
    fresh: ['webhook'],
    send: (v) => ({ url: hook(v), body: { description: 'walked' } }),
  },
];
CASES['DELETE /api/v1/webhooks/:id'] = [
  { fields: { 'path.id': 'webhook' }, fresh: ['webhook'], ok: 204, send: (v) => ({ url: hook(v) }) },
];
CASES['POST /api/v1/webhooks/:id/rotate-secret'] = [
  {
    fields: { 'path.id': 'webhook' },
    fresh: ['webhook'],
    send: (v) => ({ url: `${hook(v)}/rotate-secret` }),
  },
];
CASES['POST /api/v1/webhooks/:id/redrive'] = [
  { fields: { 'path.id': 'webhook' }, send: (v) => ({ url: `${hook(v)}/redrive` }) },
];
CASES['GET /api/v1/webhooks/:id/deliveries'] = [
  {
    fields: { 'path.id': 'webhook' },
    send: (v) => ({ url: `${hook(v)}/deliveries` }),
    holds: (r) => rowsOf(r).some((d) => d.id === ownedId('webhookDelivery')),
  },
];
CASES['GET /api/v1/webhooks/:id/deliveries/:delivery_id'] = [
  {
    fields: { 'path.id': 'webhook', 'path.delivery_id': 'webhookDelivery' },
    send: (v) => ({ url: delivery(v) }),
  },
];
CASES['POST /api/v1/webhooks/:id/deliveries/:delivery_id/redrive'] = [
  {
    fields: { 'path.id': 'webhook', 'path.delivery_id': 'deadDelivery' },
    fresh: ['webhook', 'deadDelivery'],
    send: (v) => ({ url: `${delivery(v)}/redrive` }),
  },
];
CASES['POST /api/v1/hooks'] = [
  {
    fields: {},
    ok: 201,
    send: () => ({ url: '/api/v1/hooks', body: { target_url: target, event: 'contact.created' } }),
  },
];
CASES['DELETE /api/v1/hooks/:id'] = [
  {
    fields: { 'path.id': 'restHook' },
    fresh: ['restHook'],
    ok: 204,
    send: (v) => ({ url: `/api/v1/hooks/${v['path.id']}` }),
  },
];

const form = (v: Record<string, string>) => `/api/v1/forms/${v['path.id']}`;
CASES['POST /api/v1/forms'] = [
  {
    fields: { 'body.owner_id': 'user' },
    ok: 201,
    send: (v) => ({
      url: '/api/v1/forms',
      body: {
        name: 'Walk form',
        object: 'contact',
        fields: [{ key: 'email' }],
        owner_id: v['body.owner_id'],
      },
    }),
  },
  {
    // A many-to-many field's choices: records of the caller's own (another tenant's is a 422).
    fields: { 'body.fields[].choices[]': 'contact' },
    ok: 201,
    send: (v) => ({
      url: '/api/v1/forms',
      body: {
        name: 'Walk people form',
        object: WALK_OBJECT,
        fields: [{ key: 'name' }, { key: 'people', choices: [v['body.fields[].choices[]']] }],
      },
    }),
  },
];
CASES['GET /api/v1/forms'] = [
  { fields: {}, send: () => ({ url: '/api/v1/forms' }), holds: (r) => holdsOwn(r, 'form') },
];
CASES['GET /api/v1/forms/:id'] = [{ fields: { 'path.id': 'form' }, send: (v) => ({ url: form(v) }) }];
CASES['PATCH /api/v1/forms/:id'] = [
  {
    fields: { 'path.id': 'form', 'body.owner_id': 'user' },
    fresh: ['form'],
    send: (v) => ({ url: form(v), body: { name: 'Walked form', owner_id: v['body.owner_id'] } }),
  },
  {
    fields: { 'path.id': 'peopleForm', 'body.fields[].choices[]': 'contact' },
    send: (v) => ({
      url: `/api/v1/forms/${v['path.id']}`,
      body: { fields: [{ key: 'name' }, { key: 'people', choices: [v['body.fields[].choices[]']] }] },
    }),
  },
];
CASES['DELETE /api/v1/forms/:id'] = [
  { fields: { 'path.id': 'form' }, fresh: ['form'], ok: 204, send: (v) => ({ url: form(v) }) },
];
CASES['GET /api/v1/forms/:id/submissions'] = [
  {
    fields: { 'path.id': 'form' },
    send: (v) => ({ url: `${form(v)}/submissions` }),
    holds: (r) => rowsOf(r).length > 0,
  },
];
CASES['GET /api/v1/forms/:id/submissions/export'] = [
  {
    fields: { 'path.id': 'form' },
    send: (v) => ({ url: `${form(v)}/submissions/export` }),
    // The header and at least one submission.
    holds: (r) => r.text.trim().split('\n').length > 1,
  },
];
CASES['GET /api/v1/consents'] = [
  {
    fields: { 'query.record_id': 'consented' },
    send: (v) => ({ url: `/api/v1/consents?object=contact&record_id=${v['query.record_id']}` }),
    holds: (r) => rowsOf(r).length > 0,
  },
];

// The AI assistant and the MCP server (issue 32). The walk's organizations have the assistant off,
// so the owner's summary and draft answer 409 `ai_disabled`; a record of another organization is
// a 404 before that, as an unknown one.
NO_IDS['GET /api/v1/ai/settings'] = "the caller's own organization's AI settings; takes no id";
NO_IDS['PATCH /api/v1/ai/settings'] = "changes the caller's own organization's AI settings; takes no id";
NO_IDS['GET /api/v1/ai/status'] = "whether the caller's own organization has the assistant on; takes no id";
NO_IDS['POST /api/v1/ai/ask'] =
  "a question about an object of the caller's own registry; takes no id, runs nothing (the filter is only checked)";
NO_IDS['POST /api/v1/ai/ask-report'] =
  "a question about the caller's own registry; takes no id, runs nothing (the definition is only checked)";
FILTER_STORED['POST /api/v1/ai/explain'] =
  "report definitions run by the report engine with the caller's rights (its filter is the list filter compiler's, whose cases try every id field); the walk's organizations have the assistant off";
CASES['POST /api/v1/ai/explain'] = [
  {
    fields: {},
    ok: 409,
    send: () => ({
      url: '/api/v1/ai/explain',
      body: {
        reports: [{ title: 'Walk', spec: { object: 'opportunity', group_by: [{ field: 'stage_id' }] } }],
      },
    }),
  },
];
NO_IDS['POST /api/v1/migrations/gohighlevel'] =
  "a GoHighLevel token and location: starts a migration into the caller's own organization; takes no Cairn id";
const ghl = (v: Record<string, string>) => `/api/v1/migrations/gohighlevel/${v['path.id']}`;
CASES['GET /api/v1/migrations/gohighlevel'] = [
  {
    fields: {},
    send: () => ({ url: '/api/v1/migrations/gohighlevel' }),
    holds: (r) => holdsOwn(r, 'ghlMigration'),
  },
];
CASES['GET /api/v1/migrations/gohighlevel/:id'] = [
  { fields: { 'path.id': 'ghlMigration' }, send: (v) => ({ url: ghl(v) }) },
];
CASES['POST /api/v1/migrations/gohighlevel/:id/resume'] = [
  {
    fields: { 'path.id': 'ghlMigration' },
    fresh: ['ghlMigration'],
    ok: 202,
    send: (v) => ({ url: `${ghl(v)}/resume`, body: { token: 'pit-walked' } }),
  },
];
CASES['POST /api/v1/migrations/gohighlevel/:id/validate'] = [
  {
    // The owner's stored source (walk.invalid) does not resolve: 422 source_unreachable.
    fields: { 'path.id': 'ghlMigration' },
    ok: 422,
    send: (v) => ({ url: `${ghl(v)}/validate`, body: { sample: 1 } }),
  },
];
NO_IDS['POST /api/v1/mcp'] =
  "an API key's JSON-RPC message: its tools run in the key's own organization with its scopes (ai.test.ts)";
CASES['POST /api/v1/ai/summarize'] = [
  {
    fields: { 'body.id': 'contact' },
    ok: 409,
    send: (v) => ({ url: '/api/v1/ai/summarize', body: { object: 'contact', id: v['body.id'] } }),
  },
];
// Streamed drafts: the conversation, the record and the template are each the caller's own
// (another tenant's is 404, its template 422); the owner meets the assistant's gate (409: not set up).
CASES['POST /api/v1/ai/draft/stream'] = [
  {
    fields: { 'body.conversation_id': 'conversation', 'body.template_id': 'messageTemplate' },
    ok: 409,
    send: (v) => ({
      url: '/api/v1/ai/draft/stream',
      body: { conversation_id: v['body.conversation_id'], template_id: v['body.template_id'] },
    }),
  },
  {
    fields: { 'body.id': 'contact' },
    ok: 409,
    send: (v) => ({ url: '/api/v1/ai/draft/stream', body: { object: 'contact', id: v['body.id'] } }),
  },
];
CASES['POST /api/v1/ai/draft-email'] = [
  {
    fields: { 'body.id': 'contact' },
    ok: 409,
    send: (v) => ({ url: '/api/v1/ai/draft-email', body: { object: 'contact', id: v['body.id'] } }),
  },
];
