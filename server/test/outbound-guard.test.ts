import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusalOf } from '../src/platform/net/address-policy.js';
import {
  checkTargetNow,
  guardedLookup,
  OutboundError,
  outboundFetch,
  sendOutbound,
} from '../src/platform/net/outbound-http.js';

// The SSRF guard (platform/net, issue 31): outbound requests whose URL a tenant chooses never
// reach loopback, private, link-local, CGNAT, multicast or metadata addresses unless the operator
// allow-listed the host, and the address checked is the one the socket connects to.

const NONE = { allowedHosts: [] as string[] };
let receiver: Server;
let port: number;
let hits = 0;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    hits++;
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end('reached'));
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  port = (receiver.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

async function refusal(url: string, policy = NONE): Promise<string> {
  try {
    await sendOutbound(url, { method: 'POST', body: '{}', timeoutMs: 2000 }, policy);
  } catch (error) {
    expect(error).toBeInstanceOf(OutboundError);
    return (error as OutboundError).code;
  }
  throw new Error(`${url} was not refused`);
}

describe('refused targets, each with a code, and nothing reaches the receiver', () => {
  const cases: [string, string][] = [
    ['http://127.0.0.1:PORT/hook', 'ssrf_loopback'],
    ['http://localhost:PORT/hook', 'ssrf_loopback'],
    ['http://169.254.169.254/latest/meta-data/', 'ssrf_metadata'],
    ['http://[fd00:ec2::254]/latest/meta-data/', 'ssrf_metadata'],
    ['http://10.1.2.3:PORT/hook', 'ssrf_private'],
    ['http://192.168.1.10/hook', 'ssrf_private'],
    ['http://172.20.0.1/hook', 'ssrf_private'],
    ['http://100.64.0.1/hook', 'ssrf_cgnat'],
    ['http://169.254.10.10/hook', 'ssrf_link_local'],
    ['http://224.0.0.1/hook', 'ssrf_multicast'],
    ['http://0.0.0.0:PORT/hook', 'ssrf_reserved'],
    ['http://[::1]:PORT/hook', 'ssrf_loopback'],
    ['http://[::ffff:127.0.0.1]:PORT/hook', 'ssrf_mapped'],
    ['http://[::ffff:a9fe:a9fe]/hook', 'ssrf_mapped'],
    ['http://[fe80::1]/hook', 'ssrf_link_local'],
    ['http://[fc00::1]/hook', 'ssrf_private'],
    // Spellings the URL parser normalizes to 127.0.0.1: decimal, hexadecimal, octal, short.
    ['http://2130706433:PORT/hook', 'ssrf_loopback'],
    ['http://0x7f000001:PORT/hook', 'ssrf_loopback'],
    ['http://0177.0.0.1:PORT/hook', 'ssrf_loopback'],
    ['http://127.1:PORT/hook', 'ssrf_loopback'],
    ['ftp://example.com/file', 'unsupported_scheme'],
    ['http://user:pw@example.com/', 'invalid_url'],
    ['not a url', 'invalid_url'],
  ];
  for (const [url, code] of cases) {
    it(`${url} -> ${code}`, async () => {
      const before = hits;
      expect(await refusal(url.replace('PORT', String(port)))).toBe(code);
      expect(hits).toBe(before);
    });
  }

  it('refuses a host name that resolves to loopback, private or metadata addresses', async () => {
    const names: Record<string, string[]> = {
      'loopback.example': ['127.0.0.1'],
      'metadata.example': ['169.254.169.254'],
      // One public and one private address: refused (the socket could be given either).
      'mixed.example': ['93.184.216.34', '10.0.0.7'],
    };
    const policy = {
      allowedHosts: [],
      resolve: async (host: string) => (names[host] ?? []).map((address) => ({ address, family: 4 })),
    };
    const before = hits;
    expect(await refusal(`http://loopback.example:${port}/hook`, policy)).toBe('ssrf_loopback');
    expect(await refusal('http://metadata.example/latest', policy)).toBe('ssrf_metadata');
    expect(await refusal('http://mixed.example/hook', policy)).toBe('ssrf_private');
    expect(hits).toBe(before);
  });

  it('cannot be rebound: a name resolving public when saved and loopback when called is refused when called', async () => {
    let calls = 0;
    const policy = {
      allowedHosts: [],
      // First answer public (the save-time check), every later one 127.0.0.1 (DNS rebinding).
      resolve: async () => [{ address: calls++ === 0 ? '93.184.216.34' : '127.0.0.1', family: 4 }],
    };
    await expect(checkTargetNow(`http://rebind.example:${port}/hook`, policy)).resolves.toBeInstanceOf(URL);
    const before = hits;
    expect(await refusal(`http://rebind.example:${port}/hook`, policy)).toBe('ssrf_loopback');
    expect(hits).toBe(before);
  });

  it('a fetch for libraries (the CalDAV client) is held to the same guard when it connects', async () => {
    let calls = 0;
    const policy = {
      allowedHosts: [],
      resolve: async () => [{ address: calls++ === 0 ? '93.184.216.34' : '10.0.0.7', family: 4 }],
    };
    await expect(checkTargetNow(`http://cal.example:${port}/dav/`, policy)).resolves.toBeInstanceOf(URL);
    const before = hits;
    await expect(
      outboundFetch(policy)(`http://cal.example:${port}/dav/`, { method: 'PROPFIND' }),
    ).rejects.toMatchObject({
      code: 'ssrf_private',
    });
    expect(hits).toBe(before);
    // Allowed: an answer like fetch's, WebDAV method, headers and body through.
    const res = await outboundFetch({ allowedHosts: ['127.0.0.1'] })(`http://127.0.0.1:${port}/dav/`, {
      method: 'REPORT',
      headers: { depth: '1' },
      body: '<x/>',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(await res.text()).toBe('reached');
  });

  it('refuses the machine’s own name when the system resolver gives loopback', async () => {
    const before = hits;
    // `localhost.` (root-qualified) passes the string check and is resolved: 127.0.0.1 or ::1.
    const code = await refusal(`http://localhost.:${port}/hook`);
    expect(['ssrf_loopback', 'dns_failed']).toContain(code);
    expect(hits).toBe(before);
  });

  it('checks the address the socket connects to: the lookup refuses, whatever the URL said', async () => {
    const lookup = guardedLookup(NONE);
    const result = await new Promise<{ error: NodeJS.ErrnoException | null }>((resolve) =>
      lookup('localhost', { all: true }, (error) => resolve({ error })),
    );
    expect((result.error as unknown as OutboundError)?.code).toBe('ssrf_loopback');
  });

  it('refuses at save time too (checkTargetNow), with the same codes', async () => {
    await expect(checkTargetNow('http://169.254.169.254/', NONE)).rejects.toMatchObject({
      code: 'ssrf_metadata',
    });
    await expect(checkTargetNow(`http://localhost:${port}/`, NONE)).rejects.toMatchObject({
      code: 'ssrf_loopback',
    });
  });
});

describe('allowed and public targets', () => {
  it('reaches an allow-listed host on loopback and reports status, body, duration and address', async () => {
    const res = await sendOutbound(
      `http://127.0.0.1:${port}/hook`,
      { method: 'POST', body: '{"a":1}' },
      { allowedHosts: ['127.0.0.1'] },
    );
    expect(res).toMatchObject({ status: 200, body: 'reached', address: '127.0.0.1' });
    expect(res.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('reaches an allow-listed name (localhost) through the guarded lookup', async () => {
    const res = await sendOutbound(`http://localhost:${port}/hook`, {}, { allowedHosts: ['localhost'] });
    expect(res.status).toBe(200);
  });

  it('classifies public addresses as public', () => {
    for (const ip of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '93.184.216.34'])
      expect(refusalOf(ip)).toBeNull();
  });
});
