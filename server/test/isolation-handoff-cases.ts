import { CASES, NO_IDS } from './isolation-cases.js';

// The isolation walk's cases for hand-off queues and templates (issue 21). A queue is named by a
// role key of the caller's own organization; a template is the install's (a file in the
// repository); a hand-off and its record are the tenant's.
NO_IDS['GET /api/v1/queues'] = "the caller's organization's queues; takes no id";
NO_IDS['GET /api/v1/queues/:role'] = "a queue of the caller's organization, by its role key; takes no id";
NO_IDS['PATCH /api/v1/queues/:role'] = NO_IDS['GET /api/v1/queues/:role'];
NO_IDS['GET /api/v1/queues/:role/items'] = NO_IDS['GET /api/v1/queues/:role'];
NO_IDS['GET /api/v1/templates'] = 'the templates the install ships (files in the repository); takes no id';
NO_IDS['GET /api/v1/templates/:key'] = NO_IDS['GET /api/v1/templates'];
NO_IDS['POST /api/v1/templates/:key/apply'] =
  "applies an install template to the caller's organization; takes no tenant id";

const handoff = (v: Record<string, string>) => `/api/v1/handoffs/${v['path.id']}`;
CASES['GET /api/v1/handoffs/:id'] = [
  { fields: { 'path.id': 'handoff' }, send: (v) => ({ url: handoff(v) }) },
];
CASES['POST /api/v1/handoffs/:id/accept'] = [
  // The owner's admin may accept (and becomes the record's owner); another tenant gets a 404.
  {
    fields: { 'path.id': 'handoff' },
    fresh: ['handoff'],
    send: (v) => ({ url: `${handoff(v)}/accept`, body: {} }),
  },
];
CASES['POST /api/v1/handoffs/:id/deny'] = [
  {
    fields: { 'path.id': 'handoff' },
    fresh: ['handoff'],
    send: (v) => ({ url: `${handoff(v)}/deny`, body: { reason: 'walked' } }),
  },
];
CASES['GET /api/v1/records/:object/:id/handoffs'] = [
  {
    fields: { 'path.id': 'handoffRecord' },
    send: (v) => ({ url: `/api/v1/records/walk_case/${v['path.id']}/handoffs` }),
  },
];
