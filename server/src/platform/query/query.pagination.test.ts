import type { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../errors/app-error.js';
import { compileListQuery, pageOf } from './query.compiler.js';
import {
  type ContactRow,
  contactObject,
  contactRows,
  listRunner,
  NOW,
  openContactsDb,
} from './query.fixtures.js';
import type { ListQuery, SortKey } from './query.schema.js';

let pglite: PGlite;
let db: PgliteDatabase;
let list: ReturnType<typeof listRunner>;
beforeAll(async () => {
  ({ pglite, db } = await openContactsDb());
  list = listRunner(db);
});
afterAll(() => pglite.close());

type Sortable = string | number | null;
const sortValue: Record<string, (r: ContactRow) => Sortable> = {
  id: (r) => r.id,
  first_name: (r) => r.first_name,
  last_name: (r) => r.last_name,
  owner_id: (r) => r.owner_id,
  score: (r) => r.score,
  created_at: (r) => (r.created_at === null ? null : Date.parse(r.created_at)),
  cf_budget: (r) => (r.custom.cf_budget as number | undefined) ?? null,
  cf_stage: (r) => (r.custom.cf_stage as string | undefined) ?? null,
  cf_renewal: (r) => (r.custom.cf_renewal as string | undefined) ?? null,
};

/** The order a user expects: NULLs after values ascending, before them descending, then by id. */
function expectedOrder(sort: SortKey[]): string[] {
  const keys = [...sort, { field: 'id', direction: sort[sort.length - 1]?.direction ?? 'asc' } as const];
  const compare = (a: ContactRow, b: ContactRow) => {
    for (const { field, direction } of keys) {
      const x = sortValue[field]?.(a) ?? null;
      const y = sortValue[field]?.(b) ?? null;
      if (x === y) continue;
      // NULL counts as the greatest value: last ascending, first descending.
      const order = x === null ? 1 : y === null ? -1 : x < y ? -1 : 1;
      return direction === 'asc' ? order : -order;
    }
    return 0;
  };
  return [...contactRows].sort(compare).map((r) => r.id);
}

/** Walks every page of `query` (7 rows a page) through the cursor, as a client does. */
async function pageThrough(query: ListQuery, size = 7): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 50; pages++) {
    const { rows, compiled } = await list.run({ ...query, limit: size, cursor });
    seen.push(...rows.map((r) => String(r.id)));
    const last = rows[rows.length - 1];
    if (rows.length < size || !last) return seen;
    cursor = compiled.cursorOf(last);
  }
  throw new Error('paging did not end');
}

const SORTS: Record<string, SortKey[]> = {
  'newest first (the default)': [{ field: 'created_at', direction: 'desc' }],
  'score desc, last name asc': [
    { field: 'score', direction: 'desc' },
    { field: 'last_name', direction: 'asc' },
  ],
  'custom number asc': [{ field: 'cf_budget', direction: 'asc' }],
  'first name asc (NULL and empty)': [{ field: 'first_name', direction: 'asc' }],
  'custom select desc, created asc': [
    { field: 'cf_stage', direction: 'desc' },
    { field: 'created_at', direction: 'asc' },
  ],
  'owner asc, custom date desc, score asc': [
    { field: 'owner_id', direction: 'asc' },
    { field: 'cf_renewal', direction: 'desc' },
    { field: 'score', direction: 'asc' },
  ],
  'score desc, custom number desc': [
    { field: 'score', direction: 'desc' },
    { field: 'cf_budget', direction: 'desc' },
  ],
  'id desc': [{ field: 'id', direction: 'desc' }],
};

describe('sorting', () => {
  for (const [name, sort] of Object.entries(SORTS)) {
    it(`sorts by ${name}, NULLs last ascending and first descending, id breaking ties`, async () => {
      expect(await list.ordered({ sort })).toEqual(expectedOrder(sort));
    });
  }

  it('uses the object default sort when none is given', async () => {
    expect(await list.ordered({})).toEqual(expectedOrder([{ field: 'created_at', direction: 'desc' }]));
  });
});

describe('keyset pagination', () => {
  for (const [name, sort] of Object.entries(SORTS)) {
    it(`pages through every row exactly once by ${name}`, async () => {
      const paged = await pageThrough({ sort });
      expect(paged).toEqual(await list.ordered({ sort }));
      expect(new Set(paged).size).toBe(contactRows.length);
    });
  }

  it('pages a filtered, searched list the same way', async () => {
    const query: ListQuery = {
      filter: {
        or: [
          { field: 'score', op: 'gte', value: 40 },
          { field: 'tags', op: 'isEmpty' },
        ],
      },
      q: 'e',
      sort: [{ field: 'score', direction: 'asc' }],
    };
    const all = await list.ordered(query);
    expect(all.length).toBeGreaterThan(7);
    expect(await pageThrough(query, 3)).toEqual(all);
  });

  it('keeps microsecond timestamps apart (a JS Date would merge them)', async () => {
    const other = await openContactsDb();
    try {
      await other.db.execute(sql`update contacts set created_at = '2024-05-15 08:00:00.000001+00'::timestamptz
        + (substr(id::text, 25)::int % 3) * interval '1 microsecond'`);
      const pages = listRunner(other.db);
      for (const direction of ['asc', 'desc'] as const) {
        const sort: SortKey[] = [{ field: 'created_at', direction }];
        const all = await pages.ordered({ sort });
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let i = 0; i < 40 && seen.length < all.length; i++) {
          const { rows, compiled } = await pages.run({ sort, limit: 4, cursor });
          seen.push(...rows.map((r) => String(r.id)));
          cursor = rows.length > 0 ? compiled.cursorOf(rows[rows.length - 1] ?? {}) : undefined;
        }
        expect(seen).toEqual(all);
      }
    } finally {
      await other.pglite.close();
    }
  });

  it('gives a route its page and next cursor with pageOf (fetching limit + 1)', async () => {
    const fetchPage = async (cursor?: string) => {
      const c = compileListQuery(
        contactObject,
        { limit: 20, cursor, fields: ['first_name', 'cf_budget'] },
        { now: NOW },
      );
      const { rows } = await db.execute(
        sql`select ${c.select} from contacts where ${c.where} order by ${c.orderBy} limit ${c.limit + 1}`,
      );
      return pageOf(c, rows as Record<string, unknown>[]);
    };
    const first = await fetchPage();
    expect(first.items).toHaveLength(20);
    expect(Object.keys(first.items[0] ?? {}).sort()).toEqual(['cf_budget', 'first_name', 'id']);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await fetchPage(first.nextCursor ?? undefined);
    expect(second.items).toHaveLength(contactRows.length - 20);
    expect(second.nextCursor).toBeNull();
    // Custom values keep their JSON type.
    expect(first.items.map((i) => i.cf_budget)).toContain(1200.5);
  });
});

describe('invalid cursors are a 400 on `cursor`, never a 500', () => {
  const cursorFor = async (sort: SortKey[]) => {
    const { rows, compiled } = await list.run({ sort, limit: 3 });
    return compiled.cursorOf(rows[2] ?? {});
  };
  const encode = (payload: unknown) => Buffer.from(JSON.stringify(payload)).toString('base64url');
  const rejects = async (cursor: string, sort: SortKey[] = [{ field: 'score', direction: 'desc' }]) => {
    const error = await list.run({ sort, cursor }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ status: 400, code: 'invalid_query', path: 'cursor' });
  };

  it('rejects garbage, foreign sorts and tampered values', async () => {
    await rejects('not a cursor!');
    await rejects(encode('just a string'));
    await rejects(Buffer.from('{"v":1,').toString('base64url'));
    await rejects(await cursorFor([{ field: 'last_name', direction: 'asc' }]));
    await rejects(
      encode({ v: 1, s: 'score:desc,id:desc', k: ['x', '00000000-0000-4000-8000-000000000001'] }),
    );
    await rejects(encode({ v: 1, s: 'score:desc,id:desc', k: ['1', 'not-a-uuid'] }));
    await rejects(encode({ v: 1, s: 'score:desc,id:desc', k: ['1', null] }));
    await rejects(encode({ v: 1, s: 'score:desc,id:desc', k: ['1'] }));
    await rejects(encode({ v: 1, s: 'first_name:asc,id:asc', k: ['a\u0000', contactRows[0]?.id] }), [
      { field: 'first_name', direction: 'asc' },
    ]);
    await rejects(encode({ v: 1, s: 'created_at:desc,id:desc', k: ['yesterday', contactRows[0]?.id] }), [
      { field: 'created_at', direction: 'desc' },
    ]);
  });

  it('accepts a cursor from the same sort with another filter', async () => {
    const cursor = await cursorFor([{ field: 'score', direction: 'desc' }]);
    const { rows } = await list.run({
      sort: [{ field: 'score', direction: 'desc' }],
      cursor,
      filter: { field: 'score', op: 'isNotEmpty' },
    });
    expect(rows.length).toBeGreaterThan(0);
  });
});
