import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { SHARED_DATA } from './import-helpers.js';

// Each case starts the CLI as a process (tsx start-up, migrations): slow on a busy 2-core machine.
vi.setConfig({ testTimeout: 240_000 });

const run = promisify(execFile);
const SERVER_DIR = fileURLToPath(new URL('..', import.meta.url));
const TSX = path.join(SERVER_DIR, '..', 'node_modules', '.bin', 'tsx');
const serverUrl = inject('databaseUrl');
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

/** A database of its own: a fresh data dir, or a fresh database on the server. */
async function freshEnv(): Promise<Record<string, string>> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'cairn-import-cli-'));
  const env: Record<string, string> = { DATA_DIR: dataDir, LOG_LEVEL: 'warn', SECRET: 'x'.repeat(40) };
  if (serverUrl) {
    const name = `cairn_icli_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
    const admin = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    env.DATABASE_URL = url.toString();
    cleanups.push(async () => {
      const c = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    });
  }
  return { ...env, dataDir };
}

async function cairn(args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(TSX, ['src/main.ts', ...args], {
      cwd: SERVER_DIR,
      env: { ...process.env, DATABASE_URL: '', BASE_URL: '', ...env },
      timeout: 180_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('cairn import', () => {
  it('imports a file with a mapping file, printing progress and the summary; a second run skips duplicates', async () => {
    const env = await freshEnv();
    const org = await cairn(
      ['create-org', '--name', 'CLI Importers', '--admin-email', 'cli@example.com'],
      env,
    );
    expect(org.code, org.stderr).toBe(0);
    const mapping = path.join(env.dataDir!, 'mapping.json');
    writeFileSync(
      mapping,
      JSON.stringify({ columns: { Description: 'notes', Founded: null }, dedup: 'skip' }),
    );
    const file = `${SHARED_DATA}crm/datablist-samples/organizations-100.csv`;
    const args = ['import', '--org', 'CLI Importers', '--object', 'companies', file, '--mapping', mapping];
    const first = await cairn(args, env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      /Import [0-9a-f-]{36}: 100 rows of organizations-100\.csv into CLI Importers/,
    );
    expect(first.stdout).toContain('Description -> notes');
    expect(first.stdout).toContain('Name -> name');
    expect(first.stdout).toMatch(/100\/100 rows \(\d+ rows\/s\)/);
    // organizations-100 has companies sharing a domain: the later one is a duplicate, skipped.
    const [, created, skipped] =
      /completed: (\d+) created, 0 updated, (\d+) skipped, 0 failed/.exec(first.stdout) ?? [];
    expect(Number(created) + Number(skipped)).toBe(100);
    expect(Number(created)).toBeGreaterThan(90);
    const second = await cairn(args, env);
    expect(second.stdout).toMatch(/completed: 0 created, 0 updated, 100 skipped, 0 failed/);
  });

  it('refuses an unknown object or organization with exit code 2', async () => {
    const env = await freshEnv();
    const bad = await cairn(['import', '--org', 'Nope', '--object', 'widgets', 'x.csv'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--object');
    const file = `${SHARED_DATA}crm/datablist-samples/organizations-100.csv`;
    const noOrg = await cairn(['import', '--org', 'Nope', '--object', 'companies', file], env);
    expect(noOrg.code).toBe(2);
    expect(noOrg.stderr).toContain('no organization Nope');
  });
});
