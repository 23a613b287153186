import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../errors/app-error.js';
import { type CompileListQueryOptions, compileListQuery } from './query.compiler.js';
import {
  contactObject,
  contactRows,
  idsWhere,
  listRunner,
  NOW,
  OWNER,
  openContactsDb,
} from './query.fixtures.js';
import type { FilterNode, ListQuery } from './query.schema.js';

/** Compiling `query` fails with 400 invalid_query at exactly `path`. */
function expectInvalid(query: ListQuery, path: string, options: CompileListQueryOptions = {}) {
  let error: unknown;
  try {
    compileListQuery(contactObject, query, { now: NOW, ...options });
  } catch (e) {
    error = e;
  }
  expect(error, `expected a 400 at ${path}`).toBeInstanceOf(AppError);
  expect(error).toMatchObject({ status: 400, code: 'invalid_query', path });
}
const where = (filter: unknown) => ({ filter: filter as FilterNode });
const leaf = (value: number): FilterNode => ({ field: 'score', op: 'gt', value });

describe('invalid queries are a 400 invalid_query naming the offending place', () => {
  it('names fields that are unknown, retired, unreadable, not filterable or not sortable', () => {
    expectInvalid(where({ field: 'nope', op: 'eq', value: 1 }), 'filter.field');
    expectInvalid(
      where({ and: [leaf(1), { or: [{ field: 'nope', op: 'eq', value: 'x' }] }] }),
      'filter.and[1].or[0].field',
    );
    expectInvalid(where({ field: 'cf_legacy', op: 'eq', value: 'x' }), 'filter.field');
    expectInvalid(where({ field: 'cf_private', op: 'eq', value: 'x' }), 'filter.field', {
      readable: (f) => f.key !== 'cf_private',
    });
    expectInvalid(where({ field: 'cf_notes', op: 'contains', value: 'x' }), 'filter.field');
    expectInvalid(where({ field: 'full_name', op: 'eq', value: 'x' }), 'filter.field');
    expectInvalid(where({ not: { field: 'constructor', op: 'eq', value: 'x' } }), 'filter.not.field');
    expectInvalid({ sort: [{ field: 'tags', direction: 'asc' }] }, 'sort[0].field');
    expectInvalid(
      {
        sort: [
          { field: 'score', direction: 'asc' },
          { field: 'last_name', direction: 'asc' },
          { field: 'cf_interests', direction: 'asc' },
        ],
      },
      'sort[2].field',
    );
    expectInvalid(
      {
        sort: [
          { field: 'score', direction: 'asc' },
          { field: 'score', direction: 'desc' },
        ],
      },
      'sort[1].field',
    );
    expectInvalid({ sort: [{ field: 'score', direction: 'up' as 'asc' }] }, 'sort[0].direction');
    expectInvalid({ sort: [{ field: 'cf_private', direction: 'asc' }] }, 'sort[0].field', {
      readable: (f) => f.key !== 'cf_private',
    });
    expectInvalid({ fields: ['first_name', 'cf_legacy'] }, 'fields[1]');
  });

  it('names operators the field type does not take', () => {
    expectInvalid(where({ field: 'score', op: 'contains', value: '1' }), 'filter.op');
    expectInvalid(where({ field: 'first_name', op: 'hasAny', value: ['a'] }), 'filter.op');
    expectInvalid(where({ field: 'tags', op: 'eq', value: 'vip' }), 'filter.op');
    expectInvalid(where({ field: 'owner_id', op: 'gt', value: OWNER.ada }), 'filter.op');
    expectInvalid(where({ field: 'first_name', op: 'like', value: 'a' }), 'filter.op');
  });

  it('names values that do not fit the field', () => {
    const bad: [FilterNode, string][] = [
      [{ field: 'score', op: 'eq', value: 'abc' }, 'filter.value'],
      [{ field: 'score', op: 'eq', value: Number.NaN }, 'filter.value'],
      [{ field: 'score', op: 'in', value: [1, '2', 'three'] }, 'filter.value[2]'],
      [{ field: 'score', op: 'between', value: [1] }, 'filter.value'],
      [{ field: 'score', op: 'eq' }, 'filter.value'],
      [{ field: 'score', op: 'isEmpty', value: 1 }, 'filter.value'],
      [{ field: 'created_at', op: 'eq', value: '2024-13-01' }, 'filter.value'],
      [{ field: 'created_at', op: 'eq', value: '2024-05-01T25:00:00Z' }, 'filter.value'],
      [{ field: 'cf_renewal', op: 'eq', value: '2023-02-29' }, 'filter.value'],
      [{ field: 'cf_renewal', op: 'eq', value: '2024-05-01T10:00:00Z' }, 'filter.value'],
      [{ field: 'cf_renewal', op: 'between', value: ['2024-01-01', 5] }, 'filter.value[1]'],
      [{ field: 'created_at', op: 'eq', value: { relative: 'someday' } }, 'filter.value.relative'],
      [{ field: 'created_at', op: 'eq', value: { relative: 'last_0_days' } }, 'filter.value.relative'],
      [{ field: 'created_at', op: 'eq', value: { relative: 'next_3651_days' } }, 'filter.value.relative'],
      [{ field: 'created_at', op: 'eq', value: { relative: 'today', extra: 1 } }, 'filter.value'],
      [{ field: 'owner_id', op: 'eq', value: 'not-a-uuid' }, 'filter.value'],
      [{ field: 'cf_stage', op: 'eq', value: 'vip' }, 'filter.value'],
      [{ field: 'cf_interests', op: 'hasAny', value: ['crm', 'golf'] }, 'filter.value[1]'],
      [{ field: 'tags', op: 'hasAll', value: [] }, 'filter.value'],
      [{ field: 'first_name', op: 'eq', value: 42 }, 'filter.value'],
      [{ field: 'first_name', op: 'eq', value: 'x'.repeat(501) }, 'filter.value'],
      [{ field: 'first_name', op: 'eq', value: 'nul\u0000' }, 'filter.value'],
      [
        { field: 'first_name', op: 'in', value: Array.from({ length: 101 }, (_, i) => `n${i}`) },
        'filter.value',
      ],
    ];
    for (const [filter, path] of bad)
      expectInvalid(where({ and: [leaf(0), filter] }), path.replace('filter', 'filter.and[1]'));
  });

  it('names malformed nodes and caps the tree', () => {
    expectInvalid(where({ field: 'score', op: 'gt', value: 1, extra: true }), 'filter.extra');
    expectInvalid(where({ and: [leaf(1)], or: [] }), 'filter.or');
    expectInvalid(where({ and: 'x' }), 'filter.and');
    expectInvalid(where({ or: [null] }), 'filter.or[0]');
    // Four nested groups are fine, a fifth is not.
    const nest = (levels: number): FilterNode => (levels === 0 ? leaf(1) : { and: [nest(levels - 1)] });
    expect(() => compileListQuery(contactObject, where(nest(4)))).not.toThrow();
    expectInvalid(
      where({ or: [{ not: { and: [{ or: [{ and: [leaf(1)] }] }] } }] }),
      'filter.or[0].not.and[0].or[0]',
    );
    expect(() =>
      compileListQuery(contactObject, where({ and: Array.from({ length: 50 }, (_, i) => leaf(i)) })),
    ).not.toThrow();
    expectInvalid(where({ and: Array.from({ length: 51 }, (_, i) => leaf(i)) }), 'filter.and[50]');
  });

  it('names limit, q and the time zone', () => {
    expectInvalid({ limit: 0 }, 'limit');
    expectInvalid({ limit: 201 }, 'limit');
    expectInvalid({ limit: 2.5 }, 'limit');
    expectInvalid({ q: 'x'.repeat(201) }, 'q');
    expectInvalid({ q: 'a\u0000' }, 'q');
    expectInvalid({}, 'timeZone', { timeZone: 'Mars/Olympus' });
  });
});

describe('SQL injection strings are plain values', () => {
  const dir = fileURLToPath(
    new URL('../../../../../shared/data/security/payloadsallthethings/sqli', import.meta.url),
  );
  const payloads = [
    'Generic_Fuzz.txt',
    'Auth_Bypass.txt',
    'FUZZDB_Postgres_Enumeration.txt',
    'SQLi_Polyglots.txt',
  ]
    .filter((name) => readdirSync(dir).includes(name))
    .flatMap((name) => readFileSync(`${dir}/${name}`, 'utf8').split('\n').slice(0, 40))
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.slice(0, 200));
  let pglite: PGlite;
  let db: PgliteDatabase;
  let list: ReturnType<typeof listRunner>;
  beforeAll(async () => {
    ({ pglite, db } = await openContactsDb());
    list = listRunner(db);
  });
  afterAll(() => pglite.close());

  /** What free text means, in plain JavaScript: each word somewhere, or the digits in a phone. */
  const searchOracle = (q: string) => {
    const words = q.split(/\s+/).filter(Boolean).slice(0, 8);
    const digits = q.replace(/\D/g, '');
    return idsWhere((r) => {
      const texts = [r.first_name, r.last_name, r.email, r.phone].map((v) => (v ?? '').toLowerCase());
      const byWords = words.every((w) => texts.some((t) => t.includes(w.toLowerCase())));
      const byDigits = digits.length >= 3 && (r.phone ?? '').replace(/\D/g, '').includes(digits);
      return byWords || byDigits;
    });
  };

  it('matches them literally in filters and q, and the table is untouched', async () => {
    expect(payloads.length).toBeGreaterThan(20);
    for (const payload of payloads) {
      expect(await list.matching({ field: 'first_name', op: 'eq', value: payload })).toEqual([]);
      expect(
        await list.matching({ field: 'email', op: 'in', value: [payload, 'ada@example.com'] }),
      ).toHaveLength(1);
      expect(await list.matching({ field: 'last_name', op: 'contains', value: payload })).toEqual(
        idsWhere((r) => (r.last_name ?? '').toLowerCase().includes(payload.toLowerCase())),
      );
      expect(await list.matching(undefined, { q: payload })).toEqual(searchOracle(payload));
    }
    const { rows } = await db.execute(sql`select count(*)::int as n from contacts`);
    expect(rows[0]).toEqual({ n: contactRows.length });
  });

  it('refuses them where a field key or operator is expected', () => {
    for (const payload of payloads.slice(0, 10)) {
      expectInvalid(where({ field: payload, op: 'eq', value: 'x' }), 'filter.field');
      expectInvalid({ sort: [{ field: payload, direction: 'asc' }] }, 'sort[0].field');
      expectInvalid({ fields: [payload] }, 'fields[0]');
    }
  });
});
