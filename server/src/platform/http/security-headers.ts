import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';
import type { Config } from '../../config.js';

/**
 * Features the app never uses, switched off for the page and anything it embeds (W3C Permissions
 * Policy; helmet does not send this header). Only names Chromium recognizes, so the console stays
 * free of "unrecognized feature" warnings.
 */
export const PERMISSIONS_POLICY = [
  'accelerometer',
  'camera',
  'display-capture',
  'geolocation',
  'gyroscope',
  'magnetometer',
  'microphone',
  'midi',
  'payment',
  'usb',
  'browsing-topics',
]
  .map((feature) => `${feature}=()`)
  .join(', ');

/**
 * The reference page `/api/docs` (@fastify/swagger-ui 6 loads its scripts and styles from files, no
 * inline script); its images include data: URIs. Its bundle inserts one fixed `<style>` at start-up,
 * admitted by its hash (the one Chromium reports when it is blocked; a swagger-ui upgrade that
 * changes it shows up as a console error on the page, nothing breaks). Set by the plugin's
 * `staticCSP` on its own routes.
 */
export const API_DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const styleNonces = new WeakMap<ServerResponse, string>();

/**
 * The CSP nonce of this response's `style-src`: the one value the web app's `index.html` hands to
 * Mantine (`getStyleNonce`) and Tiptap (`injectNonce`) for the `<style>` elements they insert.
 * 128 random bits per response (CSP Level 3 §7.1 asks for at least 128).
 */
export function styleNonceOf(res: ServerResponse): string {
  let nonce = styleNonces.get(res);
  if (!nonce) {
    nonce = randomBytes(16).toString('base64');
    styleNonces.set(res, nonce);
  }
  return nonce;
}

/**
 * Security headers on every response, errors included (helmet, OWASP Secure Headers):
 *
 * - `Content-Security-Policy` of the web app: scripts only from the app's own files (no inline
 *   script, no `eval`); `<style>` elements only with this response's nonce (Mantine writes its CSS
 *   variables into `<style>` tags at run time; a nonce admits those and nothing an attacker injects,
 *   where `'unsafe-inline'` would admit both); `style` attributes are not allowed (React and Mantine
 *   set styles through the CSSOM, which CSP does not govern); images and fonts from the app or
 *   `data:` URIs; no plugins, no framing (`frame-ancestors 'none'`), forms and `<base>` same-origin;
 *   `upgrade-insecure-requests` only when `BASE_URL` is https. `/api/docs` sends its own
 *   ({@link API_DOCS_CSP}).
 * - `Referrer-Policy: strict-origin-when-cross-origin`: `no-referrer` would make browsers send
 *   `Origin: null` on same-origin POSTs (Fetch §3.1), which the CSRF check rejects.
 * - `Strict-Transport-Security` (one year, subdomains) only when `BASE_URL` is https.
 * - `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff`, `Cross-Origin-Opener-Policy`,
 *   `Cross-Origin-Resource-Policy: same-origin` (helmet's defaults) and `Permissions-Policy`.
 * - `X-Trace-Id`: the request's trace id (`trace.ts`), the one its log lines carry.
 * - `Cache-Control: no-store` on everything under `/api/` (personal data must not sit in a browser
 *   or proxy cache), except the docs page's static files.
 */
export async function installSecurityHeaders(app: FastifyInstance, config: Config): Promise<void> {
  const https = new URL(config.baseUrl).protocol === 'https:';
  const options = (styleSrc: Array<string | ((req: IncomingMessage, res: ServerResponse) => string)>) =>
    ({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          'default-src': ["'self'"],
          'script-src': ["'self'"],
          'script-src-attr': ["'none'"],
          'style-src': styleSrc,
          'img-src': ["'self'", 'data:'],
          'font-src': ["'self'", 'data:'],
          'connect-src': ["'self'"],
          'object-src': ["'none'"],
          'base-uri': ["'self'"],
          'form-action': ["'self'"],
          'frame-ancestors': ["'none'"],
          ...(https ? { 'upgrade-insecure-requests': [] } : {}),
        },
      },
      frameguard: { action: 'deny' },
      referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
      strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    }) satisfies HelmetOptions;
  // Built once (helmet validates and serializes its options when built, not per response).
  const pageHeaders = helmet(
    options(["'self'", (_req, res) => `'nonce-${styleNonceOf(res as ServerResponse)}'`]),
  );
  // API answers carry no page, so no nonce: their header set is the same for every response and
  // is computed once, by running helmet on a response that records what it sets.
  const apiHeaders = { ...headersOf(helmet(options(["'self'"]))), 'cache-control': 'no-store' };
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-trace-id', String(req.id));
    reply.header('permissions-policy', PERMISSIONS_POLICY);
    if (req.url.startsWith('/api/') && !req.url.startsWith('/api/docs')) {
      reply.headers(apiHeaders);
      return done();
    }
    pageHeaders(req.raw, reply.raw, (error?: unknown) => done(error as Error | undefined));
    if (req.url.startsWith('/api/') && !req.url.startsWith('/api/docs/static/')) {
      reply.header('cache-control', 'no-store');
    }
  });
}

/** The headers a helmet middleware sets, recorded from a stand-in response. */
function headersOf(middleware: ReturnType<typeof helmet>): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: string) => {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader: (name: string) => {
      delete headers[name.toLowerCase()];
    },
  };
  middleware({} as IncomingMessage, res as unknown as ServerResponse, () => {});
  return headers;
}
