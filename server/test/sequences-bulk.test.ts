import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
