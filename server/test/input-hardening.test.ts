import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerWebApp } from '../src/modules/web/web.routes.js';
import { installInputRules } from '../src/platform/http/input.js';
import { installProblemHandlers } from '../src/platform/http/problem.js';
import type { ApiApp } from '../src/platform/http/types.js';
import { expectProblem, ORIGIN, readShared, uploadCsv, useOrganization, waitForImport } from './kit/index.js';

const org = useOrganization('Hardening Co');

const PROBLEM = 'application/problem+json; charset=utf-8';

/** Sends raw bytes as a request body with the admin's session. */
async function raw(method: 'POST' | 'PATCH', url: string, payload: Buffer | string, contentType: string) {
  const res = await org.t.app.inject({
    method,
    url,
    headers: { cookie: org.admin.client.cookieHeader, origin: ORIGIN, 'content-type': contentType },
    payload,
    remoteAddress: org.admin.client.ip,
  });
  return { status: res.statusCode, headers: res.headers, body: res.body ? JSON.parse(res.body) : undefined };
}

/** `{"and":[{"and":[ ... {"field":"first_name","op":"isEmpty"} ... ]}]}`, `levels` deep. */
const deepFilter = (levels: number) =>
  `${'{"and":['.repeat(levels)}{"field":"first_name","op":"isEmpty"}${']}'.repeat(levels)}`;

describe('bytes PostgreSQL cannot store', () => {
  it('a NUL character anywhere in a JSON body is a 400 naming its path, on every route that takes a body', async () => {
    const contact = await org.admin.client.post('/api/v1/contacts', { first_name: 'Nul' });
    expect(contact.status).toBe(201);
    const cases: [string, unknown, string][] = [
      ['/api/v1/contacts', { first_name: 'a\u0000b' }, 'body.first_name'],
      [
        '/api/v1/contacts',
        { first_name: 'A', emails: [{ value: 'x\u0000@example.com' }] },
        'body.emails[0].value',
      ],
      ['/api/v1/contacts', { first_name: 'A', custom: { 'bad\u0000key': 'x' } }, 'body.custom'],
      ['/api/v1/contacts/query', { q: '\u0000' }, 'body.q'],
      [
        '/api/v1/contacts/query',
        { filter: { field: 'first_name', op: 'eq', value: 'x\u0000' } },
        'body.filter.value',
      ],
      ['/api/v1/views', { object: 'contact', name: 'v', query: { q: 'a\u0000' } }, 'body.query.q'],
      ['/api/v1/tags', { name: 'tag\u0000' }, 'body.name'],
    ];
    for (const [url, body, where] of cases) {
      const res = await org.admin.client.post(url, body);
      expect(res.status, `${url} ${JSON.stringify(body)}: ${res.text}`).toBe(400);
      expect(res.headers['content-type']).toBe(PROBLEM);
      expect(res.body).toMatchObject({ code: 'invalid_character', path: where });
    }
    const patched = await org.admin.client.patch(`/api/v1/contacts/${contact.body.id}`, {
      custom: { note: 'x\u0000' },
    });
    expect(patched.status).toBe(400);
    expect(patched.body).toMatchObject({ code: 'invalid_character', path: 'body.custom.note' });
    // The rule sits where bodies enter: every route that takes one refuses it the same way.
    const uuid = '00000000-0000-4000-8000-000000000000';
    for (const route of org.t.routes) {
      if (route.method === 'GET' || route.method === 'DELETE') continue;
      const url = route.url.replace(/:[A-Za-z]+/g, uuid).replace('*', 'x');
      const res = await org.admin.client.request(route.method as 'POST', url, { x: '\u0000' });
      expect(res.status, `${route.method} ${route.url}: ${res.text}`).toBe(400);
      expect(res.body, `${route.method} ${route.url}`).toMatchObject({
        code: 'invalid_character',
        path: 'body.x',
      });
    }
    const unchanged = await org.admin.client.get(`/api/v1/contacts/${contact.body.id}`);
    expect(unchanged.body.first_name).toBe('Nul');
  });

  it('a NUL character in a query string value, a filter value or a path parameter is a 400 naming it', async () => {
    const cases: [string, string][] = [
      ['/api/v1/contacts?q=a%00b', 'query.q'],
      ['/api/v1/search?q=%00', 'query.q'],
      [
        `/api/v1/contacts?filter=${encodeURIComponent('{"field":"first_name","op":"eq","value":"a\\u0000"}')}`,
        'query.filter.value',
      ],
      [`/api/v1/contacts/export?format=csv&q=%00`, 'query.q'],
      ['/api/v1/objects/contact%00', 'params.object'],
    ];
    for (const [url, where] of cases) {
      const res = await org.admin.client.get(url);
      expect(res.status, `${url}: ${res.text}`).toBe(400);
      expect(res.headers['content-type']).toBe(PROBLEM);
      expect(res.body, url).toMatchObject({ code: 'invalid_character', path: where });
    }
    // Every GET route, whatever its own parameters: the rule runs before any schema.
    const uuid = '00000000-0000-4000-8000-000000000000';
    for (const route of org.t.routes.filter((r) => r.method === 'GET')) {
      const url = `${route.url.replace(/:[A-Za-z]+/g, uuid).replace('*', 'x')}?x=a%00`;
      const res = await org.admin.client.get(url);
      expect(res.status, `${url}: ${res.text}`).toBe(400);
      expect(res.body, url).toMatchObject({ code: 'invalid_character', path: 'query.x' });
    }
  });

  it('a cursor carrying a NUL or a value of the wrong type is a 400, not a database error', async () => {
    const contact = await org.admin.client.post('/api/v1/contacts', { first_name: 'Cursor' });
    const pipeline = await org.admin.client.post('/api/v1/pipelines', { name: 'Cursor pipeline' });
    const column = `/api/v1/pipelines/${pipeline.body.id}/board/${pipeline.body.stages[0].id}`;
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const urls = [
      `/api/v1/contacts/${contact.body.id}/timeline?cursor=${b64({ at: 'x\u0000', id: contact.body.id })}`,
      `/api/v1/contacts/${contact.body.id}/timeline?cursor=${b64({ at: 'not a time', id: contact.body.id })}`,
      `${column}?cursor=${b64(['a\u0000', contact.body.id])}`,
      `${column}?filter=${encodeURIComponent('{"field":"title","op":"eq","value":"a\\u0000"}')}`,
    ];
    for (const url of urls) {
      const res = await org.admin.client.get(url);
      expect(res.status, `${url}: ${res.text}`).toBe(400);
      expect(res.headers['content-type']).toBe(PROBLEM);
    }
  });

  it('invalid UTF-8 in a JSON body is a 400, never stored as U+FFFD', async () => {
    const payload = Buffer.concat([
      Buffer.from('{"first_name":"Bad'),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('"}'),
    ]);
    const res = await raw('POST', '/api/v1/contacts', payload, 'application/json');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe(PROBLEM);
    expect(res.body).toMatchObject({ code: 'invalid_utf8', path: 'body' });
    const stored = await org.admin.client.get('/api/v1/contacts?q=Bad');
    expect(stored.body.data).toEqual([]);
    // Valid UTF-8 with a BOM-less multi-byte name still goes through.
    const ok = await raw(
      'POST',
      '/api/v1/contacts',
      Buffer.from('{"first_name":"Zoë 日本"}'),
      'application/json',
    );
    expect(ok.status).toBe(201);
    expect(ok.body.first_name).toBe('Zoë 日本');
  });

  it('the big list of naughty strings as raw bytes in a body: exactly the invalid UTF-8 ones are refused', async () => {
    const strings = (
      JSON.parse(readShared('security/blns/blns.base64.json').toString('utf8')) as string[]
    ).map((b64) => Buffer.from(b64, 'base64'));
    const isUtf8 = (bytes: Buffer) => {
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        return true;
      } catch {
        return false;
      }
    };
    // Every invalid one, and every fifth valid one (the parser must not refuse those), to stay fast.
    const sample = strings.filter((bytes, i) => !isUtf8(bytes) || i % 5 === 0);
    let invalid = 0;
    for (const bytes of sample) {
      // The bytes as they are inside a JSON string: only `"`, `\` and control characters escaped.
      const escaped: number[] = [];
      for (const b of bytes) {
        if (b === 0x22 || b === 0x5c || b < 0x20)
          escaped.push(...Buffer.from(`\\u${b.toString(16).padStart(4, '0')}`));
        else escaped.push(b);
      }
      // `emails: 1` makes the schema refuse every body the parser lets through: nothing is
      // written, and the code tells which rule answered.
      const payload = Buffer.concat([
        Buffer.from('{"emails":1,"first_name":"'),
        Buffer.from(escaped),
        Buffer.from('"}'),
      ]);
      const res = await raw('POST', '/api/v1/contacts', payload, 'application/json');
      const label = bytes.toString('base64');
      const valid = isUtf8(bytes);
      if (!valid) invalid += 1;
      expect(res.status, label).toBe(400);
      expect(res.headers['content-type'], label).toBe(PROBLEM);
      if (valid) expect(res.body.code, label).not.toBe('invalid_utf8');
      else expect(res.body.code, label).toBe('invalid_utf8');
    }
    expect(invalid).toBe(66); // blns @db33ec7b1d5d holds 66 strings that are not UTF-8
  });

  it('a body whose Content-Type names a charset other than UTF-8 is a 415', async () => {
    const latin1 = Buffer.from('{"first_name":"Zo\u00eb"}', 'latin1');
    const res = await raw('POST', '/api/v1/contacts', latin1, 'application/json; charset=iso-8859-1');
    expect(res.status).toBe(415);
    expect(res.headers['content-type']).toBe(PROBLEM);
    expect(res.body).toMatchObject({ code: 'unsupported_charset' });
    const utf8 = await raw(
      'POST',
      '/api/v1/contacts',
      '{"first_name":"Zoé"}',
      'application/json; charset="UTF-8"',
    );
    expect(utf8.status).toBe(201);
  });

  it('a NUL character in a CSV cell of an import is a cell problem like any bad cell, never a 500 nor a stored NUL', async () => {
    const csv =
      'First name,Last name,Email\nAda,Lovelace,ada@example.com\nNully,By\u0000te,nul@example.com\n';
    const up = await uploadCsv(org.t, org.admin.client, 'contact', 'nul.csv', csv);
    expect(up.status, up.text).toBe(201);
    const started = await org.admin.client.post(`/api/v1/imports/${up.body.id}/start`);
    expect(started.status, started.text).toBe(200);
    const done = await waitForImport(org.t, org.admin.client, up.body.id);
    expect(done.status).toBe('completed');
    // The default `invalid_cells` keeps the row without the bad cell, as for any other bad cell.
    expect(done.progress).toMatchObject({ created: 2, failed: 0, with_problems: 1 });
    const nully = await org.admin.client.get('/api/v1/contacts?q=Nully');
    expect(nully.body.data).toHaveLength(1);
    expect(nully.body.data[0].last_name).toBeNull();
    const problems = await org.admin.client.get(`/api/v1/imports/${up.body.id}/errors.csv`);
    expect(problems.status).toBe(200);
    expect(problems.text).toContain('invalid_character');
    expect(problems.text).not.toContain('\u0000');
    // A NUL in the header row: the upload itself is refused.
    const header = await uploadCsv(
      org.t,
      org.admin.client,
      'contact',
      'nulhead.csv',
      'First\u0000name,Email\nA,a@example.com\n',
    );
    expect(header.status, header.text).toBe(400);
    expect(header.body).toMatchObject({ code: 'invalid_csv' });
    // A NUL in the uploaded file's name.
    const name = await uploadCsv(org.t, org.admin.client, 'contact', 'nul\u0000.csv', 'First name\nA\n');
    expect(name.status, name.text).toBe(400);
    expect(name.body).toMatchObject({ code: 'invalid_character', path: 'body.file.filename' });
  });
});

describe('empty and late errors', () => {
  it('a PATCH with nothing to change is a no-op 200 returning the unchanged record, on every PATCH route', async () => {
    const c = org.admin.client;
    const pipeline = await c.post('/api/v1/pipelines', { name: 'Patch pipeline' });
    expect(pipeline.status).toBe(201);
    const stage = pipeline.body.stages[0];
    const field = await c.post('/api/v1/objects/contact/fields', { label: 'Nickname', type: 'text' });
    expect(field.status).toBe(201);
    const contact = await c.post('/api/v1/contacts', { first_name: 'Patch' });
    const company = await c.post('/api/v1/companies', { name: 'Patch Inc' });
    const deal = await c.post('/api/v1/opportunities', { title: 'Patch deal' });
    const view = await c.post('/api/v1/views', { object: 'contact', name: 'Patch view' });
    const task = await c.post('/api/v1/tasks', { title: 'Patch task' });
    const note = await c.post('/api/v1/notes', { object: 'contact', id: contact.body.id, body: 'Hello' });
    const up = await uploadCsv(org.t, c, 'contact', 'p.csv', 'First name\nA\n');
    const object = await c.post('/api/v1/objects', {
      key: 'patch_thing',
      label_singular: 'Patch thing',
      label_plural: 'Patch things',
    });
    const record = await c.post('/api/v1/records/patch_thing', { custom: { name: 'Patch record' } });
    const role = await c.post('/api/v1/roles', { key: 'patch_role', name: 'Patch role' });
    const team = await c.post('/api/v1/teams', { name: 'Patch team' });
    const webhook = await c.post('/api/v1/webhooks', {
      target_url: 'https://patch.invalid/hook',
      event_types: ['contact.created'],
    });
    const form = await c.post('/api/v1/forms', {
      name: 'Patch form',
      object: 'contact',
      fields: [{ key: 'email' }],
    });
    const product = await c.post('/api/v1/products', { name: 'Patch product' });
    const priceList = await c.post('/api/v1/price-lists', { name: 'Patch list', currency: 'SEK' });
    const quote = await c.post('/api/v1/quotes', { opportunity_id: deal.body.id });
    const channel = await c.post('/api/v1/channels', {
      kind: 'local',
      name: 'Patch box',
      address: 'box@patch.test',
    });
    const report = await c.post('/api/v1/reports', {
      name: 'Patch report',
      spec: { object: 'opportunity', group_by: [{ field: 'stage_id' }] },
    });
    const dashboard = await c.post('/api/v1/dashboards', { name: 'Patch dashboard' });
    await c.put('/api/v1/me/availability', { time_zone: 'UTC', weekly: {} });
    const sequence = await c.post('/api/v1/sequences', { name: 'Patch sequence' });
    const metaPage = await c.post('/api/v1/meta/pages', {
      page_id: '424242',
      name: 'Patch page',
      access_token: 'patch-token',
    });
    const broadcast = await c.post('/api/v1/broadcasts', {
      name: 'Patch broadcast',
      channel_id: channel.body.id,
      subject: 'Patch news',
      body: 'Hello {{contact.first_name}}',
      segment: {},
    });
    const meetingType = await c.post('/api/v1/meeting-types', {
      name: 'Patch meeting',
      duration_minutes: 15,
      assignment: 'single',
      host_ids: [org.admin.userId],
    });
    const template = await c.post('/api/v1/message-templates', {
      name: 'Patch template',
      subject: 'Hello {{first_name}}',
      body: 'Hi {{first_name}}',
    });
    const targets: [string, { status: number; body: Record<string, unknown> }][] = [
      [`/api/v1/pipelines/${pipeline.body.id}`, pipeline],
      [`/api/v1/pipelines/${pipeline.body.id}/stages/${stage.id}`, pipeline],
      ['/api/v1/objects/contact/fields/nickname', field],
      [`/api/v1/contacts/${contact.body.id}`, contact],
      [`/api/v1/companies/${company.body.id}`, company],
      [`/api/v1/opportunities/${deal.body.id}`, deal],
      [`/api/v1/views/${view.body.id}`, view],
      [`/api/v1/tasks/${task.body.id}`, task],
      [`/api/v1/notes/${note.body.id}`, note],
      [`/api/v1/imports/${up.body.id}`, up as { status: number; body: Record<string, unknown> }],
      ['/api/v1/objects/patch_thing', object],
      [`/api/v1/records/patch_thing/${record.body.id}`, record],
      [`/api/v1/roles/${role.body.id}`, role],
      [`/api/v1/teams/${team.body.id}`, team],
      [`/api/v1/webhooks/${webhook.body.id}`, webhook],
      [`/api/v1/forms/${form.body.id}`, form],
      [`/api/v1/products/${product.body.id}`, product],
      [`/api/v1/price-lists/${priceList.body.id}`, priceList],
      [`/api/v1/quotes/${quote.body.id}`, quote],
      [`/api/v1/channels/${channel.body.id}`, channel],
      [`/api/v1/reports/${report.body.id}`, report],
      [`/api/v1/dashboards/${dashboard.body.id}`, dashboard],
      [`/api/v1/meeting-types/${meetingType.body.id}`, meetingType],
      [`/api/v1/sequences/${sequence.body.id}`, sequence],
      [`/api/v1/meta/pages/${metaPage.body.id}`, metaPage],
      [`/api/v1/broadcasts/${broadcast.body.id}`, broadcast],
      [`/api/v1/message-templates/${template.body.id}`, template],
    ];
    for (const [url, created] of targets) {
      expect(created.status, url).toBe(201);
      const res = await c.patch(url, {});
      expect(res.status, `${url}: ${res.text}`).toBe(200);
      expect(res.body.id).toBe(created.body.id);
      if ('name' in created.body) expect(res.body.name).toBe(created.body.name);
      if ('title' in created.body) expect(res.body.title).toBe(created.body.title);
    }
    // The sales settings are the organization's one set (no id): `{}` answers them unchanged.
    const settings = await c.get('/api/v1/sales-settings');
    expect((await c.patch('/api/v1/sales-settings', {})).body).toEqual(settings.body);
    const covered = new Set([...targets.map(([url]) => url.split('/')[3]), 'sales-settings']);
    const patchRoutes = org.t.routes.filter((r) => r.method === 'PATCH').map((r) => r.url.split('/')[3]);
    // The organization's settings have no id: `{}` answers them unchanged.
    const orgSettings = await c.get('/api/v1/organization/settings');
    const unchanged = await c.patch('/api/v1/organization/settings', {});
    expect(unchanged.status).toBe(200);
    expect(unchanged.body).toEqual(orgSettings.body);
    covered.add('organization');
    // The assistant's settings are the organization's one set too.
    const ai = await c.get('/api/v1/ai/settings');
    expect((await c.patch('/api/v1/ai/settings', {})).body).toEqual(ai.body);
    covered.add('ai');
    // Meta's settings are the organization's one set too.
    const metaSettings = await c.get('/api/v1/meta/settings');
    expect((await c.patch('/api/v1/meta/settings', {})).body).toEqual(metaSettings.body);
    // A conversation exists only once a message came in (conversations.test.ts syncs one from a
    // real mailbox); its PATCH takes optional fields only, as every other one here.
    covered.add('conversations');
    // members, tags and a queue's assignment rule take a required field, so `{}` is a 400 there;
    // every other PATCH is covered.
    for (const collection of patchRoutes)
      if (!['members', 'tags', 'queues'].includes(collection ?? '')) expect(covered).toContain(collection);
  });

  it('a CSV export with a malformed cursor, filter or sort is a 400 problem before the first byte', async () => {
    await org.admin.client.post('/api/v1/contacts', { first_name: 'Exported' });
    for (const query of [
      'cursor=garbage',
      `filter=${encodeURIComponent('{"field":"nothing","op":"eq","value":1}')}`,
      'sort=nothing:asc',
    ]) {
      for (const format of ['csv', 'jsonl']) {
        const res = await org.admin.client.get(`/api/v1/contacts/export?format=${format}&${query}`);
        expect(res.status, `${format} ${query}: ${res.text}`).toBe(400);
        expect(res.headers['content-type']).toBe(PROBLEM);
        expect(res.body.code).toBeTypeOf('string');
      }
    }
    const ok = await org.admin.client.get('/api/v1/contacts/export?format=csv');
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('Exported');
  });
});

describe('depth before schemas', () => {
  it('a body nested thousands of levels deep is a 400 too_deep before any validation runs', async () => {
    const filter = deepFilter(5000);
    const bodies: [string, string][] = [
      ['/api/v1/contacts/query', `{"filter":${filter}}`],
      ['/api/v1/views', `{"object":"contact","name":"deep","query":{"filter":${filter}}}`],
      ['/api/v1/contacts/bulk', `{"action":"archive","filter":${filter}}`],
      ['/api/v1/contacts', `{"first_name":"x","custom":{"a":${'['.repeat(5000)}${']'.repeat(5000)}}}`],
      ['/api/v1/contacts', '['.repeat(100_000)],
    ];
    for (const [url, payload] of bodies) {
      const res = await raw('POST', url, payload, 'application/json');
      expect(res.status, `${url}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.headers['content-type']).toBe(PROBLEM);
      expect(res.body).toMatchObject({ code: 'too_deep', path: 'body' });
    }
    // 64 levels are still a valid filter shape (the query language then applies its own limits).
    const shallow = await raw(
      'POST',
      '/api/v1/contacts/query',
      `{"filter":${deepFilter(3)}}`,
      'application/json',
    );
    expect(shallow.status).toBe(200);
  });

  it('a filter query parameter nested too deep is a 400 too_deep', async () => {
    const res = await org.admin.client.get(`/api/v1/contacts?filter=${encodeURIComponent('['.repeat(7000))}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'too_deep', path: 'query.filter' });
  });
});

/** One raw HTTP/1.1 exchange over a socket (Node's parser runs, unlike inject). */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      data += chunk;
    });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
    socket.on('connect', () => socket.end(request));
    setTimeout(() => {
      socket.destroy();
      resolve(data);
    }, 3000);
  });
}

function parseRaw(response: string) {
  const [head = '', ...rest] = response.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(
    lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  );
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(rest.join('\r\n\r\n')) };
}

/** A request through a real socket. */
function httpCall(
  port: number,
  options: { method: string; path: string; headers?: Record<string, string>; body?: string },
) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: Record<string, unknown> }>(
    (resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, method: options.method, path: options.path, headers: options.headers },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: text ? JSON.parse(text) : {},
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(options.body);
    },
  );
}

describe('every error is problem+json, from every layer', () => {
  it('Node, Fastify, the router, better-auth and static files all answer problem+json with a code', async () => {
    await org.t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = org.t.app.server.address() as AddressInfo;
    // Node's HTTP parser: header block too large.
    const big = parseRaw(
      await rawExchange(port, `GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
    );
    expectProblem(big, 431, { label: 'header too large' });
    expect(big.body.code).toBe('headers_too_large');
    // The router: a path parameter beyond the router's limit, and bad percent-encoding.
    const long = await httpCall(port, { method: 'GET', path: `/api/v1/contacts/${'a'.repeat(2000)}` });
    expectProblem(long, 414, { label: 'uri too long' });
    const badUrl = await httpCall(port, { method: 'GET', path: '/api/v1/contacts/%E0%A4%A' });
    expectProblem(badUrl, 400, { label: 'bad encoding' });
    expect(badUrl.body.code).toBe('invalid_url');
    // Body parsing: too large, and an unsupported media type.
    const tooLarge = await httpCall(port, {
      method: 'POST',
      path: '/api/v1/signup',
      headers: { 'content-type': 'application/json' },
      body: `{"name":""${'a'.repeat(11 * 1024 * 1024)}"}`,
    });
    expectProblem(tooLarge, 413, { label: 'body too large' });
    for (const type of ['application/xml', 'text/plain']) {
      const media = await httpCall(port, {
        method: 'POST',
        path: '/api/v1/signup',
        headers: { 'content-type': type },
        body: '<signup/>',
      });
      expectProblem(media, 415, { label: `media type ${type}` });
    }
    // An unknown method on a known path: 405 with Allow.
    const method = await httpCall(port, { method: 'PUT', path: '/api/v1/contacts' });
    expectProblem(method, 405, { label: 'method' });
    expect(method.body.code).toBe('method_not_allowed');
    expect(String(method.headers.allow).split(', ').sort()).toEqual(['GET', 'HEAD', 'POST']);
    const auth405 = await httpCall(port, { method: 'DELETE', path: '/api/auth/get-session' });
    expectProblem(auth405, 405, { label: 'auth method' });
    // better-auth's own refusals keep their code.
    const signIn = await httpCall(port, {
      method: 'POST',
      path: '/api/auth/sign-in/email',
      headers: { 'content-type': 'application/json', origin: ORIGIN },
      body: JSON.stringify({ email: org.admin.email, password: 'wrong-password-1' }),
    });
    expectProblem(signIn, 401, { label: 'better-auth' });
    expect(signIn.body.code).toBe('invalid_email_or_password');
    const authUnknown = await httpCall(port, { method: 'GET', path: '/api/auth/no-such-endpoint' });
    expectProblem(authUnknown, 404, { label: 'better-auth unknown' });
    // The API reference's own static files.
    expectProblem(await httpCall(port, { method: 'GET', path: '/api/docs/static/missing.js' }), 404, {
      label: 'docs asset',
    });
    // A plain unknown route.
    expectProblem(await httpCall(port, { method: 'GET', path: '/api/v1/nothing' }), 404, {
      label: 'unknown route',
    });
  });

  it('static files answer problem+json on their errors', async () => {
    const dist = mkdtempSync(path.join(tmpdir(), 'cairn-dist-'));
    mkdirSync(path.join(dist, 'assets'));
    writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>Cairn</title>');
    writeFileSync(path.join(dist, 'assets', 'app.js'), 'console.log(1)');
    const app = Fastify();
    installProblemHandlers(app);
    installInputRules(app);
    await registerWebApp(app as unknown as ApiApp, dist);
    await app.ready();
    try {
      const missing = await app.inject({ method: 'GET', url: '/assets/missing.js' });
      expect(missing.statusCode).toBe(404);
      expect(missing.headers['content-type']).toBe(PROBLEM);
      const range = await app.inject({
        method: 'GET',
        url: '/assets/app.js',
        headers: { range: 'bytes=9999-' },
      });
      expect(range.statusCode).toBe(416);
      expect(range.headers['content-type']).toBe(PROBLEM);
      expect(JSON.parse(range.body).code).toBe('range_not_satisfiable');
      const method = await app.inject({ method: 'DELETE', url: '/assets/app.js' });
      expect(method.statusCode).toBe(405);
      expect(method.headers['content-type']).toBe(PROBLEM);
      const ok = await app.inject({ method: 'GET', url: '/assets/app.js' });
      expect(ok.statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});
