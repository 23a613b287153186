import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { signUpByFetch } from './kit/sign-up.js';

/**
 * `cairn serve` and `cairn worker` as separate processes on one PostgreSQL database (the scaled-out
 * deployment of the README): the API process takes the request and queues the job, only the worker
 * process runs it. On the embedded database the data directory is locked to one process, so this
 * runs on the PostgreSQL server only.
 */
const run = promisify(execFile);
const SERVER_DIR = fileURLToPath(new URL('..', import.meta.url));
/** The same build as `npm run build`, in a directory of its own so it never races cli.test.ts's build. */
const OUT_DIR = path.join(SERVER_DIR, `.dist-processes-${process.pid}`);
const TSC = path.join(SERVER_DIR, '..', 'node_modules', '.bin', 'tsc');
const serverUrl = inject('databaseUrl');
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function freshDatabase(): Promise<string> {
  const name = `cairn_procs_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  cleanups.push(async () => {
    const c = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
    await c.connect();
    await c.query(`drop database if exists ${name} with (force)`);
    await c.end();
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

type Proc = { child: ChildProcess; output: () => string; exited: Promise<number | null> };
function cairn(command: 'serve' | 'worker', env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--enable-source-maps', path.join(OUT_DIR, 'main.js'), command], {
    cwd: SERVER_DIR,
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { child, output: () => out, exited };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe('serve and worker as separate processes', () => {
  it.skipIf(!serverUrl)(
    'an import queued through `cairn serve` is run by `cairn worker`, and both stop cleanly on SIGTERM',
    async () => {
      await run(
        TSC,
        [
          '-p',
          'tsconfig.build.json',
          '--outDir',
          OUT_DIR,
          '--tsBuildInfoFile',
          path.join(OUT_DIR, '.tsbuildinfo'),
        ],
        {
          cwd: SERVER_DIR,
          timeout: 180_000,
        },
      );
      cleanups.push(() => rmSync(OUT_DIR, { recursive: true, force: true }));
      const port = String(20000 + Math.floor(Math.random() * 20000));
      const base = `http://127.0.0.1:${port}`;
      const env = {
        DATABASE_URL: await freshDatabase(),
        SECRET: 's'.repeat(48),
        BASE_URL: base,
        PORT: port,
        HOST: '127.0.0.1',
        DATA_DIR: path.join(OUT_DIR, 'data'),
      };
      const serve = cairn('serve', env);
      await until(
        'serve to be ready',
        async () => ((await fetch(`${base}/ready`)).ok ? true : undefined),
        60_000,
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n${serve.output()}`);
      });

      // A user signs up and uploads a file through serve's HTTP port.
      const { cookie } = await signUpByFetch(base, {
        organization_name: 'Two Processes',
        name: 'Ada',
        email: 'ada@processes.example',
        password: 'Correct-Horse-9',
      });
      const headers = { cookie, origin: base };
      const form = new FormData();
      form.append(
        'file',
        new Blob(['First Name,Email\nWorker,worker@processes.example\nServe,serve@processes.example\n'], {
          type: 'text/csv',
        }),
        'people.csv',
      );
      const upload = await fetch(`${base}/api/v1/imports?object=contact`, {
        method: 'POST',
        headers,
        body: form,
      });
      expect(upload.status, await upload.clone().text()).toBe(201);
      const importId = ((await upload.json()) as { id: string }).id;
      const started = await fetch(`${base}/api/v1/imports/${importId}/start`, { method: 'POST', headers });
      expect(((await started.json()) as { status: string }).status).toBe('queued');
      const statusOf = async () =>
        (
          (await (await fetch(`${base}/api/v1/imports/${importId}`, { headers })).json()) as {
            status: string;
          }
        ).status;
      // serve runs no jobs: the import waits for a worker.
      await new Promise((r) => setTimeout(r, 2000));
      expect(await statusOf()).toBe('queued');

      const worker = cairn('worker', env);
      await until(
        'the worker to run the import',
        async () => ((await statusOf()) === 'completed' ? true : undefined),
        90_000,
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n--- worker\n${worker.output()}\n--- serve\n${serve.output()}`);
      });
      const contacts = await fetch(`${base}/api/v1/contacts?fields=first_name&sort=first_name:asc`, {
        headers,
      });
      expect(
        ((await contacts.json()) as { data: { first_name: string }[] }).data.map((c) => c.first_name),
      ).toEqual(['Serve', 'Worker']);

      serve.child.kill('SIGTERM');
      worker.child.kill('SIGTERM');
      expect(await serve.exited, serve.output()).toBe(0);
      expect(await worker.exited, worker.output()).toBe(0);
    },
    300_000,
  );
});
