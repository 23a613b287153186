import { describe, expect, it } from 'vitest';
import { withTenant } from '../src/db/tenant.js';
import { expectProblem, expectStatus, postOk, useOrganization } from './kit/index.js';

// Issue 19, "Search ranks": with q and no explicit sort, an exact e-mail or phone match comes
// first, then names starting with q, then other substring matches, then fuzzy (trigram) matches.

type Hit = { id: string; first_name?: string; name?: string; email?: string };
const ids: Record<string, string> = {};

const org = useOrganization('Ranked Search Co', {
  prepare: async ({ admin }) => {
    const contact = async (key: string, first: string, last: string, email?: string, phone?: string) => {
      const body = await postOk<{ id: string }>(admin.client, '/api/v1/contacts', {
        first_name: first,
        last_name: last,
        ...(email ? { emails: [{ value: email }] } : {}),
        ...(phone ? { phones: [{ number: phone }] } : {}),
      });
      ids[key] = body.id;
    };
    // Created oldest first: without ranking (newest first) each exact or prefix match comes last.
    await contact('early', 'Early', 'Bird', 'early.jane.doe@acme.example');
    await contact('jane', 'Jane', 'Doe', 'jane.doe@acme.example');
    await contact('anna', 'Anna', 'Karenina', 'ak@novel.example');
    await contact('grace', 'Grace', 'Hopper', 'grace@navy.example', '+1 212 555 0199');
    for (let i = 0; i < 200; i++) {
      await contact(`acme${i}`, `Jane${i}`, `Doe${i}`, `jane.doe${i}@acme.example`);
    }
    await contact('mary', 'Mary', 'Jane', 'mary.jane.doe@acme.example');
    await contact('joanna', 'Joanna', 'Lumley', 'jl@screen.example');
    await contact('anne', 'Anne', 'Marie', 'am@screen.example');
    await contact('other', 'Otto', 'Phone', 'otto@phone.example', '+1 555 019 9123');
    await postOk(admin.client, '/api/v1/companies', { name: 'Annapolis Marine' });
    await postOk(admin.client, '/api/v1/objects', {
      key: 'vessel',
      label_singular: 'Vessel',
      label_plural: 'Vessels',
    });
    for (const name of ['Harbor Queen', 'Old Harbor', 'Harbour Star']) {
      ids[name] = (
        await postOk<{ id: string }>(admin.client, '/api/v1/records/vessel', { custom: { name } })
      ).id;
    }
  },
});

const list = async (url: string): Promise<Hit[]> =>
  expectStatus(await org.admin.client.get(url), 200, url).data;
const firstNames = (hits: Hit[]) => hits.map((h) => h.first_name);

/** Every hit of `url` page by page (`limit` each): the ids in order. */
async function pageThrough(url: string, limit: number): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page++) {
    const at: string = `${url}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const body: { data: Hit[]; next_cursor: string | null } = expectStatus(
      await org.admin.client.get(at),
      200,
      at,
    );
    seen.push(...body.data.map((h) => h.id));
    cursor = body.next_cursor;
    if (!cursor) return seen;
  }
  throw new Error('more than 100 pages');
}

describe('search ranks results by relevance when no sort is given', () => {
  it('an exact e-mail comes first on the first page, though 200 other contacts share its domain', async () => {
    const hits = await list(`/api/v1/contacts?q=${encodeURIComponent('Jane.Doe@acme.example')}&limit=20`);
    expect(hits[0]?.id).toBe(ids.jane);
    // The e-mail that contains it (a substring match) before the merely similar ones.
    expect(hits[1]?.id).toBe(ids.mary);
    expect(hits.length).toBeGreaterThan(2);
  });

  it('names starting with q come before names that only contain it, and those before fuzzy matches', async () => {
    expect(firstNames(await list('/api/v1/contacts?q=anna'))).toEqual(['Anna', 'Joanna', 'Anne']);
  });

  it('a phone typed with any formatting matches its number exactly before numbers that contain the digits', async () => {
    const hits = await list(`/api/v1/contacts?q=${encodeURIComponent('555-0199')}`);
    expect(firstNames(hits)).toEqual(['Grace', 'Otto']);
    const full = await list(`/api/v1/contacts?q=${encodeURIComponent('(212) 555-0199')}`);
    expect(firstNames(full)).toEqual(['Grace']);
  });

  it('the query body (POST .../query) ranks the same way', async () => {
    const res = await org.admin.client.post('/api/v1/contacts/query', { q: 'anna' });
    expect(firstNames(expectStatus(res, 200).data)).toEqual(['Anna', 'Joanna', 'Anne']);
  });

  it('an explicit sort keeps its meaning', async () => {
    expect(firstNames(await list('/api/v1/contacts?q=anna&sort=-created_at'))).toEqual([
      'Anne',
      'Joanna',
      'Anna',
    ]);
    expect(firstNames(await list('/api/v1/contacts?q=anna&sort=first_name'))).toEqual([
      'Anna',
      'Anne',
      'Joanna',
    ]);
  });

  it('pages through ranked hits without duplicates or gaps, the cursor carrying the rank', async () => {
    const q = `/api/v1/contacts?q=${encodeURIComponent('jane.doe@acme.example')}`;
    const ranked = await pageThrough(q, 7);
    expect(ranked[0]).toBe(ids.jane);
    expect(ranked[1]).toBe(ids.mary);
    expect(new Set(ranked).size).toBe(ranked.length);
    const byDate = await pageThrough(`${q}&sort=-created_at`, 50);
    expect(ranked.length).toBe(byDate.length);
    expect(new Set(ranked)).toEqual(new Set(byDate));
    // Same ranked order as one big page.
    expect(ranked.slice(0, 200)).toEqual((await list(`${q}&limit=200`)).map((h) => h.id));
  });

  it('a ranked cursor is refused under another sort', async () => {
    const first = expectStatus(await org.admin.client.get('/api/v1/contacts?q=anna&limit=1'), 200);
    expect(first.next_cursor).toEqual(expect.any(String));
    expectProblem(
      await org.admin.client.get(`/api/v1/contacts?q=anna&sort=-created_at&cursor=${first.next_cursor}`),
      400,
      { code: 'invalid_query', path: 'cursor' },
    );
  });

  it("a custom object's records are ranked too", async () => {
    const hits = await list('/api/v1/records/vessel?q=harbor');
    expect(hits.map((h) => (h as { custom?: { name?: string } }).custom?.name)).toEqual([
      'Harbor Queen',
      'Old Harbor',
      'Harbour Star',
    ]);
  });

  it('the global search (Ctrl/Cmd+K) puts the exact e-mail first and ranks across objects', async () => {
    const exact = expectStatus(
      await org.admin.client.get(`/api/v1/search?q=${encodeURIComponent('jane.doe@acme.example')}`),
      200,
    );
    expect(exact.data[0]).toMatchObject({ object: 'contact', id: ids.jane });
    const anna = expectStatus(await org.admin.client.get('/api/v1/search?q=anna&limit=5'), 200);
    expect(anna.data.map((h: { title: string }) => h.title)).toEqual([
      'Anna Karenina',
      'Annapolis Marine',
      'Joanna Lumley',
      'Anne Marie',
    ]);
  });

  it('the bounded candidate set holds the exact e-mail first, however many other rows contain it', async () => {
    // 0021_search_rank: the exact e-mail is probed through its index before the substring step,
    // so a bound smaller than the substring matches (here 1 of 3: Early, Jane, Mary) still keeps it.
    const { orgId, userId } = org.admin;
    const ctx = { orgId, actor: { type: 'user' as const, id: userId } };
    const { rows } = await withTenant(org.t.services.database, ctx, ({ conn }) =>
      conn.query<{ id: string }>("select cairn_search_ids('contacts', $1, 1) as id", [
        'JANE.DOE@acme.example ',
      ]),
    );
    expect(rows.map((r) => r.id)).toEqual([ids.jane]);
  });
});
