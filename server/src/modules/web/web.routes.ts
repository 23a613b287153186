import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { styleNonceOf } from '../../platform/http/security-headers.js';
import type { ApiApp } from '../../platform/http/types.js';
import { registerHomeRoute } from '../health/home.routes.js';

/** Where `npm run build -w web` puts the web app: `web/dist` at the repository root. */
export const WEB_DIST_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../web/dist',
);

/** What the web build writes as `index.html`'s CSP nonce (`html.cspNonce` in web/vite.config.ts). */
const CSP_NONCE_PLACEHOLDER = 'CAIRN_CSP_NONCE';

/**
 * Serves the web app at `/`, same origin as the API so the session cookie just works: hashed
 * assets under `/assets/` (cached for a year, immutable; the `.br` / `.gz` copies the build wrote
 * are sent to clients that accept them, with `Content-Encoding` and `Vary: Accept-Encoding`), and
 * `index.html` (never cached, carrying this response's CSP style nonce) for every other GET
 * outside `/api/`, so the app's own routes (`/contacts/…`) load on refresh. Unknown `/api/` paths
 * stay problem+json 404s. Without a build, `/` shows the landing page.
 */
export async function registerWebApp(app: ApiApp, distDir = WEB_DIST_DIR): Promise<void> {
  const indexFile = path.join(distDir, 'index.html');
  if (!existsSync(indexFile)) {
    registerHomeRoute(app);
    return;
  }
  const indexHtml = readFileSync(indexFile, 'utf8');
  await app.register(fastifyStatic, {
    root: distDir,
    prefix: '/',
    wildcard: false,
    index: false,
    preCompressed: true,
    // index.html goes out only through sendIndex, with its nonce filled in.
    allowedPath: (pathName) => !pathName.startsWith('/index.html'),
    setHeaders(res, filePath) {
      res.header(
        'cache-control',
        filePath.includes(`${path.sep}assets${path.sep}`)
          ? 'public, max-age=31536000, immutable'
          : 'public, max-age=3600',
      );
    },
  });
  const sendIndex = async (_req: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-cache');
    return reply
      .type('text/html; charset=utf-8')
      .send(indexHtml.replaceAll(CSP_NONCE_PLACEHOLDER, styleNonceOf(reply.raw)));
  };
  app.get('/', { schema: { hide: true }, config: { access: 'public' } }, sendIndex);
  app.get('/*', { schema: { hide: true }, config: { access: 'public' } }, async (req, reply) => {
    const pathname = req.url.split('?')[0] ?? '';
    // Not the app's: the API's not-found answer (404, 405 for a known path, 414 for a long segment).
    if (pathname.startsWith('/api/') || pathname.startsWith('/assets/') || path.extname(pathname) !== '') {
      return reply.callNotFound();
    }
    return sendIndex(req, reply);
  });
}
