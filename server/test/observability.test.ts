import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, startTestApp, type TestApp } from './kit/index.js';

// Issue 30: traces to an OTLP/HTTP endpoint carrying the trace ids the logs carry, and server
// errors to a Sentry-compatible DSN. Both received by a local HTTP server that reads what the
// official clients send (OTLP/JSON at /v1/traces; Sentry envelopes at /api/<project>/envelope/).

type Received = { path: string; body: string };
let collector: Server;
const received: Received[] = [];
let t: TestApp;

const bodyOf = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
};

beforeAll(async () => {
  collector = createServer(async (req, res) => {
    received.push({ path: req.url ?? '', body: await bodyOf(req) });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  const port = (collector.address() as AddressInfo).port;
  t = await startTestApp({
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    OTEL_SERVICE_NAME: 'cairn-test',
    SENTRY_DSN: `http://0123456789abcdef0123456789abcdef@127.0.0.1:${port}/42`,
  });
}, 300_000);
afterAll(async () => {
  await t?.close();
  await new Promise((r) => collector?.close(r));
});

const hex = (id: string) => (/^[0-9a-f]{32}$/.test(id) ? id : Buffer.from(id, 'base64').toString('hex'));

type OtlpSpan = {
  traceId: string;
  name: string;
  attributes: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
};
const spans = (): (OtlpSpan & { service: string })[] =>
  received
    .filter((r) => r.path === '/v1/traces')
    .flatMap((r) =>
      (
        JSON.parse(r.body).resourceSpans as {
          resource: { attributes: { key: string; value: { stringValue: string } }[] };
          scopeSpans: { spans: OtlpSpan[] }[];
        }[]
      ).flatMap((rs) =>
        rs.scopeSpans.flatMap((ss) =>
          ss.spans.map((s) => ({
            ...s,
            traceId: hex(s.traceId),
            service: rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '',
          })),
        ),
      ),
    );

async function until<T>(fn: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('nothing arrived in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('tracing and error reporting', () => {
  it("sends a request's span, named by its route template, with the trace id of its logs", async () => {
    const admin = await signUp(t, 'Traced');
    const traceId = randomBytes(16).toString('hex');
    const res = await admin.client.get('/api/v1/contacts', {
      traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
    });
    expect(res.status).toBe(200);
    // Without a traceparent the trace is the span's own, and the problem body's trace_id is it.
    const missing = await admin.client.get(`/api/v1/contacts/${'0'.repeat(8)}-0000-4000-8000-000000000000`);
    expect(missing.status).toBe(404);
    const ownTrace = missing.body.trace_id as string;
    expect(ownTrace).toMatch(/^[0-9a-f]{32}$/);

    const continued = await until(() => spans().find((s) => s.traceId === traceId));
    expect(continued).toMatchObject({ name: 'GET /api/v1/contacts', service: 'cairn-test' });
    expect(continued.attributes).toContainEqual({
      key: 'http.route',
      value: { stringValue: '/api/v1/contacts' },
    });
    const own = await until(() => spans().find((s) => s.traceId === ownTrace));
    expect(own.name).toBe('GET /api/v1/contacts/:id');
  });

  it('reports a server error (5xx) to the DSN with its trace id, and not a client error', async () => {
    const admin = await signUp(t, 'Reported');
    const original = t.services.jobs.counts;
    t.services.jobs.counts = async () => {
      throw new Error('boom: the queue table went away');
    };
    try {
      const res = await admin.client.get('/api/v1/ops/jobs');
      expect(res.status).toBe(500);
      const traceId = res.body.trace_id as string;
      const envelope = await until(() =>
        received.find((r) => r.path.startsWith('/api/42/envelope') && r.body.includes('boom: the queue')),
      );
      expect(envelope.body).toContain(traceId);
      expect(envelope.body).toContain('/api/v1/ops/jobs');
    } finally {
      t.services.jobs.counts = original;
    }
    const before = received.filter((r) => r.path.startsWith('/api/42/envelope')).length;
    expect((await admin.client.get('/api/v1/ops/alerts?status=nope')).status).toBe(400);
    await new Promise((r) => setTimeout(r, 500));
    expect(received.filter((r) => r.path.startsWith('/api/42/envelope')).length).toBe(before);
  });
});
