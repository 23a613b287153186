import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGE_SEND_QUEUE } from '../src/modules/conversations/send.service.js';
import { sweepStuckSends } from '../src/modules/conversations/send-batch.service.js';
import { runTick } from '../src/modules/sequences/sequence-runner.service.js';
import type { SyncJobQueue } from '../src/platform/jobs/sync-job-queue.js';
import { expectStatus, signUp, startTestApp, type TestApp } from './kit/index.js';

// Outreach at volume (issue 25): thousands enrolled from a filter in one request.

const N = 3000;
let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;

beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Bulk outreach');
  await t.services.database.raw.query(
    `with ins as (
       insert into contacts (org_id, first_name, last_name, owner_id, email, emails, tags, custom)
       select $1, 'Bulk', 'No ' || g, $2, 'bulk' || g || '@bulk.example',
              jsonb_build_array(jsonb_build_object('value', 'bulk' || g || '@bulk.example', 'primary', true)),
              array['bulk'],
              case when g % 3 = 0 then '{"time_zone": "Europe/Paris"}'::jsonb
                   when g % 3 = 1 then '{"time_zone": "Not/AZone"}'::jsonb else '{}'::jsonb end
         from generate_series(1, $3::int) g
       returning org_id, id, email)
     insert into contact_emails (org_id, contact_id, email, active) select org_id, id, email, true from ins`,
    [admin.orgId, admin.userId, N],
  );
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('enrolling thousands from a filter in one request', () => {
  it('enrolls every match once (set-based), with each contact’s valid zone and one event each', async () => {
    const sequence = expectStatus(
      await admin.client.post('/api/v1/sequences', {
        name: 'Bulk',
        settings: { time_zone: 'America/Chicago' },
        steps: [{ type: 'EMAIL', subject: 'Hi {{contact.first_name}}', body: 'Hello' }],
      }),
      201,
    ) as { id: string };
    const filter = { field: 'tags', op: 'hasAny', value: ['bulk'] };
    const began = Date.now();
    const enrolled = expectStatus(
      await admin.client.post(`/api/v1/sequences/${sequence.id}/enrollments`, { filter }),
      200,
    );
    const took = Date.now() - began;
    expect(enrolled).toEqual({ matched: N, enrolled: N, skipped: 0, capped: false });
    expect(took).toBeLessThan(10_000);
    const again = expectStatus(
      await admin.client.post(`/api/v1/sequences/${sequence.id}/enrollments`, { filter }),
      200,
    );
    expect(again).toEqual({ matched: N, enrolled: 0, skipped: N, capped: false });

    const db = t.services.database.raw;
    const { rows } = await db.query<{ n: number; contacts: number; zone: string; by_zone: number }>(
      `select count(*)::int as n, count(distinct contact_id)::int as contacts, time_zone as zone,
              count(*)::int as by_zone
         from sequence_enrollments where org_id = $1 and sequence_id = $2 and status = 'active'
        group by rollup (time_zone)`,
      [admin.orgId, sequence.id],
    );
    const total = rows.find((r) => r.zone === null)!;
    expect(total.n).toBe(N);
    expect(total.contacts).toBe(N);
    expect(Object.fromEntries(rows.filter((r) => r.zone).map((r) => [r.zone, r.by_zone]))).toEqual({
      'Europe/Paris': N / 3,
      'America/Chicago': (2 * N) / 3,
    });
    const { rows: events } = await db.query<{ n: number; distinct_subjects: number }>(
      `select count(*)::int as n, count(distinct subject_id)::int as distinct_subjects from events
        where org_id = $1 and type = 'sequence.enrolled' and data->>'sequence_id' = $2`,
      [admin.orgId, sequence.id],
    );
    expect(events[0]).toEqual({ n: N, distinct_subjects: N });

    // A capped enrollment says so, in another sequence.
    const other = expectStatus(
      await admin.client.post('/api/v1/sequences', {
        name: 'Capped',
        settings: { allow_multiple: true },
        steps: [{ type: 'WAIT', days: 1 }],
      }),
      201,
    ) as { id: string };
    const capped = expectStatus(
      await admin.client.post(`/api/v1/sequences/${other.id}/enrollments`, { filter, limit: 100 }),
      200,
    );
    expect(capped).toEqual({ matched: N, enrolled: 100, skipped: N - 100, capped: true });
  }, 60_000);
});

describe('the set-based tick and the sweep of sends left behind', () => {
  it('renders and queues every due e-mail of a batch at once: one message and one step run each, keyed, then the WAIT', async () => {
    const mailbox = expectStatus(
      await admin.client.post('/api/v1/channels', { kind: 'local', name: 'Local', address: 'out@bulk.test' }),
      201,
    ).id as string;
    const ALWAYS = { days: [1, 2, 3, 4, 5, 6, 7], start: '00:00', end: '23:59' };
    const sequence = expectStatus(
      await admin.client.post('/api/v1/sequences', {
        name: 'Ticked',
        channel_id: mailbox,
        settings: { time_zone: 'UTC', window: ALWAYS, hourly_limit: 0, daily_limit: 0, allow_multiple: true },
        steps: [
          {
            type: 'EMAIL',
            subject: 'Hi {{contact.first_name}}',
            body: 'Hello {{contact.last_name}} from {{sender.name}}',
          },
          { type: 'WAIT', days: 2 },
          { type: 'EMAIL', subject: 'Again', body: 'Bye' },
        ],
      }),
      201,
    ) as { id: string; steps: { id: string }[] };
    const db = t.services.database.raw;
    // The other sequences' enrollments are not this tick's business.
    await db.query('update sequences set archived_at = now() where org_id = $1', [admin.orgId]);
    await db.query('update sequences set archived_at = null where org_id = $1 and id = $2', [
      admin.orgId,
      sequence.id,
    ]);
    const enrolled = expectStatus(
      await admin.client.post(`/api/v1/sequences/${sequence.id}/enrollments`, {
        filter: { field: 'tags', op: 'hasAny', value: ['bulk'] },
        limit: 1200,
      }),
      200,
    );
    expect(enrolled.enrolled).toBe(1200);
    // One of them unsubscribed meanwhile.
    await db.query(
      `insert into message_suppressions (org_id, channel_kind, address, reason, source)
       select $1, 'email', c.email, 'unsubscribed', 'test' from sequence_enrollments e
         join contacts c on c.org_id = e.org_id and c.id = e.contact_id
        where e.org_id = $1 and e.sequence_id = $2 limit 1`,
      [admin.orgId, sequence.id],
    );
    // The tick itself (the job the enrollment armed waits: its send jobs are counted below).
    await runTick(t.services, admin.orgId);
    const { rows: messages } = await db.query<{ n: number; keys: number; mids: number; text: string }>(
      `select count(*)::int as n, count(distinct idempotency_key)::int as keys, count(distinct message_id)::int as mids,
              min(text) as text
         from messages where org_id = $1 and channel_id = $2 and direction = 'out' and status = 'queued'`,
      [admin.orgId, mailbox],
    );
    expect(messages[0]).toMatchObject({ n: 1199, keys: 1199, mids: 1199 });
    expect(messages[0]!.text).toMatch(/^Hello No \d+ from Local\n\n--\nUnsubscribe: http/);
    const { rows: states } = await db.query<{ status: string; step_index: number; n: number }>(
      `select status, step_index, count(*)::int as n from sequence_enrollments
        where org_id = $1 and sequence_id = $2 group by 1, 2 order by 1, 2`,
      [admin.orgId, sequence.id],
    );
    // The e-mail, then the WAIT (two days from now): step 2 is next.
    expect(states).toEqual([
      { status: 'active', step_index: 2, n: 1199 },
      { status: 'exited', step_index: 0, n: 1 },
    ]);
    const { rows: runs } = await db.query<{ status: string; n: number }>(
      `select status, count(*)::int as n from sequence_step_runs where org_id = $1 and sequence_id = $2 group by 1 order by 1`,
      [admin.orgId, sequence.id],
    );
    expect(runs).toEqual([
      { status: 'queued', n: 1199 },
      { status: 'skipped', n: 1 },
      { status: 'waited', n: 1199 },
    ]);
    const jobs = (await t.queued(MESSAGE_SEND_QUEUE)).length;
    expect(jobs).toBe(1199);
    // Again: nothing new.
    await runTick(t.services, admin.orgId);
    expect((await t.queued(MESSAGE_SEND_QUEUE)).length).toBe(1199);
  }, 120_000);

  it('the sweep queues again a send whose recovery was killed too (left `sending` past its lease, its job failed for good)', async () => {
    const db = t.services.database.raw;
    const { rows } = await db.query<{ id: string }>(
      `select id from messages where org_id = $1 and status = 'queued' order by created_at limit 3`,
      [admin.orgId],
    );
    const [stuck, fresh, done] = rows.map((r) => r.id);
    await db.query(
      `update messages set status = 'sending', attempts = 2, claimed_at = now() - interval '10 minutes' where id = $1`,
      [stuck],
    );
    await db.query(`update messages set status = 'sending', attempts = 1, claimed_at = now() where id = $1`, [
      fresh,
    ]);
    await db.query(`update messages set status = 'sent', attempts = 1 where id = $1`, [done]);
    await db.query(`delete from ${t.services.config.queueSchema}.sync_job where name = $1`, [
      MESSAGE_SEND_QUEUE,
    ]);
    const queue = t.services.jobs as SyncJobQueue;
    for (const id of [stuck, fresh, done])
      queue.markFailed(MESSAGE_SEND_QUEUE, { org_id: admin.orgId, message_id: id });
    expect(await sweepStuckSends(t.services)).toBe(1);
    expect(
      (await t.queued(MESSAGE_SEND_QUEUE)).map((j) => (j.data as { message_id: string }).message_id),
    ).toEqual([stuck]);
    // The job settles it (a local mailbox keeps no sent copy to check: failed in doubt, for a person).
    await t.drain();
    const { rows: after } = await db.query<{ status: string; error: string | null }>(
      'select status, error from messages where id = $1',
      [stuck],
    );
    expect(after[0]!.status).toBe('failed');
    expect(after[0]!.error).toMatch(/^in_doubt/);
  }, 60_000);
});
