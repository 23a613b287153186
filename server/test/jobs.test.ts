import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TenantContext, withTenant } from '../src/db/tenant.js';
import { eventDeliveries } from '../src/platform/events/event.schema.js';
import { EVENT_DISPATCH_QUEUE } from '../src/platform/events/events.js';
import { signUp, startTestApp, type TestApp } from './harness.js';

let t: TestApp;
let ctx: TenantContext;
const received: string[] = [];

beforeAll(async () => {
  // A queue of this test's own, defined before the worker starts, like any module's. On pg-boss:
  // these tests prove the production queue's background worker and its transactional send.
  t = await startTestApp(
    {},
    ({ jobs }) =>
      jobs.define<{ marker: string }>({ name: 'test.marker' }, async ({ data }) => {
        received.push(data.marker);
      }),
    {},
    { queue: 'pg-boss' },
  );
  const admin = await signUp(t);
  ctx = { orgId: admin.orgId, actor: { type: 'user', id: admin.userId } };
});
afterAll(() => t?.close());

async function eventually(check: () => boolean | Promise<boolean>, ms = 15_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not met in time');
}

describe('the job queue', () => {
  it('delivers a job enqueued in a committed tenant transaction', async () => {
    const marker = randomUUID();
    await withTenant(t.services.database, ctx, ({ conn }) =>
      t.services.jobs.send(conn, 'test.marker', { marker }),
    );
    await eventually(() => received.includes(marker));
  });

  it('never delivers a job enqueued in a transaction that rolled back', async () => {
    const rolledBack = randomUUID();
    await expect(
      withTenant(t.services.database, ctx, async ({ conn }) => {
        await t.services.jobs.send(conn, 'test.marker', { marker: rolledBack });
        throw new Error('the mutation failed');
      }),
    ).rejects.toThrow('the mutation failed');
    const after = randomUUID();
    await withTenant(t.services.database, ctx, ({ conn }) =>
      t.services.jobs.send(conn, 'test.marker', { marker: after }),
    );
    await eventually(() => received.includes(after));
    await new Promise((r) => setTimeout(r, 1000));
    expect(received).not.toContain(rolledBack);
  });
});

describe('event dispatch', () => {
  it('hands each event to each consumer once, even when its job runs twice', async () => {
    const seen: string[] = [];
    t.services.events.register({
      name: 'test.counter',
      types: ['member.joined', 'invitation.created'],
      handle: async (batch) => {
        seen.push(...batch.map((event) => event.id));
      },
    });
    const res = await signUp(t).then(({ client }) =>
      client.post('/api/v1/invitations', { email: `x-${randomUUID()}@example.com`, role: 'user' }),
    );
    expect(res.status).toBe(201);
    await eventually(() => seen.length === 1);
    const eventId = seen[0]!;
    const [event] = await t.services.database.raw
      .query<{ org_id: string }>('select org_id from events where id = $1', [eventId])
      .then((r) => r.rows);
    // Deliver the same event again, as a retried job would.
    await t.services.jobs.send(null, EVENT_DISPATCH_QUEUE, { org_id: event!.org_id, event_id: eventId });
    const delivered = async () =>
      withTenant(
        t.services.database,
        { orgId: event!.org_id, actor: { type: 'system', id: null } },
        ({ tx }) => tx.select().from(eventDeliveries).where(eq(eventDeliveries.eventId, eventId)),
      );
    await eventually(async () => (await delivered()).some((d) => d.consumer === 'test.counter'));
    await new Promise((r) => setTimeout(r, 1500));
    expect(seen).toEqual([eventId]);
  });

  it('hands events to a consumer whose handling is idempotent without claiming a delivery row per event', async () => {
    // The duplicates finder (registered at start, so offered each event before this consumer)
    // marks a created contact dirty: marking it twice leaves one mark.
    const seen: string[] = [];
    t.services.events.register({
      name: 'test.after-duplicates',
      types: ['contact.created'],
      handle: async (batch) => {
        seen.push(...batch.map((event) => event.subject.id));
      },
    });
    const { client, orgId } = await signUp(t);
    const res = await client.post('/api/v1/contacts', {
      first_name: 'Idem',
      last_name: `Potent ${randomUUID()}`,
    });
    expect(res.status).toBe(201);
    const contactId = (res.body as { id: string }).id;
    await eventually(() => seen.includes(contactId));
    const claimed = await withTenant(
      t.services.database,
      { orgId, actor: { type: 'system', id: null } },
      ({ conn }) =>
        conn
          .query(
            `select d.consumer from event_deliveries d join events e on e.org_id = d.org_id and e.id = d.event_id
            where e.org_id = $1 and e.subject_id = $2 and e.type = 'contact.created'`,
            [orgId, contactId],
          )
          .then((r) => r.rows.map((row) => row.consumer as string)),
    );
    expect(claimed).toEqual(['test.after-duplicates']);
  });

  it('records each event with the standard envelope: type, actor, subject, trace id', async () => {
    const { client, userId, orgId } = await signUp(t);
    const traceId = 'aaaabbbbccccddddeeeeffff00001111';
    await client.request(
      'POST',
      '/api/v1/invitations',
      { email: `y-${randomUUID()}@example.com`, role: 'viewer' },
      { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    );
    const rows = await withTenant(
      t.services.database,
      { orgId, actor: { type: 'system', id: null } },
      ({ conn }) =>
        conn.query<Record<string, unknown>>(
          `select type, actor_type, actor_id, subject_object, data, trace_id from events where type = 'invitation.created'`,
        ),
    );
    expect(rows.rows).toHaveLength(1);
    expect(rows.rows[0]).toMatchObject({
      actor_type: 'user',
      actor_id: userId,
      subject_object: 'invitation',
      trace_id: traceId,
      data: { role: 'viewer' },
    });
  });
});
