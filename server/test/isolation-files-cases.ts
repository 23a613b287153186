import { CASES, holdsOwn } from './isolation-cases.js';

// The isolation walk's cases for attachments and the GDPR tools (issue 26).

const fileUrl = (v: Record<string, string>) => `/api/v1/files/${v['path.id']}`;

CASES['POST /api/v1/files'] = [
  {
    fields: { 'query.id': 'contact' },
    ok: 201,
    send: (v) => ({
      url: `/api/v1/files?object=contact&id=${v['query.id']}`,
      file: { name: 'walk.txt', content: 'walk\n' },
    }),
  },
];
CASES['GET /api/v1/files'] = [
  {
    fields: { 'query.id': 'contact' },
    send: (v) => ({ url: `/api/v1/files?object=contact&id=${v['query.id']}` }),
    holds: (r) => holdsOwn(r, 'file'),
  },
];
CASES['GET /api/v1/files/:id'] = [{ fields: { 'path.id': 'file' }, send: (v) => ({ url: fileUrl(v) }) }];
CASES['POST /api/v1/files/:id/link'] = [
  { fields: { 'path.id': 'file' }, send: (v) => ({ url: `${fileUrl(v)}/link` }) },
];
CASES['DELETE /api/v1/files/:id'] = [
  { fields: { 'path.id': 'file' }, fresh: ['file'], ok: 204, send: (v) => ({ url: fileUrl(v) }) },
];
CASES['GET /api/v1/contacts/:id/personal-data'] = [
  {
    fields: { 'path.id': 'contact' },
    send: (v) => ({ url: `/api/v1/contacts/${v['path.id']}/personal-data` }),
  },
];
CASES['POST /api/v1/contacts/:id/erase'] = [
  {
    fields: { 'path.id': 'eraseContact' },
    fresh: ['eraseContact'],
    send: (v) => ({ url: `/api/v1/contacts/${v['path.id']}/erase`, body: { confirm: true } }),
  },
];
