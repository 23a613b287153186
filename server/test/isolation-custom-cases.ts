import { randomBytes } from 'node:crypto';
import { CASES, holdsOwn, ownedId, WALK_OBJECT } from './isolation-cases.js';

// The isolation walk's cases for custom objects and their records (issue 21). Both tenants define
// an object with the same key (WALK_OBJECT), each its own; definitions made fresh for a case have
// keys of their own, so another tenant's key is tried as a path field like an id.

const objectUrl = (key: string | undefined) => `/api/v1/objects/${key}`;

CASES['POST /api/v1/objects'] = [
  {
    fields: {},
    ok: 201,
    send: () => ({
      url: '/api/v1/objects',
      body: { key: `walk_${randomBytes(4).toString('hex')}`, label_singular: 'Walk', label_plural: 'Walks' },
    }),
  },
];
CASES['PATCH /api/v1/objects/:object'] = [
  {
    fields: { 'path.object': 'freshObject' },
    fresh: ['freshObject'],
    send: (v) => ({ url: objectUrl(v['path.object']), body: { label_plural: 'Walked' } }),
  },
];
CASES['POST /api/v1/objects/:object/retire'] = [
  {
    fields: { 'path.object': 'freshObject' },
    fresh: ['freshObject'],
    send: (v) => ({ url: `${objectUrl(v['path.object'])}/retire` }),
  },
];
CASES['POST /api/v1/objects/:object/unretire'] = [
  {
    fields: { 'path.object': 'retiredObject' },
    fresh: ['retiredObject'],
    send: (v) => ({ url: `${objectUrl(v['path.object'])}/unretire` }),
  },
];
CASES['DELETE /api/v1/objects/:object'] = [
  {
    fields: { 'path.object': 'retiredObject' },
    fresh: ['retiredObject'],
    ok: 204,
    send: (v) => ({ url: `${objectUrl(v['path.object'])}?confirm=${v['path.object']}` }),
  },
];

const base = `/api/v1/records/${WALK_OBJECT}`;
const route = '/api/v1/records/:object';
const one = (v: Record<string, string>) => `${base}/${v['path.id']}`;
const refs = {
  'body.owner_id': 'user',
  'body.custom.company': 'company',
  'body.custom.people[]': 'contact',
} as const;
const body = (v: Record<string, string>, name: string) => ({
  owner_id: v['body.owner_id'],
  custom: { name, company: v['body.custom.company'], people: [v['body.custom.people[]']] },
});

CASES[`POST ${route}`] = [{ fields: refs, ok: 201, send: (v) => ({ url: base, body: body(v, 'Walk') }) }];
CASES[`GET ${route}/:id`] = [{ fields: { 'path.id': 'customRecord' }, send: (v) => ({ url: one(v) }) }];
CASES[`PATCH ${route}/:id`] = [
  {
    fields: { 'path.id': 'customRecord', ...refs },
    fresh: ['customRecord'],
    send: (v) => ({ url: one(v), body: body(v, 'Walked') }),
  },
];
for (const action of ['archive', 'restore'])
  CASES[`POST ${route}/:id/${action}`] = [
    {
      fields: { 'path.id': 'customRecord' },
      fresh: ['customRecord'],
      send: (v) => ({ url: `${one(v)}/${action}` }),
    },
  ];
CASES[`DELETE ${route}/:id`] = [
  { fields: { 'path.id': 'customRecord' }, fresh: ['customRecord'], ok: 204, send: (v) => ({ url: one(v) }) },
];
CASES[`GET ${route}/:id/timeline`] = [
  { fields: { 'path.id': 'customRecord' }, send: (v) => ({ url: `${one(v)}/timeline` }) },
];
CASES[`POST ${route}/bulk`] = [
  {
    fields: { 'body.ids[]': 'customRecord', 'body.owner_id': 'user' },
    send: (v) => ({
      url: `${base}/bulk`,
      body: { ids: [v['body.ids[]']], action: 'assign_owner', owner_id: v['body.owner_id'] },
    }),
    holds: (r) => (r.body as { matched?: number } | undefined)?.matched === 1,
  },
];
// The lists: no id of their own; filter cases for each id field are added in beforeAll.
CASES[`GET ${route}`] = [
  { fields: {}, send: () => ({ url: base }), holds: (r) => holdsOwn(r, 'customRecord') },
];
CASES[`POST ${route}/query`] = [
  {
    fields: {},
    send: () => ({ url: `${base}/query`, body: { limit: 200 } }),
    holds: (r) => holdsOwn(r, 'customRecord'),
  },
];
// The count: no id of its own; its filter cases (added in beforeAll) judge it.
CASES[`GET ${route}/count`] = [{ fields: {}, send: () => ({ url: `${base}/count` }) }];
CASES[`GET ${route}/export`] = [
  {
    fields: {},
    send: () => ({ url: `${base}/export?format=jsonl` }),
    holds: (r) => r.text.includes(ownedId('customRecord') ?? 'none'),
  },
];
// The board of a custom object by its status field, one column's cards, a record's status history.
const cardsHold = (r: { body: unknown }) =>
  JSON.stringify(r.body ?? null).includes(ownedId('customRecord') ?? 'none');
CASES[`GET ${route}/board`] = [
  { fields: {}, send: () => ({ url: `${base}/board?field=phase` }), holds: cardsHold },
];
CASES[`GET ${route}/board/column`] = [
  { fields: {}, send: () => ({ url: `${base}/board/column?field=phase&value=open` }), holds: cardsHold },
];
CASES[`GET ${route}/:id/status-history`] = [
  { fields: { 'path.id': 'customRecord' }, send: (v) => ({ url: `${one(v)}/status-history` }) },
];

// Many-to-many links (issue 21): a record's relations from either side, and links edited from
// either side; another tenant's record in the path is a 404, in the body a 422.
const LINKS = '/api/v1/links/:object/:id';
const relation = `${WALK_OBJECT}.people`;
CASES[`GET ${LINKS}`] = [
  {
    fields: { 'path.id': 'customRecord' },
    send: (v) => ({ url: `/api/v1/links/${WALK_OBJECT}/${v['path.id']}` }),
  },
  { fields: { 'path.id': 'contact' }, send: (v) => ({ url: `/api/v1/links/contact/${v['path.id']}` }) },
];
CASES[`POST ${LINKS}`] = [
  {
    fields: { 'path.id': 'customRecord', 'body.add[]': 'contact' },
    send: (v) => ({
      url: `/api/v1/links/${WALK_OBJECT}/${v['path.id']}`,
      body: { relation, add: [v['body.add[]']] },
    }),
  },
  {
    fields: { 'path.id': 'contact', 'body.add[]': 'customRecord' },
    send: (v) => ({
      url: `/api/v1/links/contact/${v['path.id']}`,
      body: { relation, add: [v['body.add[]']] },
    }),
  },
];
CASES[`POST ${LINKS}`]!.push(
  {
    fields: { 'path.id': 'customRecord', 'body.remove[]': 'contact2' },
    send: (v) => ({
      url: `/api/v1/links/${WALK_OBJECT}/${v['path.id']}`,
      body: { relation, remove: [v['body.remove[]']] },
    }),
  },
  {
    fields: { 'path.id': 'contact2', 'body.remove[]': 'customRecord' },
    send: (v) => ({
      url: `/api/v1/links/contact/${v['path.id']}`,
      body: { relation, remove: [v['body.remove[]']] },
    }),
  },
);
