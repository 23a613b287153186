import { CASES, holdsOwn, NO_IDS } from './isolation-cases.js';

// The isolation walk's cases for Meta Lead Ads (issue 31): the settings are the caller's
// organization's; pages, the intake ledger's deliveries and leads, and CAPI events are the tenant's;
// the public webhook takes an endpoint token (a secret carrying its organization), not an id.

for (const key of ['GET /api/v1/public/meta/webhook/:token', 'POST /api/v1/public/meta/webhook/:token'])
  NO_IDS[key] = "public: takes a Meta endpoint's token (a secret carrying its organization, not an id)";
NO_IDS['GET /api/v1/meta/settings'] = "the caller's organization's Meta settings; takes no id";
NO_IDS['PATCH /api/v1/meta/settings'] = "changes the caller's organization's Meta settings; takes no id";
NO_IDS['POST /api/v1/meta/pages/check-tokens'] =
  "checks the caller's organization's page tokens; takes no id";
NO_IDS['GET /api/v1/meta/capi-events'] =
  "the caller's organization's CAPI log (the walk's marker check covers leaks); takes no id";

const page = (v: Record<string, string>) => `/api/v1/meta/pages/${v['path.id']}`;

CASES['GET /api/v1/meta/pages'] = [
  { fields: {}, send: () => ({ url: '/api/v1/meta/pages' }), holds: (r) => holdsOwn(r, 'metaPage') },
];
CASES['POST /api/v1/meta/pages'] = [
  {
    fields: { 'body.owner_id': 'user' },
    ok: 201,
    send: (v) => ({
      url: '/api/v1/meta/pages',
      body: {
        page_id: String(Date.now()) + String(Math.floor(Math.random() * 1000)),
        access_token: 'walk-token-1234',
        owner_id: v['body.owner_id'],
      },
    }),
  },
  {
    fields: { 'body.forms[].owner_id': 'user' },
    ok: 201,
    send: (v) => ({
      url: '/api/v1/meta/pages',
      body: {
        page_id: String(Date.now()) + String(Math.floor(Math.random() * 1000)),
        access_token: 'walk-token-1234',
        forms: [
          { form_id: '9001', object: 'contact', field_mapping: {}, owner_id: v['body.forms[].owner_id'] },
        ],
      },
    }),
  },
];
CASES['GET /api/v1/meta/pages/:id'] = [
  { fields: { 'path.id': 'metaPage' }, send: (v) => ({ url: page(v) }) },
];
CASES['PATCH /api/v1/meta/pages/:id'] = [
  { fields: { 'path.id': 'metaPage' }, send: (v) => ({ url: page(v), body: { name: 'walked' } }) },
  {
    fields: { 'path.id': 'metaPage', 'body.owner_id': 'user' },
    send: (v) => ({ url: page(v), body: { owner_id: v['body.owner_id'] } }),
  },
  {
    fields: { 'path.id': 'metaPage', 'body.forms[].owner_id': 'user' },
    send: (v) => ({
      url: page(v),
      body: {
        forms: [
          { form_id: '9002', object: 'contact', field_mapping: {}, owner_id: v['body.forms[].owner_id'] },
        ],
      },
    }),
  },
];
CASES['DELETE /api/v1/meta/pages/:id'] = [
  { fields: { 'path.id': 'metaPage' }, fresh: ['metaPage'], ok: 204, send: (v) => ({ url: page(v) }) },
];
CASES['GET /api/v1/meta/deliveries'] = [
  { fields: {}, send: () => ({ url: '/api/v1/meta/deliveries' }), holds: (r) => holdsOwn(r, 'metaDelivery') },
];
CASES['POST /api/v1/meta/deliveries/:id/replay'] = [
  {
    fields: { 'path.id': 'metaDelivery' },
    send: (v) => ({ url: `/api/v1/meta/deliveries/${v['path.id']}/replay`, body: {} }),
  },
];
CASES['GET /api/v1/meta/leads'] = [
  { fields: {}, send: () => ({ url: '/api/v1/meta/leads' }), holds: (r) => holdsOwn(r, 'metaLead') },
];
CASES['GET /api/v1/meta/leads/:id'] = [
  { fields: { 'path.id': 'metaLead' }, send: (v) => ({ url: `/api/v1/meta/leads/${v['path.id']}` }) },
];
CASES['POST /api/v1/meta/leads/:id/replay'] = [
  {
    fields: { 'path.id': 'metaLead' },
    fresh: ['metaLead'],
    send: (v) => ({ url: `/api/v1/meta/leads/${v['path.id']}/replay`, body: {} }),
  },
];
