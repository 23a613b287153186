import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  expectStatus,
  serverDatabaseUrl,
  signUp,
  startTestApp,
  startWorker,
  stopWorkers,
  type TestApp,
  uniqueEmail,
  until,
} from './kit/index.js';

/**
 * Kill the worker mid-run (issue 24): a `cairn worker` child process runs a workflow's steps on
 * the PostgreSQL server and is killed (SIGKILL) while the run is under way; another worker takes
 * over. Every step's effect is applied once: none lost, none doubled. Separate processes need
 * the server database (the embedded one belongs to one process); workflows.test.ts proves the same
 * rule on both databases inside one process.
 */
const serverUrl = serverDatabaseUrl();
let t: TestApp | undefined;
afterAll(async () => {
  stopWorkers();
  await t?.close();
});

const STEPS = 12;

describe.skipIf(!serverUrl)('a worker killed mid-run', () => {
  it('loses no step and applies no effect twice when a `cairn worker` is killed and another takes over', async () => {
    // The API process queues jobs and runs none (as `cairn serve`); the children are the workers.
    t = await startTestApp(
      { QUEUE_SUPERVISE_SECONDS: '2' },
      (services) => {
        const start = services.jobs.start.bind(services.jobs);
        services.jobs.start = () => start({ worker: false });
      },
      {},
      { queue: 'pg-boss' },
    );
    const admin = await signUp(t, 'Killed Worker Co');
    const c = admin.client;
    const steps = Array.from({ length: STEPS }, (_, i) => ({
      id: `s${i + 1}`,
      type: 'create_task',
      title: `Step ${i + 1} for {{record.first_name}}`,
      next: i + 1 < STEPS ? [`s${i + 2}`] : [],
    }));
    const created = expectStatus<{ id: string }>(
      await c.post('/api/v1/workflows', {
        name: 'Long chain',
        object: 'contact',
        definition: { trigger: { type: 'tag_added', tag: 'chain' }, start: 's1', steps },
      }),
      201,
    );
    expectStatus(await c.post(`/api/v1/workflows/${created.id}/activate`, {}), 200);
    const contact = expectStatus<{ id: string }>(
      await c.post('/api/v1/contacts', {
        first_name: 'Kim',
        emails: [{ value: uniqueEmail('kim') }],
        tags: [],
      }),
      201,
    );
    expectStatus(await c.patch(`/api/v1/contacts/${contact.id}`, { tags: ['chain'] }), 200);

    const env = {
      DATABASE_URL: serverUrl,
      QUEUE_SCHEMA: t.services.config.queueSchema,
      QUEUE_SUPERVISE_SECONDS: '2',
      SECRET: 's'.repeat(48),
      BASE_URL: 'http://127.0.0.1:1',
      DATA_DIR: mkdtempSync(path.join(tmpdir(), 'cairn-wf-worker-')),
    };
    const runStatus = async () => {
      const runs = expectStatus<{ data: { id: string; status: string }[] }>(
        await c.get(`/api/v1/workflow-runs?workflow_id=${created.id}`),
        200,
      ).data;
      if (runs.length === 0) return undefined;
      const run = expectStatus<{ status: string; steps: { status: string }[] }>(
        await c.get(`/api/v1/workflow-runs/${runs[0]!.id}`),
        200,
      );
      return { status: run.status, done: run.steps.filter((s) => s.status === 'completed').length };
    };

    const first = startWorker(env);
    await until(
      'the first worker to run a few steps',
      async () => ((await runStatus())?.done ?? 0) >= 3 || undefined,
      // A loaded machine takes a while to start a process from the TypeScript sources.
      300_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${first.output()}`);
    });
    first.child.kill('SIGKILL');
    const atKill = await runStatus();
    expect(atKill!.status).not.toBe('completed');

    const second = startWorker(env);
    await until(
      'the second worker to finish the run',
      async () => ((await runStatus())?.status === 'completed' ? true : undefined),
      300_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${second.output()}`);
    });
    second.child.kill('SIGTERM');

    const tasks = expectStatus<{ data: { title: string; link: { id: string } | null }[] }>(
      await c.get('/api/v1/tasks?status=all&limit=200'),
      200,
    ).data.filter((task) => task.link?.id === contact.id);
    const titles = tasks
      .map((task) => task.title)
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    expect(titles).toEqual(Array.from({ length: STEPS }, (_, i) => `Step ${i + 1} for Kim`));
  }, 900_000);
});
