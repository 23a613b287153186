import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { REFUSAL_REASONS, type RefusalCode, refusalOf } from './address-policy.js';

/**
 * Outbound HTTP that cannot be pointed at the inside (SSRF, OWASP SSRF Prevention Cheat Sheet):
 * webhooks, workflow HTTP steps and any other request whose URL a tenant chooses go through here.
 *
 * The address checked is the address connected to: a host name is resolved once, by this module's
 * own `lookup` that Node's socket uses to connect, every address it resolves to is checked, and
 * the socket connects to the first of them. A name that resolves to a public address at check time
 * and to 127.0.0.1 at connect time (DNS rebinding) therefore cannot pass: there is no second
 * resolution. Redirects are never followed (a 3xx is the answer). IP literals in any spelling are
 * normalized by the WHATWG URL parser first (`http://2130706433/` is `127.0.0.1`).
 *
 * A host in the operator's allow-list (`OUTBOUND_ALLOWED_HOSTS`, exact host names or IP literals)
 * skips the address checks: the way to reach a receiver on the same machine or network on purpose.
 */
export type OutboundPolicy = {
  /** Host names or IP literals (lower-case; IPv6 without brackets) the checks do not apply to. */
  allowedHosts: readonly string[];
  /** How a host name is resolved; default the system resolver (`dns.lookup`). Tests inject one. */
  resolve?: (hostname: string) => Promise<{ address: string; family: number }[]>;
};

const systemResolve = (hostname: string) => dnsLookup(hostname, { all: true, verbatim: true });

/** Why an outbound request did not get an HTTP answer. */
export type OutboundErrorCode =
  | RefusalCode
  | 'invalid_url'
  | 'unsupported_scheme'
  | 'dns_failed'
  | 'connect_failed'
  | 'timeout'
  | 'response_too_large';

export class OutboundError extends Error {
  constructor(
    readonly code: OutboundErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OutboundError';
  }
}

export type OutboundRequest = {
  /** An HTTP method; WebDAV's (PROPFIND, REPORT) too. Default POST. */
  method?: string;
  headers?: Record<string, string>;
  /** The exact bytes to send. */
  body?: string | Buffer;
  /** The whole exchange, connect to last byte, ms. Default 10,000. */
  timeoutMs?: number;
  /** At most this many bytes of the answer are kept (the rest is read and dropped). Default 64 KiB. */
  maxBodyBytes?: number;
};

export type OutboundResponse = {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The answer's first `maxBodyBytes`, as UTF-8. */
  body: string;
  /** Connect to last byte, ms. */
  durationMs: number;
  /** The address connected to. */
  address: string | undefined;
};

const normalizeHost = (hostname: string) =>
  (hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname).toLowerCase();

/** Whether the policy's allow-list names this URL's host. */
export function isAllowedHost(policy: OutboundPolicy, hostname: string): boolean {
  const host = normalizeHost(hostname);
  return policy.allowedHosts.some((h) => normalizeHost(h) === host);
}

/**
 * Parses and checks a target URL without connecting: http(s) only, no credentials in it, and an IP
 * literal host must be public unless allow-listed (a host name is checked when it is resolved, at
 * connection time). For validating a URL when it is saved.
 * @throws OutboundError `invalid_url`, `unsupported_scheme` or a refusal code
 */
export function checkTargetUrl(raw: string, policy: OutboundPolicy): URL {
  if (!URL.canParse(raw)) throw new OutboundError('invalid_url', 'The URL cannot be parsed');
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new OutboundError('unsupported_scheme', 'Only http and https URLs can be called');
  if (url.username || url.password)
    throw new OutboundError('invalid_url', 'A URL with a user name or password is not accepted');
  const host = normalizeHost(url.hostname);
  if (host === '') throw new OutboundError('invalid_url', 'The URL has no host');
  if (isAllowedHost(policy, host)) return url;
  if (isIP(host)) assertPublic(host, host);
  else if (host === 'localhost' || host.endsWith('.localhost'))
    throw refused('ssrf_loopback', host, '127.0.0.1');
  return url;
}

function refused(code: RefusalCode, host: string, address: string): OutboundError {
  return new OutboundError(
    code,
    `${host} ${host === address ? 'is' : `resolves to ${address},`} ${REFUSAL_REASONS[code]}: outbound requests may not reach it`,
  );
}

function assertPublic(host: string, address: string): void {
  const code = refusalOf(address);
  if (code) throw refused(code, host, address);
}

/**
 * The `lookup` the socket connects with: resolves once, refuses when any address is not public,
 * and hands Node exactly the addresses it checked.
 */
export function guardedLookup(policy: OutboundPolicy): LookupFunction {
  return (hostname, options, callback) => {
    const allowed = isAllowedHost(policy, hostname);
    (policy.resolve ?? systemResolve)(hostname)
      .then((addresses) => {
        if (addresses.length === 0) throw new OutboundError('dns_failed', `${hostname} has no address`);
        if (!allowed) for (const a of addresses) assertPublic(hostname, a.address);
        // Every address was checked: with `all` (Node's happy eyeballs) the socket may try each.
        const first = addresses[0]!;
        if ((options as { all?: boolean }).all) callback(null, addresses);
        else callback(null, first.address, first.family);
      })
      .catch((error: unknown) => {
        const e =
          error instanceof OutboundError
            ? error
            : new OutboundError('dns_failed', `${hostname} could not be resolved`, { cause: error });
        callback(e as NodeJS.ErrnoException, '', 0);
      });
  };
}

/**
 * Sends one request under the policy and reads its answer (status, headers, the body's first
 * bytes, duration). Never throws for an HTTP status: a 500 is an answer.
 * @throws OutboundError with a code when no answer came (refused address, DNS, connect, timeout)
 */
export async function sendOutbound(
  rawUrl: string,
  request: OutboundRequest,
  policy: OutboundPolicy,
): Promise<OutboundResponse> {
  const url = checkTargetUrl(rawUrl, policy);
  const timeoutMs = request.timeoutMs ?? 10_000;
  const maxBody = request.maxBodyBytes ?? 65_536;
  const body = request.body === undefined ? undefined : Buffer.from(request.body);
  const started = performance.now();
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<OutboundResponse>((resolve, reject) => {
    const req = transport.request(
      url,
      {
        method: request.method ?? 'POST',
        headers: {
          'user-agent': 'Cairn-Webhooks/1',
          ...(body ? { 'content-length': String(body.length) } : {}),
          ...request.headers,
        },
        lookup: guardedLookup(policy),
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        const address = res.socket?.remoteAddress;
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (chunk: Buffer) => {
          if (kept >= maxBody) return;
          const part = chunk.subarray(0, maxBody - kept);
          chunks.push(part);
          kept += part.length;
        });
        res.on('end', () => {
          clearTimeout(deadline);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            durationMs: Math.round(performance.now() - started),
            address,
          });
        });
        res.on('error', (error) => fail(error));
      },
    );
    const deadline = setTimeout(() => {
      req.destroy(new OutboundError('timeout', `No answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (error: unknown) => {
      clearTimeout(deadline);
      if (error instanceof OutboundError) return reject(error);
      const code = (error as NodeJS.ErrnoException)?.code;
      reject(
        new OutboundError(
          code === 'ETIMEDOUT' ? 'timeout' : 'connect_failed',
          `The request failed: ${(error as Error)?.message ?? String(error)}`,
          { cause: error },
        ),
      );
    };
    req.on('timeout', () => req.destroy(new OutboundError('timeout', `No answer within ${timeoutMs} ms`)));
    req.on('error', fail);
    // An IP literal is never looked up by Node: check it here, before the socket connects.
    const host = normalizeHost(url.hostname);
    if (isIP(host) && !isAllowedHost(policy, host)) {
      const code = refusalOf(host);
      if (code) return req.destroy(refused(code, host, host));
    }
    req.end(body);
  });
}

/**
 * A `fetch` for libraries that take one (tsdav's CalDAV client): every request goes through
 * `sendOutbound`, so the address checked is the address connected to (a host name that resolves to
 * a public address when a URL is saved and to a private one later, DNS rebinding, is refused when
 * the socket connects). Redirects are not followed (the caller sees the 3xx and its Location);
 * answers are cut at `maxBodyBytes` (default 5 MiB). A refused or failed connection rejects with the
 * OutboundError, as `fetch` rejects on a network error.
 */
export function outboundFetch(
  policy: OutboundPolicy,
  options: { maxBodyBytes?: number; timeoutMs?: number } = {},
): typeof fetch {
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const body = init?.body;
    if (body !== undefined && body !== null && typeof body !== 'string')
      throw new TypeError('outboundFetch sends string bodies only');
    const answer = await sendOutbound(
      url,
      {
        method: init?.method ?? 'GET',
        headers: Object.fromEntries(new Headers(init?.headers).entries()),
        ...(typeof body === 'string' ? { body } : {}),
        maxBodyBytes: options.maxBodyBytes ?? 5 * 1024 * 1024,
        timeoutMs: options.timeoutMs ?? 20_000,
      },
      policy,
    );
    const headers = new Headers();
    for (const [name, value] of Object.entries(answer.headers))
      for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value])
        headers.append(name, v);
    const empty = answer.status === 204 || answer.status === 304 || (init?.method ?? 'GET') === 'HEAD';
    return new Response(empty ? null : answer.body, { status: answer.status, headers });
  };
}

/**
 * `checkTargetUrl`, and a host name is resolved now too: refused when any of its addresses is not
 * public (unless allow-listed). A name that does not resolve passes (it is checked again, and for
 * good, when a request connects). For saving a target with a visible error instead of failing later.
 * @throws OutboundError with the refusal code
 */
export async function checkTargetNow(raw: string, policy: OutboundPolicy): Promise<URL> {
  const url = checkTargetUrl(raw, policy);
  const host = normalizeHost(url.hostname);
  if (isIP(host) || isAllowedHost(policy, host)) return url;
  let addresses: { address: string }[];
  try {
    addresses = await (policy.resolve ?? systemResolve)(host);
  } catch {
    return url;
  }
  for (const a of addresses) assertPublic(host, a.address);
  return url;
}
