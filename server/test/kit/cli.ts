import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, inject } from 'vitest';

/** The server package's directory (where `src/main.ts` and `dist/` are). */
export const SERVER_DIR = fileURLToPath(new URL('../..', import.meta.url));
const TSX = path.join(SERVER_DIR, '..', 'node_modules', '.bin', 'tsx');
export const run = promisify(execFile);

const cleanups: (() => Promise<void>)[] = [];
// Registered as the test file imports the kit: the databases made for it are dropped after it.
afterAll(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/**
 * A database of its own for a CLI process: a fresh data directory, and on a server run a fresh
 * database there too (dropped after the test file). Returns the environment that points the CLI
 * at it, with `dataDir` for files the test writes beside it.
 */
export async function freshCliEnv(
  prefix = 'cairn-cli',
): Promise<Record<string, string> & { dataDir: string }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), `${prefix}-`));
  const env: Record<string, string> = { DATA_DIR: dataDir, LOG_LEVEL: 'warn', SECRET: 'x'.repeat(40) };
  const serverUrl = inject('databaseUrl');
  if (serverUrl) {
    const name = `${prefix.replaceAll('-', '_')}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
    const adminUrl = inject('adminDatabaseUrl');
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    env.DATABASE_URL = url.toString();
    cleanups.push(async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    });
  }
  return { ...env, dataDir };
}

/**
 * Runs `cairn <args>` from the sources (tsx) as its own process, with the run's database
 * variables cleared and `env` on top; returns its exit code and output (never throws on a
 * non-zero exit).
 */
export async function cairn(args: string[], env: Record<string, string>, timeoutMs = 60_000) {
  try {
    const { stdout, stderr } = await run(TSX, ['src/main.ts', ...args], {
      cwd: SERVER_DIR,
      env: { ...process.env, DATABASE_URL: '', BASE_URL: '', ...env },
      timeout: timeoutMs,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
