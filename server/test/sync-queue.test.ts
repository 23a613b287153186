import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TenantContext, withTenant } from '../src/db/tenant.js';
import { signUp, startTestApp, type TestApp } from './harness.js';

/** The sync job queue of the test kit: jobs run when the test drains, with pg-boss's send semantics. */
let t: TestApp;
let ctx: TenantContext;
const received: string[] = [];
const fails = new Map<string, number>();
const dead: string[] = [];

beforeAll(async () => {
  t = await startTestApp({}, ({ jobs }) => {
    jobs.define<{ marker: string }>({ name: 'test.marker' }, async ({ data }) => {
      received.push(data.marker);
    });
    // Sends a marker job as it runs: drain runs what a job enqueues too.
    jobs.define<{ marker: string }>({ name: 'test.chain' }, async ({ data }) => {
      await jobs.send(null, 'test.marker', { marker: `${data.marker}:child` });
    });
    jobs.define<{ marker: string }>({ name: 'test.dead' }, async ({ data }) => {
      dead.push(data.marker);
    });
    // Throws its first `fails` tries.
    jobs.define<{ marker: string }>(
      { name: 'test.flaky', retryLimit: 2, deadLetter: 'test.dead' },
      async ({ data }) => {
        const left = fails.get(data.marker) ?? 0;
        fails.set(data.marker, left - 1);
        if (left > 0) throw new Error(`flaky ${data.marker}`);
        received.push(data.marker);
      },
    );
    jobs.define<{ marker: string }>({ name: 'test.once', policy: 'stately' }, async ({ data }) => {
      received.push(data.marker);
    });
  });
  const admin = await signUp(t);
  ctx = { orgId: admin.orgId, actor: { type: 'user', id: admin.userId } };
  await t.drain(); // the sign-up's events
});
afterAll(() => t?.close());

describe('the sync job queue', () => {
  it('runs a job enqueued in a committed tenant transaction only when drained', async () => {
    const marker = randomUUID();
    await withTenant(t.services.database, ctx, ({ conn }) =>
      t.services.jobs.send(conn, 'test.marker', { marker }),
    );
    expect(received).not.toContain(marker);
    expect(await t.drain()).toMatchObject({ ran: 1, failed: [] });
    expect(received).toContain(marker);
    expect(await t.drain()).toMatchObject({ ran: 0 });
  });

  it('never runs a job enqueued in a transaction, or a savepoint, that rolled back', async () => {
    const rolledBack = randomUUID();
    await expect(
      withTenant(t.services.database, ctx, async ({ conn }) => {
        await t.services.jobs.send(conn, 'test.marker', { marker: rolledBack });
        throw new Error('the mutation failed');
      }),
    ).rejects.toThrow('the mutation failed');
    const inSavepoint = randomUUID();
    const kept = randomUUID();
    await withTenant(t.services.database, ctx, async ({ tx, conn }) => {
      await tx
        .transaction(async () => {
          await t.services.jobs.send(conn, 'test.marker', { marker: inSavepoint });
          throw new Error('the batch failed');
        })
        .catch(() => undefined);
      await t.services.jobs.send(conn, 'test.marker', { marker: kept });
    });
    expect(await t.queued('test.marker')).toEqual([expect.objectContaining({ data: { marker: kept } })]);
    await t.drain();
    expect(received).toContain(kept);
    expect(received).not.toContain(rolledBack);
    expect(received).not.toContain(inSavepoint);
  });

  it('runs the jobs that jobs enqueue, in the same drain', async () => {
    const marker = randomUUID();
    await t.services.jobs.send(null, 'test.chain', { marker });
    expect(await t.drain()).toMatchObject({ ran: 2 });
    expect(received).toContain(`${marker}:child`);
  });

  it('retries a failing job up to its limit, then sends its dead letter and reports it', async () => {
    const recovers = randomUUID();
    fails.set(recovers, 2);
    await t.services.jobs.send(null, 'test.flaky', { marker: recovers });
    expect(await t.drain()).toMatchObject({ ran: 1, failed: [] });
    expect(received).toContain(recovers);

    const never = randomUUID();
    fails.set(never, 3);
    await t.services.jobs.send(null, 'test.flaky', { marker: never });
    await expect(t.drain()).rejects.toThrow(`test.flaky: flaky ${never}`);
    expect(received).not.toContain(never);
    expect(dead).toEqual([never]);

    const again = randomUUID();
    fails.set(again, 3);
    await t.services.jobs.send(null, 'test.flaky', { marker: again });
    const report = await t.drain({ allowFailures: true });
    expect(report.failed).toEqual([expect.objectContaining({ name: 'test.flaky', data: { marker: again } })]);
  });

  it('keeps a job sent for later until its time, or until a drain takes delayed jobs', async () => {
    const later = randomUUID();
    await t.services.jobs.send(null, 'test.marker', { marker: later }, { startAfter: 3600 });
    expect(await t.drain()).toMatchObject({ ran: 0 });
    expect(received).not.toContain(later);
    expect(await t.drain({ delayed: true })).toMatchObject({ ran: 1 });
    expect(received).toContain(later);
  });

  it('absorbs a send with the singleton key of a job still queued', async () => {
    const [first, second, third]: string[] = [randomUUID(), randomUUID(), randomUUID()];
    expect(
      await t.services.jobs.send(null, 'test.once', { marker: first }, { singletonKey: 'k' }),
    ).toBeTruthy();
    expect(
      await t.services.jobs.send(null, 'test.once', { marker: second }, { singletonKey: 'k' }),
    ).toBeNull();
    await t.drain();
    await t.services.jobs.send(null, 'test.once', { marker: third }, { singletonKey: 'k' });
    await t.drain();
    expect(received.filter((m) => [first, second, third].includes(m))).toEqual([first, third]);
  });
});
