import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { withTenant } from '../../src/db/tenant.js';
import { type Client, ORIGIN, type TestApp } from '../harness.js';

/** Uploads `content` as a multipart file, the way a browser form sends it. */
export async function uploadCsv(
  t: TestApp,
  client: Client,
  object: string,
  fileName: string,
  content: string | Buffer,
  extraQuery = '',
) {
  const boundary = `----cairn${Math.random().toString(16).slice(2)}`;
  const payload = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\nContent-Type: text/csv\r\n\r\n`,
    ),
    Buffer.isBuffer(content) ? content : Buffer.from(content),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const res = await t.app.inject({
    method: 'POST',
    url: `/api/v1/imports?object=${object}${extraQuery}`,
    headers: {
      cookie: client.cookieHeader,
      origin: ORIGIN,
      'content-type': `multipart/form-data; boundary=${boundary}`,
    },
    payload,
    remoteAddress: client.ip,
  });
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined, text: res.body };
}

const UNFINISHED = ['queued', 'running', 'reverting'];

/**
 * Runs an import's (or its undo's) job to its end and returns the import as its owner reads it.
 * On the sync queue: drains the queue, after which the import must have finished. On pg-boss:
 * polls until it leaves queued/running/reverting (or `timeoutMs` passes).
 */
export async function waitForImport(t: TestApp, client: Client, id: string, timeoutMs = 240_000) {
  if (t.queue === 'sync') {
    await t.drain();
    const res = await client.get(`/api/v1/imports/${id}`);
    expect(res.status).toBe(200);
    if (UNFINISHED.includes(res.body.status))
      throw new Error(`import ${id} still ${res.body.status} with its queue drained`);
    return res.body;
  }
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await client.get(`/api/v1/imports/${id}`);
    expect(res.status).toBe(200);
    if (!UNFINISHED.includes(res.body.status)) return res.body;
    if (Date.now() > until)
      throw new Error(`import ${id} still ${res.body.status}: ${JSON.stringify(res.body.progress)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Marks an import queued without sending its job (as a crashed worker leaves it), for `runImport` by hand. */
export async function queueWithoutJob(t: TestApp, orgId: string, importId: string) {
  await withTenant(t.services.database, { orgId, actor: { type: 'system', id: null } }, (scope) =>
    scope.tx.execute(sql`update imports set status = 'queued' where org_id = ${orgId} and id = ${importId}`),
  );
}
