import { describe, expect, it } from 'vitest';
import { IMPORT_QUEUE } from '../src/modules/imports/import.service.js';
import { IMPORT_HEARTBEAT_SECONDS, runImport } from '../src/modules/imports/import-runner.service.js';
import { queueWithoutJob, uploadCsv, useOrganization, waitForImport } from './kit/index.js';

/**
 * An import whose worker died, on pg-boss (the production queue): its heartbeat and expiry hand
 * the job out again, and its dead letter fails the import when every try died.
 */
// The job queue looks for stalled jobs every 2 seconds (60 by default): a test waits that long.
const org = useOrganization('Importers', { env: { QUEUE_SUPERVISE_SECONDS: '2' }, queue: 'pg-boss' });

describe('an import whose worker died', () => {
  it('is taken up again soon after its worker died mid-run, and resumes from its checkpoint', async () => {
    const lines = ['First Name,Email'];
    for (let i = 0; i < 90; i++) lines.push(`H${i},heartbeat${i}@example.com`);
    const up = await uploadCsv(org.t, org.admin.client, 'contact', 'heartbeat.csv', `${lines.join('\n')}\n`);
    await queueWithoutJob(org.t, org.admin.orgId, up.body.id);
    expect(
      await runImport(org.t.services, org.admin.orgId, up.body.id, { batchRows: 30, maxBatches: 1 }),
    ).toBe('interrupted');
    // Its job as a worker that died a minute ago leaves it: claimed (active), no heartbeat since.
    // (Sent to start in an hour, so that this app's own worker does not claim it first.)
    const jobId = await org.t.services.jobs.send(
      null,
      IMPORT_QUEUE,
      { org_id: org.admin.orgId, import_id: up.body.id, kind: 'run' },
      { startAfter: 3600 },
    );
    const schema = org.t.services.config.queueSchema;
    const claimed = await org.t.services.database.raw.query<{
      heartbeat_seconds: number;
      expire_seconds: number;
    }>(
      `update ${schema}.job set state = 'active', start_after = now() - interval '1 minute',
          started_on = now() - interval '1 minute', heartbeat_on = now() - interval '1 minute'
        where id = $1 returning heartbeat_seconds, expire_seconds`,
      [jobId],
    );
    // A 24-hour limit (an import of millions of rows runs past pg-boss's 15 minutes), and a heartbeat.
    expect(claimed.rows[0]).toEqual({ heartbeat_seconds: IMPORT_HEARTBEAT_SECONDS, expire_seconds: 86_400 });
    expect((await org.admin.client.get(`/api/v1/imports/${up.body.id}`)).body).toMatchObject({
      status: 'running',
      progress: { rows_done: 30 },
    });
    // pg-boss fails the stalled job, retries it, and this app's worker resumes the import.
    const done = await waitForImport(org.t, org.admin.client, up.body.id, 30_000);
    expect(done.status).toBe('completed');
    expect(done.progress).toMatchObject({ rows_done: 90, created: 90, skipped: 0, failed: 0 });
    const list = await org.admin.client.get(
      `/api/v1/contacts?filter=${encodeURIComponent(JSON.stringify({ field: 'email', op: 'startsWith', value: 'heartbeat' }))}&limit=200`,
    );
    expect(list.body.data).toHaveLength(90);
  });

  it('fails with the reason when its worker died on every try, and starts again from its checkpoint', async () => {
    const lines = ['First Name,Email'];
    for (let i = 0; i < 60; i++) lines.push(`S${i},stalled${i}@example.com`);
    const up = await uploadCsv(org.t, org.admin.client, 'contact', 'stalled.csv', `${lines.join('\n')}\n`);
    await queueWithoutJob(org.t, org.admin.orgId, up.body.id);
    await runImport(org.t.services, org.admin.orgId, up.body.id, { batchRows: 20, maxBatches: 1 });
    // Its job on its last try (two retries used), claimed by a worker that died a minute ago.
    const jobId = await org.t.services.jobs.send(
      null,
      IMPORT_QUEUE,
      { org_id: org.admin.orgId, import_id: up.body.id, kind: 'run' },
      { startAfter: 3600 },
    );
    await org.t.services.database.raw.query(
      `update ${org.t.services.config.queueSchema}.job set state = 'active', retry_count = retry_limit,
          start_after = now() - interval '1 minute', started_on = now() - interval '1 minute',
          heartbeat_on = now() - interval '1 minute'
        where id = $1`,
      [jobId],
    );
    const failed = await waitForImport(org.t, org.admin.client, up.body.id, 30_000);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/worker ended on each of 3 tries.*Start it again/);
    expect(failed.progress).toMatchObject({ rows_done: 20, created: 20 });

    expect((await org.admin.client.post(`/api/v1/imports/${up.body.id}/start`)).status).toBe(200);
    const done = await waitForImport(org.t, org.admin.client, up.body.id, 30_000);
    expect(done.status).toBe('completed');
    expect(done.progress).toMatchObject({ rows_done: 60, created: 60, failed: 0 });
  });
});
