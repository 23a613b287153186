import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapDatabaseError } from '../src/platform/errors/db-errors.js';
import { signUp, startTestApp, type TestApp, uniqueEmail } from './harness.js';
import { uploadCsv } from './kit/imports.js';
import { type OpenApiDocument, operationsOf } from './openapi-walk.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ BODY_LIMIT: '4096' });
});
afterAll(() => t?.close());

describe('OpenAPI and the reference', () => {
  it('serves an OpenAPI 3.1 document listing every registered API route', async () => {
    const res = await t.client().get('/api/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const documented = new Set(
      Object.entries(res.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    const apiRoutes = t.routes.filter((r) => r.url.startsWith('/api/v1/'));
    expect(apiRoutes.length).toBeGreaterThan(5);
    for (const r of apiRoutes) {
      expect(documented, `${r.method} ${r.url}`).toContain(
        `${r.method} ${r.url.replace(/:([A-Za-z_]+)/g, '{$1}')}`,
      );
    }
    expect(res.body.components.schemas.Problem).toBeDefined();
  });

  it('names every operation with a unique camelCase operationId and the right security', async () => {
    const doc = (await t.client().get('/api/openapi.json')).body as OpenApiDocument;
    const operations = operationsOf(doc);
    expect(operations.length).toBeGreaterThan(100);
    const ids = operations.map((o) => o.op.operationId);
    expect(ids.filter((id) => !id || !/^[a-z][A-Za-z0-9]*$/.test(id))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    const publicOps = operations.filter((o) => Array.isArray(o.op.security) && o.op.security.length === 0);
    expect(publicOps.map((o) => o.op.operationId).sort()).toEqual(
      [
        'acceptInvitation',
        'downloadFile',
        // A public form's proof-of-work challenge and its submissions (issue 31).
        'getFormChallenge',
        'ingestFormSubmission',
        // A customer's answer to a quote: the signed link is the credential (issue 29).
        'acceptPublicQuote',
        'getPublicQuotePdf',
        'payPublicQuote',
        'rejectPublicQuote',
        'viewPublicQuote',
        // A booking page, its slots and bookings; the visitor's link to move or cancel (issue 33).
        'getPublicBookingPage',
        'getPublicBookingSlots',
        'createPublicBooking',
        'getPublicBooking',
        'cancelPublicBooking',
        'reschedulePublicBooking',
        // Twilio's messaging webhook: its X-Twilio-Signature is the credential (issue 23).
        'receiveEmailProviderEvents',
        'receiveEmailProviderInbound',
        'receiveStripeWebhook',
        'receiveTwilioWebhook',
        // Meta's page webhook and its handshake: X-Hub-Signature-256 and the verify token are the credentials (issue 31).
        'receiveMetaWebhook',
        'verifyMetaWebhook',
        // A workflow's inbound webhook: the secret token in its URL is the credential (issue 24).
        'postWorkflowInbound',
        // A sequence e-mail's unsubscribe page and RFC 8058 one-click: the signed token is the credential (issue 25).
        'showUnsubscribePage',
        'unsubscribe',
        'getHealth',
        // The Prometheus scrape: its own bearer token from the configuration (issue 30).
        'getMetrics',
        'getReadiness',
        'getVersion',
        'previewInvitation',
        'requestPasswordReset',
        'resetPassword',
        'signUp',
        'verifyEmail',
      ].sort(),
    );
    for (const o of operations.filter((x) => !publicOps.includes(x))) {
      // The caller's own routes take the session only; the others the session or an API key.
      expect([[{ session: [] }], [{ session: [] }, { apiKey: [] }]], o.id).toContainEqual(o.op.security);
      expect(Object.keys(o.op.responses), o.id).toEqual(expect.arrayContaining(['401', '403']));
    }
    for (const o of operations) {
      expect(Object.keys(o.op.responses), o.id).toEqual(expect.arrayContaining(['400', '429', '503']));
      for (const [status, response] of Object.entries(o.op.responses)) {
        if (Number(status) >= 400 && !(o.path === '/ready' && status === '503'))
          expect(Object.keys(response.content ?? {}), `${o.id} ${status}`).toEqual([
            'application/problem+json',
          ]);
      }
      if (o.method !== 'GET')
        expect(Object.keys(o.op.responses), o.id).toEqual(expect.arrayContaining(['413', '415']));
    }
  });

  it('answers a boolean query parameter with 400 unless it is true or false', async () => {
    const { client } = await signUp(t);
    const upload = await uploadCsv(t, client, 'contact', 'rows.csv', 'First name\nAda\n');
    expect(upload.status).toBe(201);
    const rows = `/api/v1/imports/${upload.body.id}/rows`;
    expect((await client.get(`${rows}?with_problems=banana`)).status).toBe(400);
    expect((await client.get(`${rows}?with_problems=false`)).status).toBe(200);
    const doc = (await t.client().get('/api/openapi.json')).body as OpenApiDocument;
    const param = doc.paths['/api/v1/imports/{id}/rows']!.get!.parameters!.find(
      (p) => p.name === 'with_problems',
    );
    expect([...((param?.schema.enum ?? []) as string[])].sort()).toEqual(['0', '1', 'false', 'true']);
  });

  it('serves the API reference page and its assets from this server', async () => {
    const page = await t.client().get('/api/docs/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('swagger-ui');
    const asset = await t.client().get('/api/docs/static/swagger-ui-bundle.js');
    expect(asset.status).toBe(200);
  });
});

describe('problem+json errors', () => {
  it('rejects unknown fields, naming each one, with the request trace id from traceparent', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await t
      .client()
      .request(
        'POST',
        '/api/v1/signup',
        { organization_name: 'X', name: 'X', email: uniqueEmail(), password: 'Good-pass-1', is_admin: true },
        { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      );
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      status: 400,
      code: 'validation_failed',
      path: 'body.is_admin',
      trace_id: traceId,
    });
    expect(res.headers['x-trace-id']).toBe(traceId);
  });

  it('names every invalid field with its path', async () => {
    const res = await t.client().post('/api/v1/signup', {
      organization_name: '',
      name: 'X'.repeat(500),
      email: 'not-an-email',
      password: 1,
    });
    expect(res.status).toBe(400);
    const paths = res.body.errors.map((e: { path: string }) => e.path).sort();
    expect(paths).toEqual(['body.email', 'body.name', 'body.organization_name', 'body.password']);
  });

  it('rejects a malformed id in the path with 400, not 500', async () => {
    const { client } = await signUp(t);
    const res = await client.delete('/api/v1/invitations/not-a-uuid');
    expect(res.status).toBe(400);
    expect(res.body.path).toBe('params.id');
  });

  it('rejects malformed JSON with 400 invalid_json', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/signup',
      headers: { 'content-type': 'application/json' },
      payload: '{"a":',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('invalid_json');
  });

  it('rejects a body over the size limit with 413', async () => {
    const res = await t.client().post('/api/v1/signup', { organization_name: 'x'.repeat(10_000) });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('payload_too_large');
  });

  it('answers an unknown route with 404 problem+json', async () => {
    const res = await t.client().get('/api/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('route_not_found');
  });

  it('maps database errors in one place: unique violation 409, foreign key 422, RLS 404', () => {
    expect(mapDatabaseError({ code: '23505', constraint: 'contacts_org_id_email_key' })).toMatchObject({
      status: 409,
      code: 'unique_violation',
      path: 'email',
    });
    expect(mapDatabaseError(new Error('Failed query', { cause: { code: '23503' } }))).toMatchObject({
      status: 422,
      code: 'reference_not_found',
    });
    expect(mapDatabaseError({ code: '42501' })).toMatchObject({ status: 404 });
    expect(mapDatabaseError(new Error('plain bug'))).toBeUndefined();
  });
});

describe('operations endpoints', () => {
  it('/health, /ready and /version answer', async () => {
    const c = t.client();
    expect((await c.get('/health')).body).toEqual({ status: 'ok' });
    expect((await c.get('/ready')).body).toEqual({ status: 'ready', database: 'ok', migrations: 'current' });
    const version = (await c.get('/version')).body;
    expect(version.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(version.schema_version).toMatch(/^\d{4}_/);
  });
});

describe('Idempotency-Key', () => {
  it('replays the first response to the same POST instead of creating twice', async () => {
    const { client } = await signUp(t);
    const key = `create-${Date.now()}`;
    const first = await client.post('/api/v1/contacts', { first_name: 'Once' }, { 'idempotency-key': key });
    const again = await client.post('/api/v1/contacts', { first_name: 'Once' }, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const listed = await client.get(
      `/api/v1/contacts?filter=${encodeURIComponent(JSON.stringify({ field: 'first_name', op: 'eq', value: 'Once' }))}`,
    );
    expect(listed.body.data).toHaveLength(1);
    const other = await client.post(
      '/api/v1/contacts',
      { first_name: 'Different' },
      { 'idempotency-key': key },
    );
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency_key_reused');
  });

  it('keeps keys per tenant', async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    const key = 'same-key-in-two-tenants';
    const ra = await a.client.post('/api/v1/contacts', { first_name: 'A' }, { 'idempotency-key': key });
    const rb = await b.client.post('/api/v1/contacts', { first_name: 'A' }, { 'idempotency-key': key });
    expect(rb.status).toBe(201);
    expect(rb.body.id).not.toBe(ra.body.id);
  });
});
