import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TenantContext, withTenant } from '../src/db/tenant.js';
import { events } from '../src/platform/events/event.schema.js';
import { emitEvent } from '../src/platform/events/events.js';
import { signUp, startTestApp, type TestApp } from './harness.js';

let t: TestApp;
let a: TenantContext;
let b: TenantContext;

beforeAll(async () => {
  t = await startTestApp();
  const orgA = await signUp(t, 'Tenant A');
  const orgB = await signUp(t, 'Tenant B');
  a = { orgId: orgA.orgId, actor: { type: 'user', id: orgA.userId } };
  b = { orgId: orgB.orgId, actor: { type: 'user', id: orgB.userId } };
  for (const ctx of [a, b]) {
    await withTenant(t.services.database, ctx, (scope) =>
      emitEvent(scope, t.services.jobs, {
        type: 'organization.created',
        subject: { object: 'organization', id: ctx.orgId },
        data: { name: 'A test event' },
      }),
    );
  }
});
afterAll(() => t?.close());

describe('row-level security', () => {
  it('a query that forgets its org_id filter still returns nothing of another tenant', async () => {
    const rows = await withTenant(t.services.database, a, ({ tx }) => tx.select().from(events));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.orgId === a.orgId)).toBe(true);
  });

  it('asking for another tenant by id returns nothing', async () => {
    const rows = await withTenant(t.services.database, a, ({ tx }) =>
      tx.select().from(events).where(eq(events.orgId, b.orgId)),
    );
    expect(rows).toEqual([]);
  });

  it('refuses to write a row into another tenant, and the attempt changes nothing', async () => {
    const before = await countEvents(b);
    await expect(
      withTenant(t.services.database, a, ({ tx }) =>
        tx.insert(events).values({
          orgId: b.orgId,
          id: randomUUID(),
          type: 'test.intrusion',
          actorType: 'user',
          subjectObject: 'test',
          subjectId: 'x',
        }),
      ),
    ).rejects.toThrow();
    expect(await countEvents(b)).toBe(before);
  });

  it('the events table is append-only for the app role: no UPDATE, no DELETE', async () => {
    const refusal = (work: Promise<unknown>) =>
      work.then(
        () => 'allowed',
        (e: Error) => String((e.cause as Error | undefined)?.message ?? e.message),
      );
    expect(
      await refusal(
        withTenant(t.services.database, a, ({ tx }) =>
          tx.update(events).set({ type: 'rewritten' }).where(eq(events.orgId, a.orgId)),
        ),
      ),
    ).toMatch(/permission denied/);
    expect(
      await refusal(
        withTenant(t.services.database, a, ({ tx }) => tx.delete(events).where(eq(events.orgId, a.orgId))),
      ),
    ).toMatch(/permission denied/);
  });

  it('tenant work runs as a role that cannot bypass row-level security', async () => {
    const [role] = await withTenant(t.services.database, a, ({ tx }) =>
      tx.execute<{ user: string; bypass: boolean; superuser: boolean }>(
        sql`select current_user as user, rolbypassrls as bypass, rolsuper as superuser from pg_roles where rolname = current_user`,
      ),
    ).then(
      (r) =>
        (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows) as {
          user: string;
          bypass: boolean;
          superuser: boolean;
        }[],
    );
    expect(role).toEqual({ user: 'cairn_app', bypass: false, superuser: false });
  });

  it('without a tenant set, the app role sees no tenant rows at all', async () => {
    const count = await t.services.database.db.transaction(async (tx) => {
      await tx.execute(sql`select set_config('role', 'cairn_app', true)`);
      const result = await tx.execute<{ n: number }>(sql`select count(*)::int as n from events`);
      return (Array.isArray(result) ? result : (result as { rows: { n: number }[] }).rows)[0]!.n;
    });
    expect(count).toBe(0);
  });
});

describe('read-only tenant transactions (the pipelined read path on a server)', () => {
  const read = (ctx: TenantContext) =>
    withTenant(t.services.database, ctx, ({ tx }) => tx.select().from(events), { readOnly: true });

  it('see only their tenant, also when many run at once for different tenants', async () => {
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? read(a) : read(b))));
    results.forEach((rows, i) => {
      const ctx = i % 2 ? a : b;
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((r) => r.orgId === ctx.orgId)).toBe(true);
    });
  });

  it('refuse a write (SQLSTATE 25006) and store nothing', async () => {
    const before = await countEvents(a);
    await expect(
      withTenant(
        t.services.database,
        a,
        ({ tx }) =>
          tx.insert(events).values({
            orgId: a.orgId,
            id: randomUUID(),
            type: 'test.read_only_write',
            actorType: 'user',
            subjectObject: 'test',
            subjectId: 'x',
          }),
        { readOnly: true },
      ),
    ).rejects.toMatchObject({ cause: { code: '25006' } });
    expect(await countEvents(a)).toBe(before);
  });

  it('a failed read leaves its connection fit for the next unit of work', async () => {
    for (let i = 0; i < 15; i++) {
      await expect(
        withTenant(t.services.database, a, ({ tx }) => tx.execute(sql`select 1 / 0`), { readOnly: true }),
      ).rejects.toThrow();
      await expect(
        withTenant(t.services.database, a, ({ tx }) => tx.execute(sql`select missing_column from events`), {
          readOnly: true,
        }),
      ).rejects.toThrow();
    }
    // Every pooled connection took part above; reads and writes on them still work as the tenant.
    const rows = await Promise.all(Array.from({ length: 20 }, () => read(a)));
    expect(rows.every((r) => r.length > 0 && r.every((e) => e.orgId === a.orgId))).toBe(true);
    const written = await withTenant(t.services.database, a, (scope) =>
      emitEvent(scope, t.services.jobs, {
        type: 'organization.created',
        subject: { object: 'organization', id: a.orgId },
        data: { name: 'Written after failed reads' },
      }),
    );
    expect(written).toBeDefined();
  });
});

describe('the schema keeps the tenancy invariants for every tenant table', () => {
  it('every table with org_id has RLS enabled and forced, a tenant policy, and org_id leading its primary key', async () => {
    const { rows } = await t.services.database.raw.query<{
      table: string;
      rls: boolean;
      forced: boolean;
      policies: number;
      pk_first: string | null;
    }>(`
      select c.relname as table, c.relrowsecurity as rls, c.relforcerowsecurity as forced,
             (select count(*)::int from pg_policy p where p.polrelid = c.oid) as policies,
             (select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
               where i.indrelid = c.oid and i.indisprimary) as pk_first
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind = 'r'
         and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'org_id' and not a.attisdropped)`);
    expect(rows.length).toBeGreaterThan(0);
    // No exception: the guard's locks are a flag on the membership (members has no org_id).
    for (const row of rows) {
      expect(row, row.table).toMatchObject({ rls: true, forced: true, pk_first: 'org_id' });
      expect(row.policies, row.table).toBeGreaterThan(0);
    }
  });

  it('every unique index of a tenant table includes org_id', async () => {
    const { rows } = await t.services.database.raw.query<{ index: string; has_org: boolean }>(`
      select i.indexrelid::regclass::text as index,
             exists (select 1 from pg_attribute a where a.attrelid = i.indrelid and a.attname = 'org_id'
                      and a.attnum = any(i.indkey)) as has_org
        from pg_index i join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and i.indisunique
         and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'org_id' and not a.attisdropped)`);
    for (const row of rows) expect(row.has_org, row.index).toBe(true);
  });

  it('every foreign key between tenant tables is composite, starting with org_id', async () => {
    const { rows } = await t.services.database.raw.query<{ name: string; first: string }>(`
      select con.conname as name, a.attname as first
        from pg_constraint con
        join pg_attribute a on a.attrelid = con.conrelid and a.attnum = con.conkey[1]
       where con.contype = 'f'
         and exists (select 1 from pg_attribute x where x.attrelid = con.conrelid and x.attname = 'org_id')
         and exists (select 1 from pg_attribute x where x.attrelid = con.confrelid and x.attname = 'org_id')`);
    for (const row of rows) expect(row.first, row.name).toBe('org_id');
  });
});

async function countEvents(ctx: TenantContext): Promise<number> {
  const rows = await withTenant(t.services.database, ctx, ({ tx }) =>
    tx.select({ id: events.id }).from(events),
  );
  return rows.length;
}
