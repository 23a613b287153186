import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, signUp, startTestApp, type TestApp } from './harness.js';

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let owner: Awaited<ReturnType<typeof addMember>>;
const q = (filter: unknown) => encodeURIComponent(JSON.stringify(filter));

beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Lists Co');
  owner = await addMember(t, admin.client, 'user');
  await admin.client.post('/api/v1/objects/contact/fields', { label: 'Score', type: 'number' });
  await admin.client.post('/api/v1/objects/contact/fields', {
    label: 'Interests',
    type: 'multi_select',
    options: ['golf', 'sailing', 'chess'].map((v) => ({ value: v, label: v })),
  });
  const people = [
    ['Ada', 'Lovelace', 'ada@math.example', '+44 20 7946 0001', ['vip', 'math'], 90, ['chess']],
    ['Alan', 'Turing', 'alan@bletchley.example', '+44 20 7946 0002', ['math'], 80, ['chess', 'sailing']],
    ['Grace', 'Hopper', 'grace@navy.example', '(212) 555-0199', ['vip', 'navy'], 70, ['sailing']],
    ['Katherine', 'Johnson', 'kj@nasa.example', '(757) 555-0123', [], 60, []],
    ['Linus', 'Torvalds', 'linus@kernel.example', '+358 40 1234567', ['oss'], null, ['golf']],
  ] as const;
  for (const [first, last, email, phone, tags, score, interests] of people) {
    const res = await admin.client.post('/api/v1/contacts', {
      first_name: first,
      last_name: last,
      emails: [{ value: email }],
      phones: [{ number: phone }],
      tags,
      owner_id: first.startsWith('A') ? owner.userId : admin.userId,
      custom: { ...(score !== null ? { score } : {}), interests },
    });
    if (res.status !== 201) throw new Error(res.text);
  }
});
afterAll(() => t?.close());

const names = (res: { body: { data: { first_name: string }[] } }) => res.body.data.map((c) => c.first_name);

describe('contact lists with the query language', () => {
  it('filters by owner + tag + created in range, newest first', async () => {
    const filter = {
      and: [
        { field: 'owner_id', op: 'eq', value: owner.userId },
        { field: 'tags', op: 'hasAny', value: ['MATH'] },
        { field: 'created_at', op: 'eq', value: { relative: 'last_7_days' } },
      ],
    };
    const res = await admin.client.get(`/api/v1/contacts?filter=${q(filter)}&sort=-created_at`);
    expect(res.status, res.text).toBe(200);
    expect(names(res)).toEqual(['Alan', 'Ada']);
  });

  it('filters and sorts on custom fields', async () => {
    const res = await admin.client.get(
      `/api/v1/contacts?filter=${q({ field: 'score', op: 'gte', value: 70 })}&sort=score:desc&fields=first_name,score`,
    );
    expect(res.body.data).toEqual([
      { id: expect.any(String), first_name: 'Ada', custom: { score: 90 } },
      { id: expect.any(String), first_name: 'Alan', custom: { score: 80 } },
      { id: expect.any(String), first_name: 'Grace', custom: { score: 70 } },
    ]);
    const sailing = await admin.client.post('/api/v1/contacts/query', {
      filter: { field: 'interests', op: 'hasAny', value: ['sailing'] },
      sort: [{ field: 'last_name', direction: 'asc' }],
    });
    expect(names(sailing)).toEqual(['Grace', 'Alan']);
  });

  it('finds people by a fragment of name, e-mail or phone digits, whatever the formatting', async () => {
    expect(names(await admin.client.get('/api/v1/contacts?q=hopp'))).toEqual(['Grace']);
    expect(names(await admin.client.get('/api/v1/contacts?q=bletchley'))).toEqual(['Alan']);
    expect(names(await admin.client.get(`/api/v1/contacts?q=${encodeURIComponent('555 0123')}`))).toEqual([
      'Katherine',
    ]);
  });

  it('pages with a keyset cursor: every contact once, in order', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { data: { first_name: string }[]; next_cursor: string | null } } =
        await admin.client.get(
          `/api/v1/contacts?sort=last_name:asc&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
      seen.push(...names(res as never));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(['Grace', 'Katherine', 'Ada', 'Linus', 'Alan']);
  });

  it('hides archived contacts unless the filter asks for them', async () => {
    const linus = (await admin.client.get('/api/v1/contacts?q=linus')).body.data[0];
    await admin.client.post(`/api/v1/contacts/${linus.id}/archive`);
    expect(names(await admin.client.get('/api/v1/contacts?q=linus'))).toEqual([]);
    const archived = await admin.client.get(
      `/api/v1/contacts?filter=${q({ field: 'archived_at', op: 'isNotEmpty' })}`,
    );
    expect(names(archived)).toEqual(['Linus']);
    await admin.client.post(`/api/v1/contacts/${linus.id}/restore`);
  });

  it('names the offending path for a bad query, and caps the page size', async () => {
    const cases: [string, string][] = [
      [`filter=${q({ field: 'nope', op: 'eq', value: 1 })}`, 'filter.field'],
      [`filter=${q({ and: [{ field: 'first_name', op: 'hasAny', value: ['x'] }] })}`, 'filter.and[0].op'],
      [`filter=${q({ field: 'score', op: 'gt', value: 'lots' })}`, 'filter.value'],
      ['sort=notes:asc', 'sort[0].field'],
      ['limit=500', 'limit'],
      ['cursor=garbage', 'cursor'],
    ];
    for (const [params, path] of cases) {
      const res = await admin.client.get(`/api/v1/contacts?${params}`);
      expect(res.status, params).toBe(400);
      expect(res.body.path, params).toBe(path);
    }
  });
});

describe('saved views', () => {
  it('saves a filter + sort + columns, private or shared, and refuses a query that would fail', async () => {
    const query = {
      filter: { field: 'tags', op: 'hasAny', value: ['vip'] },
      sort: [{ field: 'last_name', direction: 'asc' }],
    };
    const saved = await owner.client.post('/api/v1/views', {
      object: 'contact',
      name: 'VIPs',
      query,
      columns: ['first_name', 'email'],
    });
    expect(saved.status).toBe(201);
    const shared = await admin.client.post('/api/v1/views', {
      object: 'contact',
      name: 'Everyone',
      visibility: 'shared',
    });
    expect(shared.status).toBe(201);
    const mine = await owner.client.get('/api/v1/views?object=contact');
    expect(mine.body.data.map((v: { name: string }) => v.name)).toEqual(['Everyone', 'VIPs']);
    const theirs = await admin.client.get('/api/v1/views?object=contact');
    expect(theirs.body.data.map((v: { name: string }) => v.name)).toEqual(['Everyone']);
    // The stored query drives the list as it was saved.
    const listed = await owner.client.post('/api/v1/contacts/query', {
      ...saved.body.query,
      fields: saved.body.columns,
    });
    expect(listed.body.data.map((c: { first_name: string }) => c.first_name)).toEqual(['Grace', 'Ada']);
    const bad = await owner.client.post('/api/v1/views', {
      object: 'contact',
      name: 'Broken',
      query: { filter: { field: 'shoe_size', op: 'eq', value: 1 } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.path).toBe('body.query.filter.field');
    expect((await admin.client.patch(`/api/v1/views/${saved.body.id}`, { name: 'Mine now' })).status).toBe(
      404,
    );
  });
});

describe('export', () => {
  it('streams the selected contacts as CSV with formulas neutralized', async () => {
    await admin.client.post('/api/v1/contacts', {
      first_name: '=HYPERLINK("http://evil.example","click")',
      last_name: '+1-2',
    });
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/v1/contacts/export?format=csv&fields=first_name,last_name,score&sort=last_name:asc`,
      headers: { cookie: admin.client.cookieHeader },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/csv/);
    const lines = res.body
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\n');
    expect(lines[0]).toBe('First name,Last name,Score');
    expect(lines).toContain(`"'=HYPERLINK(""http://evil.example"",""click"")",'+1-2,`);
    expect(lines).toContain('Ada,Lovelace,90');
    expect(lines).toHaveLength(7);
  });

  it('exports JSON lines for the same query language', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/v1/contacts/export?format=jsonl&filter=${q({ field: 'tags', op: 'hasAll', value: ['vip', 'math'] })}&fields=first_name`,
      headers: { cookie: admin.client.cookieHeader },
    });
    const rows = res.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => r.first_name)).toEqual(['Ada']);
  });
});

describe('bulk actions', () => {
  it('adds a tag to a filter, one event per record changed; removes it; assigns an owner by ids', async () => {
    const filter = { field: 'tags', op: 'hasAny', value: ['math'] };
    const added = await admin.client.post('/api/v1/contacts/bulk', {
      filter,
      action: 'add_tags',
      tags: ['Reviewed'],
    });
    expect(added.body).toEqual({ matched: 2, changed: 2 });
    const again = await admin.client.post('/api/v1/contacts/bulk', {
      filter,
      action: 'add_tags',
      tags: ['reviewed'],
    });
    expect(again.body).toEqual({ matched: 2, changed: 0 });
    const tagged = await admin.client.get(
      `/api/v1/contacts?filter=${q({ field: 'tags', op: 'hasAny', value: ['reviewed'] })}`,
    );
    expect(tagged.body.data).toHaveLength(2);
    const ada = tagged.body.data.find((c: { first_name: string }) => c.first_name === 'Ada');
    const timeline = await admin.client.get(`/api/v1/contacts/${ada.id}/timeline`);
    expect(timeline.body.data[0].description).toBe('Ada Admin changed the tags of contact Ada Lovelace');
    const removed = await admin.client.post('/api/v1/contacts/bulk', {
      filter,
      action: 'remove_tags',
      tags: ['REVIEWED'],
    });
    expect(removed.body.changed).toBe(2);
    const assign = await admin.client.post('/api/v1/contacts/bulk', {
      ids: [ada.id],
      action: 'assign_owner',
      owner_id: admin.userId,
    });
    expect(assign.body).toEqual({ matched: 1, changed: 1 });
    expect((await admin.client.get(`/api/v1/contacts/${ada.id}`)).body.owner_id).toBe(admin.userId);
  });

  it('archives by ids, and refuses work for a viewer', async () => {
    const c = await admin.client.post('/api/v1/contacts', { first_name: 'Bulk archive me' });
    const viewer = await addMember(t, admin.client, 'viewer');
    expect(
      (await viewer.client.post('/api/v1/contacts/bulk', { ids: [c.body.id], action: 'archive' })).status,
    ).toBe(403);
    expect(
      (await admin.client.post('/api/v1/contacts/bulk', { ids: [c.body.id], action: 'archive' })).body
        .changed,
    ).toBe(1);
    expect((await admin.client.get(`/api/v1/contacts/${c.body.id}`)).body.archived_at).not.toBeNull();
  });

  it('archives and restores what a filter selects, one timeline entry per record', async () => {
    const ids: string[] = [];
    for (const name of ['Batch One', 'Batch Two', 'Batch Three']) {
      const res = await admin.client.post('/api/v1/contacts', { first_name: name, tags: ['batch'] });
      ids.push(res.body.id);
    }
    const filter = { field: 'tags', op: 'hasAny', value: ['batch'] };
    const archived = await admin.client.post('/api/v1/contacts/bulk', { filter, action: 'archive' });
    expect(archived.body).toEqual({ matched: 3, changed: 3 });
    const live = await admin.client.get(`/api/v1/contacts?filter=${q(filter)}`);
    expect(live.body.data).toEqual([]);
    const timeline = await admin.client.get(`/api/v1/contacts/${ids[1]}/timeline`);
    expect(timeline.body.data[0].description).toBe('Ada Admin archived contact Batch Two');
    const restored = await admin.client.post('/api/v1/contacts/bulk', { filter, action: 'restore' });
    expect(restored.body).toEqual({ matched: 3, changed: 3 });
    for (const id of ids) {
      expect((await admin.client.get(`/api/v1/contacts/${id}`)).body.archived_at).toBeNull();
    }
    const again = await admin.client.get(`/api/v1/contacts/${ids[1]}/timeline`);
    expect(again.body.data[0].description).toBe('Ada Admin restored contact Batch Two');
  });

  it('is all or nothing: a restore that one taken e-mail refuses restores no record', async () => {
    const mine = await admin.client.post('/api/v1/contacts', {
      first_name: 'Kept',
      emails: [{ value: 'kept@atomic.example' }],
    });
    const taken = await admin.client.post('/api/v1/contacts', {
      first_name: 'Taken',
      emails: [{ value: 'taken@atomic.example' }],
    });
    const ids = [mine.body.id, taken.body.id];
    expect((await admin.client.post('/api/v1/contacts/bulk', { ids, action: 'archive' })).body.changed).toBe(
      2,
    );
    // Archiving freed the e-mail: another contact takes it.
    const other = await admin.client.post('/api/v1/contacts', {
      first_name: 'Newcomer',
      emails: [{ value: 'taken@atomic.example' }],
    });
    expect(other.status, other.text).toBe(201);
    const refused = await admin.client.post('/api/v1/contacts/bulk', { ids, action: 'restore' });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('duplicate_email');
    for (const id of ids) {
      expect((await admin.client.get(`/api/v1/contacts/${id}`)).body.archived_at).not.toBeNull();
    }
    const timeline = await admin.client.get(`/api/v1/contacts/${mine.body.id}/timeline`);
    expect(timeline.body.data[0].type).toBe('contact.archived');
  });
});

describe('search', () => {
  it('tolerates a typo and matches prefixes, through the index', async () => {
    expect(names(await admin.client.get('/api/v1/contacts?q=hoper'))).toEqual(['Grace']);
    expect(names(await admin.client.get('/api/v1/contacts?q=lov'))).toEqual(['Ada']);
    expect(
      names(await admin.client.get(`/api/v1/contacts?q=${encodeURIComponent('+44 20 7946 0002')}`)),
    ).toEqual(['Alan']);
  });

  it("never returns another tenant's records, and combines with filters", async () => {
    const other = await signUp(t, 'Other Co');
    await other.client.post('/api/v1/contacts', { first_name: 'Grace', last_name: 'Hopperton' });
    expect(names(await other.client.get('/api/v1/contacts?q=hopper'))).toEqual(['Grace']);
    const mine = await admin.client.get(`/api/v1/contacts?q=hopper`);
    expect(mine.body.data.map((c: { last_name: string }) => c.last_name)).toEqual(['Hopper']);
    const filtered = await admin.client.get(
      `/api/v1/contacts?q=a&filter=${q({ field: 'tags', op: 'hasAny', value: ['navy'] })}`,
    );
    expect(names(filtered)).toEqual(['Grace']);
  });

  it('searches companies by name and domain', async () => {
    await admin.client.post('/api/v1/companies', {
      name: 'Bletchley Park Trust',
      website: 'https://bletchleypark.example',
    });
    const res = await admin.client.get('/api/v1/companies?q=bletchleyp');
    expect(res.body.data.map((c: { name: string }) => c.name)).toEqual(['Bletchley Park Trust']);
  });
});

describe('global search', () => {
  it('finds contacts, companies and opportunities at once, by title', async () => {
    await admin.client.post('/api/v1/companies', { name: 'Hopper Industries' });
    await admin.client.post('/api/v1/opportunities', { title: 'Hopper renewal' });
    const res = await admin.client.get('/api/v1/search?q=hopper');
    expect(res.status).toBe(200);
    const found = res.body.data.map((h: { object: string; title: string }) => `${h.object}:${h.title}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'contact:Grace Hopper',
        'company:Hopper Industries',
        'opportunity:Hopper renewal',
      ]),
    );
    expect(found.some((f: string) => f.includes('Hopperton'))).toBe(false);
  });
});
