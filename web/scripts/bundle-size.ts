/**
 * The performance budget of the web app: what the first page load transfers, at most 200 KB.
 * Starts the real server (`server/dist/main.js serve`, embedded database in a temporary
 * directory, on a free port), requests `index.html` and every file it references (entry script,
 * module preloads, style sheets, icon) as a browser does, with `Accept-Encoding: br, gzip`, and
 * counts the bytes that arrive: status line, headers and the body as sent (compressed). Prints
 * the figure per response and in total; exits 1 above the budget.
 *
 *   npm run bundle-size -w web     (after `npm run build`: the server and the web app)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';

const BUDGET_BYTES = 200 * 1024;
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '../..');
const serverMain = path.join(root, 'server/dist/main.js');

type Transfer = {
  url: string;
  status: number;
  encoding: string;
  headerBytes: number;
  bodyBytes: number;
  body: Buffer;
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** One GET as a browser sends it; the body is counted as it arrives, not decompressed. */
function get(url: string): Promise<Transfer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { 'accept-encoding': 'br, gzip', accept: '*/*' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        // "HTTP/1.1 200 OK\r\n", each "name: value\r\n", the closing "\r\n".
        let headerBytes = `HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\n\r\n`.length;
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          headerBytes += Buffer.byteLength(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`);
        }
        resolve({
          url,
          status: res.statusCode ?? 0,
          encoding: String(res.headers['content-encoding'] ?? 'identity'),
          headerBytes,
          bodyBytes: body.length,
          body,
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitUntilUp(base: string, server: ChildProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the server exited with ${server.exitCode}`);
    try {
      if ((await get(`${base}/health`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the server did not answer /health within 120 s');
}

async function main(): Promise<number> {
  if (!existsSync(serverMain) || !existsSync(path.join(root, 'web/dist/index.html'))) {
    console.error('Build the server and the web app first: npm run build');
    return 1;
  }
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'cairn-bundle-size-'));
  const server = spawn(process.execPath, [serverMain, 'serve'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      BASE_URL: base,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    await waitUntilUp(base, server);
    const page = await get(`${base}/`);
    if (page.status !== 200) throw new Error(`GET / answered ${page.status}`);
    return await measure(base, page, decode(page).toString('utf8'));
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The body as the client reads it (index.html may go out compressed too). */
function decode(t: Transfer): Buffer {
  if (t.encoding === 'br') return brotliDecompressSync(t.body);
  if (t.encoding === 'gzip') return gunzipSync(t.body);
  return t.body;
}

async function measure(base: string, page: Transfer, html: string): Promise<number> {
  const refs = [
    ...html.matchAll(/<script[^>]+src="([^"]+)"/g),
    ...html.matchAll(/<link[^>]+rel="(?:modulepreload|stylesheet|icon)"[^>]*href="([^"]+)"/g),
    ...html.matchAll(/<link[^>]+href="([^"]+)"[^>]*rel="(?:modulepreload|stylesheet|icon)"/g),
  ]
    .map((m) => m[1]!)
    .filter((href) => href.startsWith('/') && !href.startsWith('//'));
  if (!refs.some((r) => r.endsWith('.js'))) throw new Error('index.html references no script');
  const transfers = [page, ...(await Promise.all([...new Set(refs)].map((r) => get(`${base}${r}`))))];
  let total = 0;
  for (const t of transfers) {
    if (t.status !== 200) throw new Error(`${t.url} answered ${t.status}`);
    const bytes = t.headerBytes + t.bodyBytes;
    total += bytes;
    console.log(
      `${(bytes / 1024).toFixed(1).padStart(8)} KB  ${t.encoding.padEnd(8)} ${new URL(t.url).pathname}`,
    );
  }
  const verdict = total <= BUDGET_BYTES ? 'within' : 'OVER';
  console.log(
    `${(total / 1024).toFixed(1).padStart(8)} KB  transferred by the first page load (headers included), ${verdict} the 200 KB budget`,
  );
  return total <= BUDGET_BYTES ? 0 : 1;
}

process.exitCode = await main().catch((error: unknown) => {
  console.error(error);
  return 1;
});
