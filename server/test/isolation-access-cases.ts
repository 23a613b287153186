import { randomBytes } from 'node:crypto';
import { CASES, holdsOwn } from './isolation-cases.js';

// The isolation walk's cases for roles and teams (issue 22): another tenant's role or team id in
// a path is a 404, as is another tenant's member put in (or taken out of) a team.

CASES['GET /api/v1/roles'] = [
  { fields: {}, send: () => ({ url: '/api/v1/roles' }), holds: (r) => holdsOwn(r, 'role') },
];
CASES['POST /api/v1/roles'] = [
  {
    fields: {},
    ok: 201,
    send: () => ({
      url: '/api/v1/roles',
      body: { key: `walk_${randomBytes(4).toString('hex')}`, name: 'Walk role' },
    }),
  },
];
CASES['GET /api/v1/roles/:id'] = [
  { fields: { 'path.id': 'role' }, send: (v) => ({ url: `/api/v1/roles/${v['path.id']}` }) },
];
CASES['PATCH /api/v1/roles/:id'] = [
  {
    fields: { 'path.id': 'role' },
    fresh: ['role'],
    send: (v) => ({ url: `/api/v1/roles/${v['path.id']}`, body: { name: 'Walked role' } }),
  },
];
CASES['DELETE /api/v1/roles/:id'] = [
  {
    fields: { 'path.id': 'role' },
    fresh: ['role'],
    ok: 204,
    send: (v) => ({ url: `/api/v1/roles/${v['path.id']}` }),
  },
];
CASES['GET /api/v1/teams'] = [
  { fields: {}, send: () => ({ url: '/api/v1/teams' }), holds: (r) => holdsOwn(r, 'team') },
];
CASES['POST /api/v1/teams'] = [
  {
    fields: {},
    ok: 201,
    send: () => ({ url: '/api/v1/teams', body: { name: `Walk team ${randomBytes(4).toString('hex')}` } }),
  },
];
CASES['GET /api/v1/teams/:id'] = [
  { fields: { 'path.id': 'team' }, send: (v) => ({ url: `/api/v1/teams/${v['path.id']}` }) },
];
CASES['PATCH /api/v1/teams/:id'] = [
  {
    fields: { 'path.id': 'team' },
    fresh: ['team'],
    send: (v) => ({
      url: `/api/v1/teams/${v['path.id']}`,
      body: { name: `Walked team ${randomBytes(4).toString('hex')}` },
    }),
  },
];
CASES['DELETE /api/v1/teams/:id'] = [
  {
    fields: { 'path.id': 'team' },
    fresh: ['team'],
    ok: 204,
    send: (v) => ({ url: `/api/v1/teams/${v['path.id']}` }),
  },
];
CASES['PUT /api/v1/teams/:id/members/:userId'] = [
  {
    fields: { 'path.id': 'team', 'path.userId': 'member' },
    fresh: ['team'],
    ok: 204,
    send: (v) => ({ url: `/api/v1/teams/${v['path.id']}/members/${v['path.userId']}`, body: {} }),
  },
];
CASES['DELETE /api/v1/teams/:id/members/:userId'] = [
  {
    fields: { 'path.id': 'team', 'path.userId': 'user' },
    fresh: ['team'],
    ok: 204,
    // The team is made fresh with the tenant's admin in it, so the owner's request takes them out.
    send: (v) => ({ url: `/api/v1/teams/${v['path.id']}/members/${v['path.userId']}` }),
  },
];
