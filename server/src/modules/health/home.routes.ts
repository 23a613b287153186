import type { ApiApp } from '../../platform/http/types.js';

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cairn CRM</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1f2328}
@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}a{color:#4493f8}}code{font-size:.9em}</style>
</head><body>
<h1>Cairn CRM is running</h1>
<p>The API is served under <code>/api/v1</code>. Its reference, with every route and schema, is at
<a href="/api/docs">/api/docs</a>; the OpenAPI 3.1 document at <a href="/api/openapi.json">/api/openapi.json</a>.</p>
<p>Sign up with <code>POST /api/v1/signup</code> (see the README), or create an organization with
<code>npm run cairn -- create-org --name "Acme" --admin-email you@example.com</code>.</p>
<p>Health: <a href="/health">/health</a> · <a href="/ready">/ready</a> · <a href="/version">/version</a></p>
</body></html>`;

/** The landing page at `/` until the web app is served there. */
export function registerHomeRoute(app: ApiApp): void {
  app.get('/', { schema: { hide: true }, config: { access: 'public' } }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').send(PAGE),
  );
}
