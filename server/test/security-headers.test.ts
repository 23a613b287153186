import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_DOCS_CSP } from '../src/platform/http/security-headers.js';
import { type Client, ORIGIN, signUp, startTestApp, type TestApp } from './harness.js';

/** A web build as `npm run build -w web` writes it: index.html with the nonce placeholder, assets with .br/.gz. */
function fakeWebBuild(): { dir: string; script: Buffer; br: Buffer; gz: Buffer } {
  const dir = mkdtempSync(path.join(tmpdir(), 'cairn-web-'));
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(
    path.join(dir, 'index.html'),
    '<!doctype html><html><head><meta property="csp-nonce" nonce="CAIRN_CSP_NONCE">' +
      '<script type="module" src="/assets/app-1a2b.js" nonce="CAIRN_CSP_NONCE"></script></head>' +
      '<body><div id="root"></div></body></html>',
  );
  const script = Buffer.from(
    `export const rows = ${JSON.stringify(Array.from({ length: 400 }, (_, i) => `row ${i}`))};\n`,
  );
  // Distinct bytes from what the server would produce itself (brotli 11 / gzip 1 here, the
  // server compresses at brotli 4), so the test sees which one was sent.
  const br = brotliCompressSync(script);
  const gz = gzipSync(script, { level: 1 });
  writeFileSync(path.join(dir, 'assets/app-1a2b.js'), script);
  writeFileSync(path.join(dir, 'assets/app-1a2b.js.br'), br);
  writeFileSync(path.join(dir, 'assets/app-1a2b.js.gz'), gz);
  return { dir, script, br, gz };
}

const directives = (csp: unknown): Map<string, string> =>
  new Map(
    String(csp)
      .split(';')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => {
        const [name, ...values] = d.split(/\s+/);
        return [name!, values.join(' ')];
      }),
  );

/** The headers every response carries, whatever its route or status (OWASP Secure Headers). */
function expectSecurityHeaders(headers: Record<string, unknown>) {
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
  expect(headers['x-frame-options']).toBe('DENY');
  expect(String(headers['permissions-policy'])).toMatch(/camera=\(\)/);
  expect(String(headers['permissions-policy'])).toMatch(/microphone=\(\)/);
  expect(String(headers['permissions-policy'])).toMatch(/geolocation=\(\)/);
  const csp = directives(headers['content-security-policy']);
  expect(csp.get('frame-ancestors')).toBe("'none'");
  expect(csp.get('script-src')).toBe("'self'");
  expect(csp.get('object-src')).toBe("'none'");
}

describe('security headers and compression over http', () => {
  let t: TestApp;
  let web: ReturnType<typeof fakeWebBuild>;
  beforeAll(async () => {
    web = fakeWebBuild();
    t = await startTestApp({}, undefined, { webDistDir: web.dir });
  });
  afterAll(() => t?.close());

  /** An organization with 30 contacts (made once): a contacts page of about 20 KB. */
  let contacts: Promise<Client> | undefined;
  const withContacts = () => {
    contacts ??= (async () => {
      const { client } = await signUp(t, 'Compress Co');
      for (let i = 0; i < 30; i++) {
        const res = await client.post('/api/v1/contacts', {
          first_name: `Exported${i}`,
          last_name: 'Row',
          emails: [{ value: `person${i}@example.com` }],
        });
        if (res.status !== 201) throw new Error(`contact: ${res.status} ${res.text}`);
      }
      return client;
    })();
    return contacts;
  };

  it('the app page carries a CSP without inline script and a fresh style nonce that index.html hands to the app', async () => {
    const first = await t.app.inject({ method: 'GET', url: '/contacts' });
    expect(first.statusCode).toBe(200);
    expectSecurityHeaders(first.headers);
    expect(first.headers['strict-transport-security']).toBeUndefined();
    const csp = directives(first.headers['content-security-policy']);
    expect(csp.get('script-src')).not.toMatch(/unsafe|nonce|data:/);
    expect(csp.get('script-src-attr')).toBe("'none'");
    expect(csp.get('default-src')).toBe("'self'");
    expect(csp.has('upgrade-insecure-requests')).toBe(false);
    const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(csp.get('style-src') ?? '')?.[1];
    expect(nonce).toBeDefined();
    expect(csp.get('style-src')).not.toMatch(/unsafe-inline/);
    expect(first.body).toContain(`<meta property="csp-nonce" nonce="${nonce}">`);
    expect(first.body).not.toContain('CAIRN_CSP_NONCE');

    const second = await t.app.inject({ method: 'GET', url: '/' });
    expect(second.body).not.toContain(nonce);
    // The raw build file, placeholder and all, is never served.
    expect((await t.app.inject({ method: 'GET', url: '/index.html' })).body).not.toContain('CAIRN_CSP_NONCE');
  });

  it('an API response with personal data is not cached and carries the same headers', async () => {
    const { client } = await signUp(t, 'Headers Co');
    const me = await client.get('/api/v1/me');
    expect(me.status).toBe(200);
    expect(me.headers['cache-control']).toBe('no-store');
    expectSecurityHeaders(me.headers);
  });

  it('problem+json errors (404, 401, 400) carry the headers too', async () => {
    const res = await t.client().get('/api/v1/no-such-thing');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['cache-control']).toBe('no-store');
    expectSecurityHeaders(res.headers);
    // Errors raised further in (the access guard, a route's validation) carry them as well.
    const unauthenticated = await t.client().get('/api/v1/me');
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers['cache-control']).toBe('no-store');
    expectSecurityHeaders(unauthenticated.headers);
    const { client } = await signUp(t, 'Errors Co');
    const invalid = await client.post('/api/v1/contacts', { first_name: 5 });
    expect(invalid.status).toBe(400);
    expect(invalid.headers['cache-control']).toBe('no-store');
    expectSecurityHeaders(invalid.headers);
    const asset = await t.client().get('/assets/missing-0000.js');
    expect(asset.status).toBe(404);
    expectSecurityHeaders(asset.headers);
  });

  it('the API reference page has its own CSP, still without inline script or framing', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-security-policy']).toBe(API_DOCS_CSP);
    const csp = directives(res.headers['content-security-policy']);
    expect(csp.get('script-src')).toBe("'self'");
    expect(csp.get('frame-ancestors')).toBe("'none'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('a large API response is compressed for a client that accepts it, a small one is not', async () => {
    const client = await withContacts();
    const plain = await t.app.inject({
      method: 'GET',
      url: '/api/v1/contacts?limit=50',
      headers: { cookie: client.cookieHeader },
    });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.rawPayload.length).toBeGreaterThan(1024);

    const br = await t.app.inject({
      method: 'GET',
      url: '/api/v1/contacts?limit=50',
      headers: { cookie: client.cookieHeader, 'accept-encoding': 'br, gzip' },
    });
    expect(br.statusCode).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(String(br.headers.vary)).toMatch(/accept-encoding/i);
    expect(br.headers['cache-control']).toBe('no-store');
    expect(br.rawPayload.length).toBeLessThan(plain.rawPayload.length / 3);
    const items = JSON.parse(brotliDecompressSync(br.rawPayload).toString('utf8')).data;
    expect(items.map((c: { first_name: string }) => c.first_name).sort()).toEqual(
      JSON.parse(plain.body)
        .data.map((c: { first_name: string }) => c.first_name)
        .sort(),
    );

    const small = await t.app.inject({
      method: 'GET',
      url: '/health',
      headers: { 'accept-encoding': 'br, gzip' },
    });
    expect(small.statusCode).toBe(200);
    expect(small.headers['content-encoding']).toBeUndefined();
  });

  it('an idempotent POST is replayed whole to a client that accepts compression', async () => {
    const { client } = await signUp(t, 'Replay Co');
    const body = JSON.stringify({
      first_name: 'Replayed',
      last_name: 'Compressed',
      tags: Array.from({ length: 20 }, (_, i) => `a-rather-long-tag-number-${i}`),
      emails: Array.from({ length: 5 }, (_, i) => ({ value: `replayed.person.${i}@example.com` })),
    });
    const send = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/contacts',
        payload: body,
        headers: {
          cookie: client.cookieHeader,
          origin: ORIGIN,
          'content-type': 'application/json',
          'accept-encoding': 'br',
          'idempotency-key': 'replay-compressed-1',
        },
      });
    const first = await send();
    expect(first.statusCode).toBe(201);
    expect(first.headers['content-encoding']).toBe('br');
    const again = await send();
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers['content-encoding']).toBe('br');
    const created = JSON.parse(brotliDecompressSync(first.rawPayload).toString('utf8'));
    expect(JSON.parse(brotliDecompressSync(again.rawPayload).toString('utf8'))).toEqual(created);
    const list = await client.get('/api/v1/contacts?q=Replayed');
    expect(list.body.data).toHaveLength(1);
  });

  it("the web app's assets go out as the build's brotli or gzip file, by what the client accepts", async () => {
    const br = await t.app.inject({
      method: 'GET',
      url: '/assets/app-1a2b.js',
      headers: { 'accept-encoding': 'gzip, deflate, br' },
    });
    expect(br.statusCode).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(String(br.headers.vary)).toMatch(/accept-encoding/i);
    expect(br.headers['content-type']).toMatch(/javascript/);
    expect(br.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(br.rawPayload.equals(web.br)).toBe(true);

    const gz = await t.app.inject({
      method: 'GET',
      url: '/assets/app-1a2b.js',
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.rawPayload.equals(web.gz)).toBe(true);
    expect(gunzipSync(gz.rawPayload).equals(web.script)).toBe(true);

    const plain = await t.app.inject({ method: 'GET', url: '/assets/app-1a2b.js' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.rawPayload.equals(web.script)).toBe(true);
    expectSecurityHeaders(plain.headers);
  });

  it('a streamed CSV or JSON-lines export still arrives whole when compressed', async () => {
    const client = await withContacts();
    const csv = await t.app.inject({
      method: 'GET',
      url: '/api/v1/contacts/export?format=csv',
      headers: { cookie: client.cookieHeader, 'accept-encoding': 'gzip' },
    });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-encoding']).toBe('gzip');
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.headers['cache-control']).toBe('no-store');
    const lines = gunzipSync(csv.rawPayload).toString('utf8').trim().split(/\r?\n/);
    expect(lines).toHaveLength(31);
    expect(lines.filter((l) => /Exported\d+/.test(l))).toHaveLength(30);

    const jsonl = await t.app.inject({
      method: 'GET',
      url: '/api/v1/contacts/export?format=jsonl',
      headers: { cookie: client.cookieHeader, 'accept-encoding': 'br' },
    });
    expect(jsonl.statusCode).toBe(200);
    expect(jsonl.headers['content-encoding']).toBe('br');
    const records = brotliDecompressSync(jsonl.rawPayload)
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(records).toHaveLength(30);
  });
});

describe('security headers over https', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ BASE_URL: 'https://crm.cairn.test' });
  });
  afterAll(() => t?.close());

  it('HSTS and upgrade-insecure-requests are sent only when BASE_URL is https', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(directives(res.headers['content-security-policy']).has('upgrade-insecure-requests')).toBe(true);
    expectSecurityHeaders(res.headers);
  });
});
