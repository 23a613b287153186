import type { PGlite } from '@electric-sql/pglite';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileListQuery } from './query.compiler.js';
import {
  type ContactRow,
  contactObject,
  contactRows,
  idOf,
  idsWhere,
  listRunner,
  NOW,
  OWNER,
  openContactsDb,
} from './query.fixtures.js';
import type { FilterNode } from './query.schema.js';

let pglite: PGlite;
let list: ReturnType<typeof listRunner>;
beforeAll(async () => {
  let db: PgliteDatabase;
  ({ pglite, db } = await openContactsDb());
  list = listRunner(db);
});
afterAll(() => pglite.close());

/** Asserts the filter returns exactly the rows the predicate picks, and that this is a real test. */
async function expectFilter(filter: FilterNode, predicate: (row: ContactRow) => boolean) {
  const expected = idsWhere(predicate);
  expect(expected.length, 'the predicate picks some rows').toBeGreaterThan(0);
  expect(expected.length, 'the predicate leaves some rows out').toBeLessThan(contactRows.length);
  expect(await list.matching(filter)).toEqual(expected);
}
const lower = (s: string | null) => (s ?? '').toLowerCase();
const time = (iso: string | null) => (iso === null ? Number.NaN : Date.parse(iso));
const within = (iso: string | null, from: string, to: string) =>
  time(iso) >= Date.parse(from) && time(iso) < Date.parse(to);
const budget = (r: ContactRow) => r.custom.cf_budget as number | undefined;
const interests = (r: ContactRow) => (r.custom.cf_interests as string[] | undefined) ?? [];
const renewal = (r: ContactRow) => r.custom.cf_renewal as string | undefined;

describe('filters on column fields', () => {
  it('compares text exactly with eq / in, and neq / nin include records without a value', async () => {
    expect(await list.matching({ field: 'first_name', op: 'eq', value: 'Ada' })).toEqual([idOf(1)]);
    await expectFilter({ field: 'first_name', op: 'neq', value: 'Ada' }, (r) => r.first_name !== 'Ada');
    await expectFilter({ field: 'last_name', op: 'in', value: ['Hopper', 'Knuth', 'Smith'] }, (r) =>
      ['Hopper', 'Knuth', 'Smith'].includes(r.last_name ?? ''),
    );
    await expectFilter(
      { field: 'first_name', op: 'nin', value: ['Ada', 'Grace'] },
      (r) => !['Ada', 'Grace'].includes(r.first_name ?? '-'),
    );
  });

  it('matches contains / startsWith case-insensitively, with % _ \\ taken literally', async () => {
    await expectFilter({ field: 'last_name', op: 'contains', value: 'OR' }, (r) =>
      lower(r.last_name).includes('or'),
    );
    await expectFilter({ field: 'email', op: 'startsWith', value: 'TEST' }, (r) =>
      lower(r.email).startsWith('test'),
    );
    expect(await list.matching({ field: 'first_name', op: 'contains', value: '%' })).toEqual([idOf(11)]);
    expect(await list.matching({ field: 'last_name', op: 'contains', value: 'r_s' })).toEqual([idOf(11)]);
    expect(await list.matching({ field: 'first_name', op: 'startsWith', value: '100%' })).toEqual([idOf(11)]);
    expect(await list.matching({ field: 'email', op: 'contains', value: '\\' })).toEqual([]);
    expect(await list.matching({ field: 'last_name', op: 'eq', value: "O'Brien" })).toEqual([idOf(12)]);
  });

  it('treats NULL and empty text as empty', async () => {
    await expectFilter({ field: 'phone', op: 'isEmpty' }, (r) => !r.phone);
    await expectFilter({ field: 'first_name', op: 'isNotEmpty' }, (r) => Boolean(r.first_name));
  });

  it('compares numbers numerically, between inclusive', async () => {
    await expectFilter({ field: 'score', op: 'gt', value: 75 }, (r) => r.score !== null && r.score > 75);
    await expectFilter({ field: 'score', op: 'gte', value: '75' }, (r) => r.score !== null && r.score >= 75);
    await expectFilter({ field: 'score', op: 'lt', value: 40 }, (r) => r.score !== null && r.score < 40);
    await expectFilter({ field: 'score', op: 'lte', value: 40 }, (r) => r.score !== null && r.score <= 40);
    await expectFilter(
      { field: 'score', op: 'between', value: [40, 75] },
      (r) => r.score !== null && r.score >= 40 && r.score <= 75,
    );
    expect(await list.matching({ field: 'score', op: 'eq', value: 99.5 })).toEqual([idOf(6)]);
    await expectFilter(
      { field: 'score', op: 'in', value: [40, 75] },
      (r) => r.score === 40 || r.score === 75,
    );
    await expectFilter({ field: 'score', op: 'isEmpty' }, (r) => r.score === null);
  });

  it('compares datetimes with instants and whole days', async () => {
    await expectFilter(
      { field: 'created_at', op: 'gte', value: '2024-05-15T08:00:00Z' },
      (r) => time(r.created_at) >= Date.parse('2024-05-15T08:00:00Z'),
    );
    await expectFilter(
      { field: 'created_at', op: 'gt', value: '2024-05-15T10:00:00+02:00' },
      (r) => time(r.created_at) > Date.parse('2024-05-15T08:00:00Z'),
    );
    expect(await list.matching({ field: 'created_at', op: 'eq', value: '2024-05-15T09:59:59Z' })).toEqual([
      idOf(7),
    ]);
    // A day on a datetime field is that whole day; lte a day includes it, lt excludes it.
    await expectFilter({ field: 'created_at', op: 'eq', value: '2024-05-12' }, (r) =>
      within(r.created_at, '2024-05-12T00:00:00Z', '2024-05-13T00:00:00Z'),
    );
    await expectFilter(
      { field: 'created_at', op: 'lte', value: '2024-05-12' },
      (r) => time(r.created_at) < Date.parse('2024-05-13T00:00:00Z'),
    );
    await expectFilter(
      { field: 'created_at', op: 'lt', value: '2024-05-12' },
      (r) => time(r.created_at) < Date.parse('2024-05-12T00:00:00Z'),
    );
    await expectFilter({ field: 'created_at', op: 'between', value: ['2024-05-01', '2024-05-14'] }, (r) =>
      within(r.created_at, '2024-05-01T00:00:00Z', '2024-05-15T00:00:00Z'),
    );
  });

  it('filters by owner and id (uuids, any case)', async () => {
    await expectFilter(
      { field: 'owner_id', op: 'eq', value: OWNER.ada.toUpperCase() },
      (r) => r.owner_id === OWNER.ada,
    );
    await expectFilter(
      { field: 'owner_id', op: 'nin', value: [OWNER.ada, OWNER.bob] },
      (r) => r.owner_id !== OWNER.ada && r.owner_id !== OWNER.bob,
    );
    await expectFilter({ field: 'owner_id', op: 'isEmpty' }, (r) => r.owner_id === null);
    expect(await list.matching({ field: 'id', op: 'in', value: [idOf(3), idOf(30)] })).toEqual([
      idOf(3),
      idOf(30),
    ]);
  });

  it('compiles a tag filter to the plain && / @> on the tags column (GIN-indexable), values lower-cased', () => {
    const where = (op: 'hasAny' | 'hasAll') => {
      const { where } = compileListQuery(
        contactObject,
        { filter: { field: 'tags', op, value: ['VIP', 'Lead'] } },
        { table: 'c', now: NOW },
      );
      return new PgDialect().sqlToQuery(where);
    };
    // Issue 18: lower(coalesce(tags,'{}')::text)::text[] was misestimated tenfold by the planner.
    expect(where('hasAny').sql).toMatch(/^\(*"c"\."tags" && array\[\$1, \$2\]::text\[\]\)*$/);
    expect(where('hasAny').params).toEqual(['vip', 'lead']);
    expect(where('hasAll').sql).toMatch(/^\(*"c"\."tags" @> array\[\$1, \$2\]::text\[\]\)*$/);
  });

  it('matches tags case-insensitively; hasNone and isEmpty count records without tags', async () => {
    const tags = (r: ContactRow) => (r.tags ?? []).map((t) => t.toLowerCase());
    await expectFilter({ field: 'tags', op: 'hasAny', value: ['vip'] }, (r) => tags(r).includes('vip'));
    await expectFilter({ field: 'tags', op: 'hasAny', value: ['LEAD', 'kernel'] }, (r) =>
      tags(r).some((t) => t === 'lead' || t === 'kernel'),
    );
    expect(await list.matching({ field: 'tags', op: 'hasAll', value: ['unix', 'C'] })).toEqual([idOf(8)]);
    await expectFilter(
      { field: 'tags', op: 'hasNone', value: ['vip', 'lead'] },
      (r) => !tags(r).includes('vip') && !tags(r).includes('lead'),
    );
    await expectFilter({ field: 'tags', op: 'isEmpty' }, (r) => tags(r).length === 0);
    await expectFilter({ field: 'tags', op: 'isNotEmpty' }, (r) => tags(r).length > 0);
  });
});

describe('filters on custom fields', () => {
  it('compares a custom number as a number (5000 < 250000), missing = empty', async () => {
    await expectFilter({ field: 'cf_budget', op: 'gt', value: 1000 }, (r) => (budget(r) ?? -1) > 1000);
    await expectFilter({ field: 'cf_budget', op: 'lte', value: 99.99 }, (r) => (budget(r) ?? 1e9) <= 99.99);
    await expectFilter({ field: 'cf_budget', op: 'isEmpty' }, (r) => budget(r) === undefined);
    await expectFilter({ field: 'cf_budget', op: 'neq', value: 0 }, (r) => budget(r) !== 0);
  });

  it('filters a custom select by its options', async () => {
    const stage = (r: ContactRow) => r.custom.cf_stage;
    await expectFilter({ field: 'cf_stage', op: 'eq', value: 'customer' }, (r) => stage(r) === 'customer');
    await expectFilter({ field: 'cf_stage', op: 'in', value: ['lead', 'qualified'] }, (r) =>
      ['lead', 'qualified'].includes(String(stage(r))),
    );
    await expectFilter({ field: 'cf_stage', op: 'nin', value: ['lead'] }, (r) => stage(r) !== 'lead');
    await expectFilter({ field: 'cf_stage', op: 'isEmpty' }, (r) => stage(r) === undefined);
  });

  it('filters a custom multi-select with hasAny / hasAll / hasNone / isEmpty', async () => {
    await expectFilter({ field: 'cf_interests', op: 'hasAny', value: ['email'] }, (r) =>
      interests(r).includes('email'),
    );
    await expectFilter({ field: 'cf_interests', op: 'hasAll', value: ['crm', 'sales'] }, (r) =>
      ['crm', 'sales'].every((v) => interests(r).includes(v)),
    );
    await expectFilter(
      { field: 'cf_interests', op: 'hasNone', value: ['crm'] },
      (r) => !interests(r).includes('crm'),
    );
    await expectFilter({ field: 'cf_interests', op: 'isEmpty' }, (r) => interests(r).length === 0);
  });

  it('compares a custom date by calendar day', async () => {
    await expectFilter(
      { field: 'cf_renewal', op: 'lt', value: '2024-05-15' },
      (r) => (renewal(r) ?? '9') < '2024-05-15',
    );
    await expectFilter({ field: 'cf_renewal', op: 'between', value: ['2024-05-01', '2024-05-31'] }, (r) => {
      const d = renewal(r) ?? '';
      return d >= '2024-05-01' && d <= '2024-05-31';
    });
    await expectFilter(
      { field: 'cf_renewal', op: 'eq', value: '2024-05-15' },
      (r) => renewal(r) === '2024-05-15',
    );
  });
});

describe('and / or / not', () => {
  it('nests groups the way they read', async () => {
    await expectFilter(
      {
        and: [
          {
            or: [
              { field: 'owner_id', op: 'eq', value: OWNER.ada },
              { field: 'tags', op: 'hasAny', value: ['vip'] },
            ],
          },
          { not: { field: 'score', op: 'lt', value: 50 } },
        ],
      },
      (r) =>
        (r.owner_id === OWNER.ada || (r.tags ?? []).some((t) => t.toLowerCase() === 'vip')) &&
        !(r.score !== null && r.score < 50),
    );
  });

  it('not is two-valued: not (score > 50) includes records without a score', async () => {
    await expectFilter(
      { not: { field: 'score', op: 'gt', value: 50 } },
      (r) => !(r.score !== null && r.score > 50),
    );
    await expectFilter(
      { not: { not: { field: 'score', op: 'gt', value: 50 } } },
      (r) => r.score !== null && r.score > 50,
    );
  });

  it('an empty group is no condition', async () => {
    expect(await list.matching({ and: [] })).toHaveLength(contactRows.length);
    expect(
      await list.matching({ or: [{ and: [] }, { field: 'first_name', op: 'eq', value: 'nobody' }] }),
    ).toHaveLength(contactRows.length);
  });
});

describe('relative dates (now = Wednesday 2024-05-15 10:00 UTC)', () => {
  const createdWithin = (from: string, to: string) => (r: ContactRow) =>
    within(r.created_at, `${from}T00:00:00Z`, `${to}T00:00:00Z`);

  it('eq a period means within it', async () => {
    await expectFilter(
      { field: 'created_at', op: 'eq', value: { relative: 'today' } },
      createdWithin('2024-05-15', '2024-05-16'),
    );
    await expectFilter(
      { field: 'created_at', op: 'eq', value: { relative: 'yesterday' } },
      createdWithin('2024-05-14', '2024-05-15'),
    );
    await expectFilter(
      { field: 'created_at', op: 'eq', value: { relative: 'this_week' } },
      createdWithin('2024-05-13', '2024-05-20'),
    );
    await expectFilter(
      { field: 'created_at', op: 'eq', value: { relative: 'last_week' } },
      createdWithin('2024-05-06', '2024-05-13'),
    );
    await expectFilter(
      { field: 'created_at', op: 'eq', value: { relative: 'last_month' } },
      createdWithin('2024-04-01', '2024-05-01'),
    );
    await expectFilter(
      { field: 'created_at', op: 'eq', value: { relative: 'last_7_days' } },
      createdWithin('2024-05-09', '2024-05-16'),
    );
    await expectFilter(
      { field: 'created_at', op: 'between', value: { relative: 'this_quarter' } },
      createdWithin('2024-04-01', '2024-07-01'),
    );
    await expectFilter(
      { field: 'created_at', op: 'neq', value: { relative: 'this_year' } },
      (r) => !createdWithin('2024-01-01', '2025-01-01')(r),
    );
  });

  it('lt is before the period, lte up to its end, gt after it, gte from its start', async () => {
    const month = { relative: 'this_month' };
    await expectFilter(
      { field: 'created_at', op: 'lt', value: month },
      (r) => time(r.created_at) < Date.parse('2024-05-01'),
    );
    await expectFilter(
      { field: 'created_at', op: 'gte', value: month },
      (r) => time(r.created_at) >= Date.parse('2024-05-01'),
    );
    await expectFilter(
      { field: 'created_at', op: 'gt', value: { relative: 'today' } },
      (r) => time(r.created_at) >= Date.parse('2024-05-16'),
    );
    await expectFilter(
      { field: 'created_at', op: 'lte', value: { relative: 'yesterday' } },
      (r) => time(r.created_at) < Date.parse('2024-05-15'),
    );
  });

  it('works on date fields too: renewals in the next 7 days, today included', async () => {
    await expectFilter({ field: 'cf_renewal', op: 'eq', value: { relative: 'next_7_days' } }, (r) => {
      const d = renewal(r) ?? '';
      return d >= '2024-05-15' && d < '2024-05-22';
    });
    await expectFilter(
      { field: 'cf_renewal', op: 'between', value: ['2024-01-01', { relative: 'tomorrow' }] },
      (r) => {
        const d = renewal(r) ?? '';
        return d >= '2024-01-01' && d <= '2024-05-16';
      },
    );
  });

  it('reads days in the caller time zone: Auckland (UTC+12) today started 2024-05-14 12:00 UTC', async () => {
    const today: FilterNode = { field: 'created_at', op: 'eq', value: { relative: 'today' } };
    expect(await list.matching(today, {}, { timeZone: 'Pacific/Auckland' })).toEqual(
      idsWhere((r) => within(r.created_at, '2024-05-14T12:00:00Z', '2024-05-15T12:00:00Z')),
    );
    expect(await list.matching(today, {}, { timeZone: 'Pacific/Auckland' })).toContain(idOf(2));
    expect(await list.matching(today)).not.toContain(idOf(2));
    // A date-time without offset is local to the zone too.
    expect(
      await list.matching(
        { field: 'created_at', op: 'eq', value: '2024-05-15T21:59:59' },
        {},
        { timeZone: 'Pacific/Auckland' },
      ),
    ).toEqual([idOf(7)]);
  });
});

describe('q: free text across searchable fields', () => {
  const q = (text: string, extra = {}) => list.matching(undefined, { q: text, ...extra });

  it('finds names and emails by any part, every word somewhere', async () => {
    expect(await q('ada')).toEqual([idOf(1)]);
    expect(await q('LOVELACE')).toEqual([idOf(1)]);
    expect(await q('ada love')).toEqual([idOf(1)]);
    expect(await q('bell-labs')).toEqual([idOf(7), idOf(8)]);
    expect(await q('  ')).toHaveLength(contactRows.length);
  });

  it('matches phone numbers by their digits whatever the formatting', async () => {
    expect(await q('(555) 123')).toEqual([idOf(1), idOf(8), idOf(10)]);
    expect(await q('555.867.5309')).toEqual([idOf(12)]);
    expect(await q('12')).toEqual(
      idsWhere((r) => [r.first_name, r.last_name, r.email, r.phone].some((v) => lower(v).includes('12'))),
    );
  });

  it('takes % and _ literally and combines with the filter', async () => {
    expect(await q('%')).toEqual([idOf(11)]);
    expect(await q('@example.com', { filter: { field: 'owner_id', op: 'eq', value: OWNER.cy } })).toEqual([
      idOf(12),
    ]);
  });

  it('never searches a field the caller may not read', async () => {
    expect(
      await list.matching(undefined, { q: 'bell-labs' }, { readable: (f) => f.key !== 'email' }),
    ).toEqual([]);
  });
});
