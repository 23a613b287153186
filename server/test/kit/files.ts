import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Client, ORIGIN, type TestApp } from '../harness.js';

/** Uploads `content` as a browser's multipart form sends a file: POST /api/v1/files?object=&id=. */
export async function uploadFile(
  t: TestApp,
  client: Client,
  record: { object: string; id: string },
  fileName: string,
  content: string | Buffer,
  contentType = 'application/octet-stream',
) {
  const boundary = `----cairn${Math.random().toString(16).slice(2)}`;
  const payload = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\nContent-Type: ${contentType}\r\n\r\n`,
    ),
    Buffer.isBuffer(content) ? content : Buffer.from(content),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const res = await t.app.inject({
    method: 'POST',
    url: `/api/v1/files?object=${record.object}&id=${record.id}`,
    headers: {
      cookie: client.cookieHeader,
      origin: ORIGIN,
      'content-type': `multipart/form-data; boundary=${boundary}`,
    },
    payload,
    remoteAddress: client.ip,
  });
  let body: any;
  try {
    body = res.body ? JSON.parse(res.body) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.statusCode, headers: res.headers, body, text: res.body };
}

/** Downloads a file through a fresh link, as a browser would (no cookie: the token is the capability). */
export async function downloadFile(t: TestApp, client: Client, fileId: string) {
  const link = await client.post(`/api/v1/files/${fileId}/link`);
  if (link.status !== 200) return { status: link.status, headers: link.headers, raw: Buffer.from(link.text) };
  const res = await t.app.inject({ method: 'GET', url: link.body.url });
  return { status: res.statusCode, headers: res.headers, raw: res.rawPayload, url: link.body.url as string };
}

/** The EICAR anti-virus test string (https://www.eicar.org): harmless, detected by every scanner. */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

/** Where Debian's clamav-daemon puts clamd (`apt-get install clamav-daemon`). */
export const CLAMD = ['/usr/sbin/clamd', '/usr/bin/clamd'].find((p) => existsSync(p));

export type Clamd = { url: string; stop(): Promise<void> };

/**
 * Starts a clamd of the test's own on a free TCP port, with a signature database made here that
 * holds only the EICAR test signature (a body signature, `.ndb`: no download, no freshclam).
 */
export async function startClamd(): Promise<Clamd> {
  if (!CLAMD) throw new Error('clamd is not installed: apt-get install -y clamav-daemon');
  const dir = mkdtempSync(path.join(tmpdir(), 'cairn-clamd-'));
  const db = path.join(dir, 'db');
  const { mkdirSync, chmodSync } = await import('node:fs');
  mkdirSync(db);
  chmodSync(dir, 0o755);
  chmodSync(db, 0o755);
  writeFileSync(
    path.join(db, 'eicar.ndb'),
    `Eicar-Test-Signature:0:*:${Buffer.from(EICAR).toString('hex')}\n`,
    {
      mode: 0o644,
    },
  );
  const port = await freePort();
  const conf = path.join(dir, 'clamd.conf');
  writeFileSync(
    conf,
    [
      `DatabaseDirectory ${db}`,
      `TCPSocket ${port}`,
      'TCPAddr 127.0.0.1',
      'Foreground yes',
      'StreamMaxLength 200M',
      'Bytecode no',
      'LogTime no',
    ].join('\n'),
    { mode: 0o644 },
  );
  const child: ChildProcess = spawn('nice', ['-n', '19', CLAMD, '--config-file', conf], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const until = Date.now() + 180_000;
  while (!(await ping(port))) {
    if (child.exitCode !== null) throw new Error(`clamd exited (${child.exitCode}): ${output}`);
    if (Date.now() > until) {
      child.kill('SIGTERM');
      throw new Error(`clamd did not answer within 180 s: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url: `tcp://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(false));
    socket.on('connect', () => socket.write('zPING\0'));
    socket.on('data', (d) => {
      reply += d;
      if (reply.includes('PONG')) {
        socket.destroy();
        resolve(true);
      }
    });
  });
}
