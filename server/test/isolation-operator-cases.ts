import { CASES, NO_IDS } from './isolation-cases.js';

// The isolation walk's cases for the operator API (issue 30). It is install-level, not tenant:
// members of either tenant are not operators, so every request answers 404 (as a path that does
// not exist) with their own ids and with the other tenant's alike, and changes nothing.
const OPERATOR = 'the operator API: answers 404 to every member (no operator here); takes no tenant id';
for (const route of [
  'GET /api/v1/operator',
  'GET /api/v1/operator/organizations',
  'GET /api/v1/operator/plans',
  'PUT /api/v1/operator/plans/:key',
  'DELETE /api/v1/operator/plans/:key',
])
  NO_IDS[route] = OPERATOR;

CASES['GET /api/v1/operator/organizations/:id'] = [
  {
    fields: { 'path.id': 'org' },
    ok: 404,
    send: (v) => ({ url: `/api/v1/operator/organizations/${v['path.id']}` }),
  },
];
CASES['PUT /api/v1/operator/organizations/:id/plan'] = [
  {
    fields: { 'path.id': 'org' },
    ok: 404,
    send: (v) => ({
      url: `/api/v1/operator/organizations/${v['path.id']}/plan`,
      body: { plan_key: null, overrides: { contacts: 0 } },
    }),
  },
];
for (const action of ['suspend', 'restore'])
  CASES[`POST /api/v1/operator/organizations/:id/${action}`] = [
    {
      fields: { 'path.id': 'org' },
      ok: 404,
      send: (v) => ({ url: `/api/v1/operator/organizations/${v['path.id']}/${action}`, body: {} }),
    },
  ];
