import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  newDeal as createDeal,
  expectProblem,
  defaultPipeline as firstPipeline,
  signUp,
  startTestApp,
  type TestApp,
} from './kit/index.js';

/** The opportunity record routes and the pipeline settings a user reaches, each by its result. */
let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let seller: Awaited<ReturnType<typeof addMember>>;
let defaultPipeline: { id: string; stages: { id: string; name: string }[] };

beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Opportunity Co');
  seller = await addMember(t, admin.client, 'user');
  defaultPipeline = await firstPipeline(admin.client);
});
afterAll(() => t?.close());

const newDeal = (title: string, extra?: Record<string, unknown>) =>
  createDeal(admin.client, title, extra) as Promise<{ id: string; title: string }>;
const titlesOf = (res: { body: { data: { title: string }[] } }) => res.body.data.map((o) => o.title);

describe('opportunities', () => {
  it('an update changes the given fields, keeps the others and clears what is set to null', async () => {
    const deal = await newDeal('Renewal', { expected_close_date: '2031-03-01' });
    const res = await admin.client.patch(`/api/v1/opportunities/${deal.id}`, {
      title: 'Renewal 2031',
      amount: 2500.5,
      owner_id: seller.userId,
      expected_close_date: null,
    });
    expect(res.status, res.text).toBe(200);
    const read = await admin.client.get(`/api/v1/opportunities/${deal.id}`);
    expect(read.body).toMatchObject({
      title: 'Renewal 2031',
      amount: 2500.5,
      currency: 'EUR',
      owner_id: seller.userId,
      expected_close_date: null,
    });
  });

  it('the list filters by stage and sorts by amount, and holds exactly the matching deals', async () => {
    const pipeline = (
      await admin.client.post('/api/v1/pipelines', {
        name: 'Listing',
        stages: [{ name: 'Open' }, { name: 'Later' }],
      })
    ).body as { id: string; stages: { id: string }[] };
    const [open, later] = pipeline.stages.map((s) => s.id);
    await newDeal('Small', { amount: 10, pipeline_id: pipeline.id, stage_id: open });
    await newDeal('Large', { amount: 900, pipeline_id: pipeline.id, stage_id: open });
    await newDeal('Elsewhere', { amount: 500, pipeline_id: pipeline.id, stage_id: later });
    const filter = encodeURIComponent(JSON.stringify({ field: 'stage_id', op: 'eq', value: open }));
    const res = await admin.client.get(
      `/api/v1/opportunities?filter=${filter}&sort=amount:desc&fields=title,amount`,
    );
    expect(res.status, res.text).toBe(200);
    // Lists give a numeric column as PostgreSQL prints it ("900.00"); the record itself gives a number.
    expect(res.body.data.map((o: { title: string; amount: string }) => [o.title, Number(o.amount)])).toEqual([
      ['Large', 900],
      ['Small', 10],
    ]);
  });

  it('the CSV export has a row for each deal the query selects', async () => {
    await newDeal('Exported deal', { amount: 4321 });
    const res = await admin.client.get(
      `/api/v1/opportunities/export?format=csv&fields=title,amount&q=${encodeURIComponent('Exported deal')}`,
    );
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const lines = res.text.trim().split(/\r?\n/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('Exported deal');
    expect(lines[1]).toContain('4321');
  });

  it('a bulk action assigns an owner and tags the chosen deals only', async () => {
    const [a, b, c] = [await newDeal('Bulk A'), await newDeal('Bulk B'), await newDeal('Bulk C')];
    const assigned = await admin.client.post('/api/v1/opportunities/bulk', {
      ids: [a.id, b.id],
      action: 'assign_owner',
      owner_id: seller.userId,
    });
    expect(assigned.body).toEqual({ matched: 2, changed: 2 });
    const tagged = await admin.client.post('/api/v1/opportunities/bulk', {
      ids: [a.id, b.id],
      action: 'add_tags',
      tags: ['q3-push'],
    });
    expect(tagged.body).toEqual({ matched: 2, changed: 2 });
    for (const deal of [a, b]) {
      const read = (await admin.client.get(`/api/v1/opportunities/${deal.id}`)).body;
      expect(read).toMatchObject({ owner_id: seller.userId, tags: ['q3-push'] });
    }
    expect((await admin.client.get(`/api/v1/opportunities/${c.id}`)).body).toMatchObject({
      owner_id: admin.userId,
      tags: [],
    });
  });

  it('an archived deal leaves the list and the board, and restoring brings it back', async () => {
    const deal = await newDeal('Archivable');
    const inList = async () =>
      titlesOf(await admin.client.get(`/api/v1/opportunities?q=Archivable&fields=title`)).includes(
        'Archivable',
      );
    expect(await inList()).toBe(true);
    const archived = await admin.client.post(`/api/v1/opportunities/${deal.id}/archive`);
    expect(archived.status, archived.text).toBe(200);
    expect(archived.body.archived_at).not.toBeNull();
    expect(await inList()).toBe(false);
    const board = await admin.client.get(`/api/v1/pipelines/${defaultPipeline.id}/board`);
    expect(JSON.stringify(board.body)).not.toContain(deal.id);
    const restored = await admin.client.post(`/api/v1/opportunities/${deal.id}/restore`);
    expect(restored.status, restored.text).toBe(200);
    expect(restored.body.archived_at).toBeNull();
    expect(await inList()).toBe(true);
  });
});

describe('pipelines', () => {
  it('a pipeline is read by id with its stages in order', async () => {
    const made = await admin.client.post('/api/v1/pipelines', {
      name: 'Readable',
      stages: [{ name: 'First' }, { name: 'Second', probability: 50 }],
    });
    const res = await admin.client.get(`/api/v1/pipelines/${made.body.id}`);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ id: made.body.id, name: 'Readable', is_default: false });
    expect(res.body.stages.map((s: { name: string }) => s.name)).toEqual(['First', 'Second']);
  });

  it('renaming and making a pipeline the default: new deals land in it', async () => {
    const made = await admin.client.post('/api/v1/pipelines', {
      name: 'Enterprise',
      stages: [{ name: 'Intro' }],
    });
    const res = await admin.client.patch(`/api/v1/pipelines/${made.body.id}`, {
      name: 'Enterprise sales',
      is_default: true,
    });
    expect(res.status, res.text).toBe(200);
    const all = (await admin.client.get('/api/v1/pipelines')).body.data as {
      id: string;
      name: string;
      is_default: boolean;
    }[];
    expect(all.filter((p) => p.is_default).map((p) => p.name)).toEqual(['Enterprise sales']);
    const deal = await newDeal('Lands in the default');
    expect((await admin.client.get(`/api/v1/opportunities/${deal.id}`)).body.pipeline_id).toBe(made.body.id);
    // Put the original default back for the other tests.
    await admin.client.patch(`/api/v1/pipelines/${defaultPipeline.id}`, { is_default: true });
  });

  it('an empty pipeline is deleted; one holding deals is refused and stays', async () => {
    const empty = await admin.client.post('/api/v1/pipelines', {
      name: 'Short-lived',
      stages: [{ name: 'Only' }],
    });
    const deleted = await admin.client.delete(`/api/v1/pipelines/${empty.body.id}`);
    expect(deleted.status, deleted.text).toBe(204);
    expect((await admin.client.get(`/api/v1/pipelines/${empty.body.id}`)).status).toBe(404);
    const names = (await admin.client.get('/api/v1/pipelines')).body.data.map(
      (p: { name: string }) => p.name,
    );
    expect(names).not.toContain('Short-lived');
    const held = await admin.client.post('/api/v1/pipelines', { name: 'Busy', stages: [{ name: 'Only' }] });
    await newDeal('Keeps it', { pipeline_id: held.body.id });
    const refused = await admin.client.delete(`/api/v1/pipelines/${held.body.id}`);
    expectProblem(refused, 409, 'pipeline_not_empty');
    expect((await admin.client.get(`/api/v1/pipelines/${held.body.id}`)).status).toBe(200);
  });

  it('deleting an empty stage with a move_to outside its pipeline is refused, and the stage stays', async () => {
    const p = await admin.client.post('/api/v1/pipelines', {
      name: 'Strict',
      stages: [{ name: 'A' }, { name: 'B' }],
    });
    const [first] = p.body.stages.map((s: { id: string }) => s.id);
    const elsewhere = defaultPipeline.stages[0]!.id;
    const res = await admin.client.delete(
      `/api/v1/pipelines/${p.body.id}/stages/${first}?move_to=${elsewhere}`,
    );
    expect(res.status, res.text).toBe(422);
    expect(res.body).toMatchObject({ code: 'reference_not_found', path: 'querystring.move_to' });
    const after = await admin.client.get(`/api/v1/pipelines/${p.body.id}`);
    expect(after.body.stages.map((s: { name: string }) => s.name)).toEqual(['A', 'B']);
  });
});

describe('opportunities by query and for good', () => {
  it('the query in a body selects like the URL list: filter, sort and fields', async () => {
    await newDeal('Body query low', { amount: 5 });
    await newDeal('Body query high', { amount: 50 });
    const res = await admin.client.post('/api/v1/opportunities/query', {
      q: 'Body query',
      sort: [{ field: 'amount', direction: 'asc' }],
      fields: ['title'],
    });
    expect(res.status, res.text).toBe(200);
    expect(titlesOf(res)).toEqual(['Body query low', 'Body query high']);
  });

  it('an admin deletes a deal for good: it can no longer be read or listed', async () => {
    const deal = await newDeal('Purged deal');
    const res = await admin.client.delete(`/api/v1/opportunities/${deal.id}`);
    expect(res.status, res.text).toBe(204);
    expect((await admin.client.get(`/api/v1/opportunities/${deal.id}`)).status).toBe(404);
    expect(titlesOf(await admin.client.get('/api/v1/opportunities?q=Purged&fields=title'))).toEqual([]);
  });
});
