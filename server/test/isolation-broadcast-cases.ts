import { CASES, FILTER_STORED, holdsOwn } from './isolation-cases.js';

// The isolation walk's cases for broadcasts (issue 33): a broadcast and its recipients are the
// tenant's; its channel must be the tenant's; its segment is the contacts' filter (record scope
// applied), so another tenant's contacts are never in it.

const broadcast = (v: Record<string, string>) => `/api/v1/broadcasts/${v['path.id']}`;
const draft = (channel: string) => ({
  name: 'walked',
  channel_id: channel,
  subject: 'Walk',
  body: 'Hello',
  segment: { filter: { field: 'first_name', op: 'eq', value: 'nobody' } },
});

FILTER_STORED['POST /api/v1/broadcasts/preview'] =
  "counts the caller's tenant's contacts with the contacts list's filter compiler (record scope applied)";

FILTER_STORED['POST /api/v1/broadcasts'] =
  "stores a segment of the contacts' filter, compiled in the sender's tenant (record scope applied) when counted and sent";
FILTER_STORED['PATCH /api/v1/broadcasts/:id'] = FILTER_STORED['POST /api/v1/broadcasts'];

CASES['GET /api/v1/broadcasts'] = [
  { fields: {}, send: () => ({ url: '/api/v1/broadcasts' }), holds: (r) => holdsOwn(r, 'broadcast') },
];
CASES['POST /api/v1/broadcasts'] = [
  {
    fields: { 'body.channel_id': 'channel' },
    ok: 201,
    send: (v) => ({ url: '/api/v1/broadcasts', body: draft(v['body.channel_id']!) }),
  },
];
CASES['POST /api/v1/broadcasts/preview'] = [
  {
    fields: { 'body.channel_id': 'channel' },
    send: (v) => ({
      url: '/api/v1/broadcasts/preview',
      body: {
        channel_id: v['body.channel_id'],
        segment: { filter: { field: 'first_name', op: 'eq', value: 'x' } },
      },
    }),
  },
];
CASES['GET /api/v1/broadcasts/:id'] = [
  { fields: { 'path.id': 'broadcast' }, send: (v) => ({ url: broadcast(v) }) },
];
CASES['PATCH /api/v1/broadcasts/:id'] = [
  { fields: { 'path.id': 'broadcast' }, send: (v) => ({ url: broadcast(v), body: { name: 'walked' } }) },
  {
    fields: { 'path.id': 'broadcast', 'body.channel_id': 'channel' },
    send: (v) => ({ url: broadcast(v), body: { channel_id: v['body.channel_id'] } }),
  },
];
CASES['DELETE /api/v1/broadcasts/:id'] = [
  { fields: { 'path.id': 'broadcast' }, fresh: ['broadcast'], ok: 204, send: (v) => ({ url: broadcast(v) }) },
];
CASES['POST /api/v1/broadcasts/:id/send'] = [
  // Its segment selects nobody: its owner reaches it (422 segment_empty), another tenant gets a 404.
  { fields: { 'path.id': 'broadcast' }, ok: 422, send: (v) => ({ url: `${broadcast(v)}/send`, body: {} }) },
];
CASES['POST /api/v1/broadcasts/:id/cancel'] = [
  // A draft cannot be cancelled: its owner reaches it (409), another tenant gets a 404.
  { fields: { 'path.id': 'broadcast' }, ok: 409, send: (v) => ({ url: `${broadcast(v)}/cancel`, body: {} }) },
];
CASES['GET /api/v1/broadcasts/:id/recipients'] = [
  { fields: { 'path.id': 'broadcast' }, send: (v) => ({ url: `${broadcast(v)}/recipients` }) },
];
