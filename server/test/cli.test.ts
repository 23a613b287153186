import { spawn } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it, vi } from 'vitest';

// Each case starts the CLI as a process (tsx start-up, migrations): slow on a busy 2-core machine.
vi.setConfig({ testTimeout: 180_000 });

import { ConfigError, loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { DataDirLockedError } from '../src/db/lock.js';
import { cairn, freshCliEnv as freshEnv, run, SERVER_DIR } from './kit/cli.js';

const serverUrl = inject('databaseUrl');

describe('configuration', () => {
  it('stops with a message naming the bad variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ SECRET: 'short' })).toThrow(/SECRET/);
  });

  it('generates the secret on first start and keeps it in DATA_DIR with 0600 permissions', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cairn-cfg-'));
    const first = loadConfig({ DATA_DIR: dir });
    expect(first.secret.length).toBeGreaterThanOrEqual(32);
    expect(statSync(path.join(dir, 'secret')).mode & 0o777).toBe(0o600);
    expect(loadConfig({ DATA_DIR: dir }).secret).toBe(first.secret);
    expect(first.port).toBe(3000);
  });

  it('the CLI refuses a bad value before doing anything, exit code 2', async () => {
    const res = await cairn(['db', 'status'], { PORT: '-1' });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/PORT/);
  });
});

describe.skipIf(Boolean(serverUrl))('the embedded data directory', () => {
  it('is locked against a second process', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cairn-lock-'));
    const db = await openDatabase({ dataDir: dir });
    try {
      await expect(openDatabase({ dataDir: dir })).rejects.toBeInstanceOf(DataDirLockedError);
      const res = await cairn(['db', 'status'], { DATA_DIR: dir });
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/in use by another Cairn process/);
    } finally {
      await db.close();
    }
    const again = await openDatabase({ dataDir: dir });
    await again.close();
  });
});

describe('migrations', () => {
  it('db status exits 1 with pending migrations, 0 once migrated, 1 with an unknown one', async () => {
    const env = await freshEnv();
    let res = await cairn(['db', 'status'], env);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/pending\s+0000_/);
    res = await cairn(['migrate'], env);
    expect(res.code).toBe(0);
    res = await cairn(['db', 'status'], env);
    expect(res.stdout).toMatch(/status: current/);
    expect(res.code).toBe(0);
    const db = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR });
    await db.raw.query(`insert into cairn_migrations (tag, hash) values ('9999_from_the_future', 'x')`);
    await db.close();
    res = await cairn(['db', 'status'], env);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/unknown\s+9999_from_the_future/);
  });
});

describe('create-org', () => {
  it('creates an organization and its admin, and prints a password that signs in', async () => {
    const env = await freshEnv();
    const res = await cairn(['create-org', '--name', 'Globex', '--admin-email', 'hank@globex.test'], env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/Organization: Globex/);
    const password = /Password:\s+(\S+)/.exec(res.stdout)![1]!;
    const { createServices } = await import('../src/runtime.js');
    const services = await createServices({ config: loadConfig({ ...env, LOG_LEVEL: 'silent' }) });
    try {
      const signIn = await services.auth.api.signInEmail({ body: { email: 'hank@globex.test', password } });
      expect(signIn.user.email).toBe('hank@globex.test');
      const members = await services.database.raw.query<{ role: string }>(
        `select m.role from members m join organizations o on o.id = m.organization_id where o.name = 'Globex'`,
      );
      expect(members.rows).toEqual([{ role: 'admin' }]);
    } finally {
      await services.database.close();
    }
    // A second organization for the same admin: the existing user, password unchanged.
    const again = await cairn(['create-org', '--name', 'Initech', '--admin-email', 'hank@globex.test'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Password:\s+unchanged/);
    const db = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR });
    try {
      const orgs = await db.raw.query<{ name: string }>(
        `select o.name from members m join organizations o on o.id = m.organization_id
           join users u on u.id = m.user_id where u.email = 'hank@globex.test' order by o.name`,
      );
      expect(orgs.rows).toEqual([{ name: 'Globex' }, { name: 'Initech' }]);
    } finally {
      await db.close();
    }
  });

  it('--help describes each command', async () => {
    const res = await cairn(['create-org', '--help'], {});
    expect(res.stdout).toMatch(/--admin-email/);
    const top = await cairn(['--help'], {});
    for (const command of ['start', 'serve', 'worker', 'migrate', 'db', 'create-org'])
      expect(top.stdout).toContain(command);
  });
});

describe('start', () => {
  it('serves on the port from the build `npm start` runs, and SIGTERM shuts down cleanly (exit 0, lock released)', async () => {
    const env = await freshEnv();
    // What `npm start` runs: the compiled server (package.json's `build` and `cairn` scripts).
    await run('npm', ['run', 'build'], { cwd: SERVER_DIR, timeout: 120_000 });
    const port = String(20000 + Math.floor(Math.random() * 20000));
    const child = spawn(process.execPath, ['--enable-source-maps', 'dist/main.js', 'start'], {
      cwd: SERVER_DIR,
      env: {
        ...process.env,
        DATABASE_URL: '',
        BASE_URL: '',
        ...env,
        PORT: port,
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
      },
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const until = Date.now() + 45_000;
    let ready = false;
    while (Date.now() < until && !ready) {
      await new Promise((r) => setTimeout(r, 300));
      ready = await fetch(`http://127.0.0.1:${port}/ready`).then(
        (r) => r.ok,
        () => false,
      );
    }
    expect(ready, out).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toMatch(/stopped/);
    if (!env.DATABASE_URL) {
      const db = await openDatabase({ dataDir: env.DATA_DIR! });
      await db.close();
    }
  }, 180_000);
});
