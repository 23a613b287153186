import { CASES, holdsOwn } from './isolation-cases.js';

// The isolation walk's cases for workflows and their runs (issue 24). A definition's member and
// stage ids are tried in one definition on opportunities that uses each of them.

const definition = (v: Record<string, string>, prefix = 'body.definition.steps[]') => ({
  trigger: { type: 'manual' },
  start: 'move',
  steps: [
    { id: 'move', type: 'move_stage', stage_id: v[`${prefix}.stage_id`], next: ['owner'] },
    { id: 'owner', type: 'assign_owner', mode: 'fixed', user_id: v[`${prefix}.user_id`], next: ['turns'] },
    {
      id: 'turns',
      type: 'assign_owner',
      mode: 'round_robin',
      user_ids: [v[`${prefix}.user_ids[]`]],
      next: ['task'],
    },
    {
      id: 'task',
      type: 'create_task',
      title: 'Follow up',
      assignee: v[`${prefix}.assignee`],
      next: ['tell'],
    },
    { id: 'tell', type: 'notify', user: v[`${prefix}.user`], message: 'Look' },
  ],
});
const definitionIds = {
  'body.definition.steps[].stage_id': 'stage',
  'body.definition.steps[].user_id': 'user',
  'body.definition.steps[].user_ids[]': 'user',
  'body.definition.steps[].assignee': 'user',
  'body.definition.steps[].user': 'user',
} as const;

/** A draft listening to one form's submissions: the form's id is the tenant's. */
const formDefinition = (v: Record<string, string>) => ({
  trigger: { type: 'form_submitted', form_id: v['body.definition.trigger.form_id'] },
  start: 'tell',
  steps: [{ id: 'tell', type: 'notify', user: v['body.definition.steps[].user'], message: 'A form came in' }],
});
const formIds = {
  'body.definition.trigger.form_id': 'form',
  'body.definition.steps[].user': 'user',
} as const;

/** A contact draft's messaging steps: an SMS channel and a sequence of the tenant's. */
const messagingDefinition = (v: Record<string, string>) => ({
  trigger: { type: 'manual' },
  start: 'text',
  steps: [
    {
      id: 'text',
      type: 'send_sms',
      channel_id: v['body.definition.steps[].channel_id'],
      body: 'Hi',
      next: ['in'],
    },
    {
      id: 'in',
      type: 'enroll_in_sequence',
      sequence_id: v['body.definition.steps[].sequence_id'],
      next: ['out'],
    },
    { id: 'out', type: 'remove_from_sequence', sequence_id: v['body.definition.steps[].sequence_id'] },
  ],
});
const messagingIds = {
  'body.definition.steps[].channel_id': 'smsChannel',
  'body.definition.steps[].sequence_id': 'sequence',
} as const;

CASES['GET /api/v1/workflows'] = [
  { fields: {}, send: () => ({ url: '/api/v1/workflows' }), holds: (r) => holdsOwn(r, 'workflow') },
];
CASES['POST /api/v1/workflows'] = [
  {
    fields: definitionIds,
    ok: 201,
    send: (v) => ({
      url: '/api/v1/workflows',
      body: { name: 'Walk workflow', object: 'opportunity', definition: definition(v) },
    }),
  },
  {
    fields: formIds,
    ok: 201,
    send: (v) => ({
      url: '/api/v1/workflows',
      body: { name: 'Walk form workflow', object: 'opportunity', definition: formDefinition(v) },
    }),
  },
  {
    fields: messagingIds,
    ok: 201,
    send: (v) => ({
      url: '/api/v1/workflows',
      body: { name: 'Walk messaging workflow', object: 'contact', definition: messagingDefinition(v) },
    }),
  },
];
CASES['GET /api/v1/workflows/:id'] = [
  { fields: { 'path.id': 'workflow' }, send: (v) => ({ url: `/api/v1/workflows/${v['path.id']}` }) },
];
CASES['PUT /api/v1/workflows/:id'] = [
  {
    fields: { 'path.id': 'freshWorkflow', ...definitionIds },
    fresh: ['freshWorkflow'],
    send: (v) => ({
      url: `/api/v1/workflows/${v['path.id']}`,
      body: { lock_version: 2, definition: definition(v) },
    }),
  },
  {
    fields: { 'path.id': 'freshWorkflow', ...formIds },
    fresh: ['freshWorkflow'],
    send: (v) => ({
      url: `/api/v1/workflows/${v['path.id']}`,
      body: { lock_version: 2, definition: formDefinition(v) },
    }),
  },
  {
    fields: { 'path.id': 'freshContactWorkflow', ...messagingIds },
    fresh: ['freshContactWorkflow'],
    send: (v) => ({
      url: `/api/v1/workflows/${v['path.id']}`,
      body: { lock_version: 1, definition: messagingDefinition(v) },
    }),
  },
];
for (const action of ['activate', 'pause'])
  CASES[`POST /api/v1/workflows/:id/${action}`] = [
    {
      fields: { 'path.id': 'freshWorkflow' },
      fresh: ['freshWorkflow'],
      send: (v) => ({ url: `/api/v1/workflows/${v['path.id']}/${action}`, body: {} }),
    },
  ];
CASES['POST /api/v1/workflows/:id/runs'] = [
  {
    fields: { 'path.id': 'workflow', 'body.record_ids[]': 'opportunity' },
    send: (v) => ({
      url: `/api/v1/workflows/${v['path.id']}/runs`,
      body: { record_ids: [v['body.record_ids[]']] },
    }),
  },
];
CASES['POST /api/v1/workflows/:id/test-run'] = [
  {
    fields: { 'path.id': 'workflow', 'body.record_id': 'opportunity', ...definitionIds },
    send: (v) => ({
      url: `/api/v1/workflows/${v['path.id']}/test-run`,
      body: { record_id: v['body.record_id'], definition: definition(v) },
    }),
  },
  {
    fields: { 'path.id': 'workflow', 'body.record_id': 'opportunity', ...formIds },
    send: (v) => ({
      url: `/api/v1/workflows/${v['path.id']}/test-run`,
      body: { record_id: v['body.record_id'], definition: formDefinition(v) },
    }),
  },
  {
    fields: { 'path.id': 'workflow', 'body.record_id': 'opportunity', ...messagingIds },
    ok: 422,
    // The walk's workflow runs on opportunities: the messaging steps' object check refuses them for
    // the owner too (422), and another tenant's channel or sequence is refused the same way.
    send: (v) => ({
      url: `/api/v1/workflows/${v['path.id']}/test-run`,
      body: { record_id: v['body.record_id'], definition: messagingDefinition(v) },
    }),
  },
];
CASES['GET /api/v1/workflow-runs'] = [
  { fields: {}, send: () => ({ url: '/api/v1/workflow-runs?limit=200' }), holds: (r) => holdsOwn(r, 'run') },
  ...(['workflow_id', 'record_id'] as const).map((param) => ({
    fields: { [`query.${param}`]: param === 'workflow_id' ? 'workflow' : 'opportunity' } as Record<
      string,
      'workflow' | 'opportunity'
    >,
    send: (v: Record<string, string>) => ({
      url: `/api/v1/workflow-runs?limit=200&${param}=${v[`query.${param}`]}`,
    }),
    holds: (r: Parameters<typeof holdsOwn>[0]) => holdsOwn(r, 'run'),
  })),
];
CASES['GET /api/v1/workflow-runs/:id'] = [
  { fields: { 'path.id': 'run' }, send: (v) => ({ url: `/api/v1/workflow-runs/${v['path.id']}` }) },
];
CASES['POST /api/v1/workflow-runs/:id/replay'] = [
  {
    fields: { 'path.id': 'failedRun' },
    fresh: ['failedRun'],
    send: (v) => ({ url: `/api/v1/workflow-runs/${v['path.id']}/replay`, body: {} }),
  },
];
CASES['POST /api/v1/workflow-runs/:id/cancel'] = [
  {
    fields: { 'path.id': 'waitingRun' },
    fresh: ['waitingRun'],
    send: (v) => ({ url: `/api/v1/workflow-runs/${v['path.id']}/cancel`, body: {} }),
  },
];
CASES['GET /api/v1/workflows/:id/secrets'] = [
  { fields: { 'path.id': 'workflow' }, send: (v) => ({ url: `/api/v1/workflows/${v['path.id']}/secrets` }) },
];
// An inbound webhook's URL is public: its token is derived from the organization and the workflow,
// so another organization's id (or a token of another workflow) is the same 404 as a wrong token.
// The walk's token is not the workflow's: the owner gets that 404 too (a post with the real token:
// workflows-webhooks.test.ts).
CASES['POST /api/v1/public/workflows/:org_id/:id/inbound/:token'] = [
  {
    fields: { 'path.org_id': 'org', 'path.id': 'workflow' },
    ok: 404,
    send: (v) => ({
      url: `/api/v1/public/workflows/${v['path.org_id']}/${v['path.id']}/inbound/not-the-token`,
      body: { email: 'walk@walk.test' },
    }),
  },
];
