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
