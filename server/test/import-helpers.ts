import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { type Client, ORIGIN, type TestApp } from './harness.js';

/** The shared real input files (never copied into the repository). */
export const SHARED_DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));
export const readShared = (relative: string) => readFileSync(`${SHARED_DATA}${relative}`);

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

/** Polls an import until it leaves queued/running/reverting (or `timeoutMs` passes). */
export async function waitForImport(client: Client, id: string, timeoutMs = 240_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await client.get(`/api/v1/imports/${id}`);
    expect(res.status).toBe(200);
    if (!['queued', 'running', 'reverting'].includes(res.body.status)) return res.body;
    if (Date.now() > until)
      throw new Error(`import ${id} still ${res.body.status}: ${JSON.stringify(res.body.progress)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
