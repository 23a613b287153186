import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestApp } from '../harness.js';

/**
 * `cairn worker` child processes for the kill-the-worker tests (issues 24, 25, 33): each runs the
 * job queue on the PostgreSQL server (the embedded database belongs to one process), its output
 * kept for a failure's message. `stopWorkers` kills any still running (afterAll).
 */
const SERVER_DIR = fileURLToPath(new URL('../..', import.meta.url));
const children: ChildProcess[] = [];

export type WorkerProcess = { child: ChildProcess; output: () => string };

/** Starts `cairn worker` (from the TypeScript sources) with `env` added to this process's. */
export function startWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker'], {
    cwd: SERVER_DIR,
    env: { ...process.env, ...env, LOG_LEVEL: 'info', NODE_ENV: 'production' },
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  children.push(child);
  return { child, output: () => out };
}

/** The environment a worker of the test app `t` needs: its server database, queue schema and secret. */
export function workerEnv(t: TestApp, databaseUrl: string, name: string): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    QUEUE_SCHEMA: t.services.config.queueSchema,
    QUEUE_SUPERVISE_SECONDS: '2',
    SECRET: t.services.config.secret,
    BASE_URL: 'http://127.0.0.1:1',
    DATA_DIR: mkdtempSync(path.join(tmpdir(), `cairn-${name}-`)),
  };
}

/** Kills (SIGKILL) every worker this file started that still runs. */
export function stopWorkers(): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
}

/**
 * Waits for `probe` to answer something (not undefined) within `ms`, looking every 200 ms; a
 * failure carries the worker's output when `worker` is given.
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms: number,
  worker?: WorkerProcess,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}${worker ? `\n${worker.output()}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A test app that queues jobs and runs none (as `cairn serve` beside separate workers). */
export const queueOnly = (services: TestApp['services']) => {
  const start = services.jobs.start.bind(services.jobs);
  services.jobs.start = () => start({ worker: false });
};
