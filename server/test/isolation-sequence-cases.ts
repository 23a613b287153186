import { CASES, FILTER_STORED, holdsOwn, NO_IDS } from './isolation-cases.js';

// The isolation walk's cases for outreach (issue 25): sequences, their enrollments and the
// suppression list are the tenant's; the unsubscribe page takes a signed token, not an id.

const sequence = (v: Record<string, string>) => `/api/v1/sequences/${v['path.id']}`;
const enrollment = (v: Record<string, string>) => `/api/v1/sequence-enrollments/${v['path.id']}`;

for (const key of ['GET /api/v1/public/unsubscribe/:token', 'POST /api/v1/public/unsubscribe/:token'])
  NO_IDS[key] = "public: takes an unsubscribe link's token (a secret carrying its organization, not an id)";

FILTER_STORED['POST /api/v1/sequences/:id/enrollments'] =
  "selects the caller's tenant's contacts with the contacts list's filter compiler (record scope applied); ids are tried through contact_ids";

CASES['GET /api/v1/sequences'] = [
  { fields: {}, send: () => ({ url: '/api/v1/sequences' }), holds: (r) => holdsOwn(r, 'sequence') },
];
CASES['POST /api/v1/sequences'] = [
  {
    fields: { 'body.channel_id': 'channel' },
    ok: 201,
    send: (v) => ({ url: '/api/v1/sequences', body: { name: 'walked', channel_id: v['body.channel_id'] } }),
  },
  {
    fields: { 'body.sms_channel_id': 'smsChannel' },
    ok: 201,
    send: (v) => ({
      url: '/api/v1/sequences',
      body: { name: 'walked', sms_channel_id: v['body.sms_channel_id'] },
    }),
  },
  {
    // A step's message template: another tenant's is 422 reference_not_found at its field.
    fields: { 'body.steps[].template_id': 'messageTemplate' },
    ok: 201,
    send: (v) => ({
      url: '/api/v1/sequences',
      body: {
        name: 'walked',
        steps: [{ type: 'EMAIL', subject: 'Hi', template_id: v['body.steps[].template_id'] }],
      },
    }),
  },
];
CASES['GET /api/v1/sequences/:id'] = [
  { fields: { 'path.id': 'sequence' }, send: (v) => ({ url: sequence(v) }) },
];
CASES['PATCH /api/v1/sequences/:id'] = [
  { fields: { 'path.id': 'sequence' }, send: (v) => ({ url: sequence(v), body: { name: 'walked' } }) },
  {
    fields: { 'path.id': 'sequence', 'body.channel_id': 'channel' },
    send: (v) => ({ url: sequence(v), body: { channel_id: v['body.channel_id'] } }),
  },
  {
    fields: { 'path.id': 'sequence', 'body.sms_channel_id': 'smsChannel' },
    send: (v) => ({ url: sequence(v), body: { sms_channel_id: v['body.sms_channel_id'] } }),
  },
];
CASES['DELETE /api/v1/sequences/:id'] = [
  { fields: { 'path.id': 'sequence' }, fresh: ['sequence'], ok: 204, send: (v) => ({ url: sequence(v) }) },
];
CASES['PUT /api/v1/sequences/:id/steps'] = [
  {
    // The step kept by its id (another tenant's step is not a step of this sequence: 400) and a
    // stored template (another tenant's: 422), in one request, so the kept step stays for the
    // cases after this one.
    fields: {
      'path.id': 'sequence',
      'body.steps[].id': 'step',
      'body.steps[].template_id': 'messageTemplate',
    },
    send: (v) => ({
      url: `${sequence(v)}/steps`,
      body: {
        steps: [
          { id: v['body.steps[].id'], type: 'TASK', subject: 'Follow up' },
          { type: 'WAIT', days: 1 },
          { type: 'EMAIL', subject: 'Hi', template_id: v['body.steps[].template_id'] },
        ],
      },
    }),
  },
];
CASES['POST /api/v1/sequences/:id/enrollments'] = [
  {
    fields: { 'path.id': 'sequence', 'body.contact_ids[]': 'contact2' },
    send: (v) => ({
      url: `${sequence(v)}/enrollments`,
      body: { contact_ids: [v['body.contact_ids[]']], preview: true },
    }),
    // Another tenant's contact matches nothing (a count of 0), its sequence is a 404.
    holds: (r) => (r.body as { matched?: number }).matched === 1,
  },
  {
    // Who sends: another tenant's mailbox is a 404 at body.channel_id.
    fields: { 'path.id': 'sequence', 'body.channel_id': 'channel' },
    send: (v) => ({
      url: `${sequence(v)}/enrollments`,
      body: {
        filter: { field: 'tags', op: 'hasAny', value: ['none'] },
        preview: true,
        channel_id: v['body.channel_id'],
      },
    }),
  },
];
CASES['GET /api/v1/sequences/:id/enrollments'] = [
  {
    fields: { 'path.id': 'sequence' },
    send: (v) => ({ url: `${sequence(v)}/enrollments` }),
  },
];
CASES['GET /api/v1/sequences/:id/analytics'] = [
  { fields: { 'path.id': 'sequence' }, send: (v) => ({ url: `${sequence(v)}/analytics` }) },
];
CASES['POST /api/v1/sequence-enrollments/:id/pause'] = [
  {
    fields: { 'path.id': 'enrollment' },
    fresh: ['enrollment'],
    send: (v) => ({ url: `${enrollment(v)}/pause` }),
  },
];
CASES['POST /api/v1/sequence-enrollments/:id/resume'] = [
  // An active enrollment cannot be resumed: its owner reaches it (409), another tenant gets a 404.
  {
    fields: { 'path.id': 'enrollment' },
    fresh: ['enrollment'],
    ok: 409,
    send: (v) => ({ url: `${enrollment(v)}/resume` }),
  },
];
CASES['POST /api/v1/sequence-enrollments/:id/finish'] = [
  {
    fields: { 'path.id': 'enrollment' },
    fresh: ['enrollment'],
    send: (v) => ({ url: `${enrollment(v)}/finish` }),
  },
];
CASES['DELETE /api/v1/sequence-enrollments/:id'] = [
  {
    fields: { 'path.id': 'enrollment' },
    fresh: ['enrollment'],
    ok: 204,
    send: (v) => ({ url: enrollment(v) }),
  },
];
CASES['GET /api/v1/suppressions'] = [
  { fields: {}, send: () => ({ url: '/api/v1/suppressions' }), holds: (r) => holdsOwn(r, 'suppression') },
];
CASES['POST /api/v1/suppressions'] = [
  {
    fields: {},
    ok: 201,
    send: () => ({
      url: '/api/v1/suppressions',
      body: { channel_kind: 'email', address: `walk-${Math.random().toString(36).slice(2)}@walk.test` },
    }),
  },
];
CASES['DELETE /api/v1/suppressions/:id'] = [
  {
    fields: { 'path.id': 'suppression' },
    fresh: ['suppression'],
    ok: 204,
    send: (v) => ({ url: `/api/v1/suppressions/${v['path.id']}` }),
  },
];
CASES['POST /api/v1/consents'] = [
  {
    fields: { 'body.contact_id': 'contact2' },
    ok: 201,
    send: (v) => ({
      url: '/api/v1/consents',
      body: {
        contact_id: v['body.contact_id'],
        channel: 'email',
        purpose: 'marketing',
        status: 'granted',
        source: 'walk',
      },
    }),
  },
];
