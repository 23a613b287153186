import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  newDeal as createDeal,
  defaultPipeline,
  expectProblem,
  signUp,
  startTestApp,
  type TestApp,
  uniqueEmail,
} from './kit/index.js';

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let pipeline: { id: string; stages: { id: string; name: string; kind: string }[] };
const stage = (name: string) => pipeline.stages.find((s) => s.name === name)!.id;

beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Deals Co');
  pipeline = await defaultPipeline(admin.client);
});
afterAll(() => t?.close());

const newDeal = (title: string, extra?: Record<string, unknown>) => createDeal(admin.client, title, extra);

describe('pipelines', () => {
  it('a new tenant has a default pipeline with ordered stages', () => {
    expect(pipeline.stages.map((s) => s.name)).toEqual([
      'Lead in',
      'Qualified',
      'Proposal',
      'Negotiation',
      'Won',
      'Lost',
    ]);
  });

  it('admins add, rename, reorder and delete stages; a non-empty stage needs a target', async () => {
    const p = await admin.client.post('/api/v1/pipelines', {
      name: 'Partnerships',
      stages: [
        { name: 'Intro', probability: 10 },
        { name: 'Pilot', probability: 40 },
        { name: 'Signed', probability: 100, kind: 'won' },
      ],
    });
    expect(p.status).toBe(201);
    const [intro, pilot, signed] = p.body.stages.map((s: { id: string }) => s.id);
    const added = await admin.client.post(`/api/v1/pipelines/${p.body.id}/stages`, {
      name: 'Review',
      probability: 60,
      position: 2,
    });
    expect(added.body.stages.map((s: { name: string }) => s.name)).toEqual([
      'Intro',
      'Pilot',
      'Review',
      'Signed',
    ]);
    const review = added.body.stages[2].id;
    const renamed = await admin.client.patch(`/api/v1/pipelines/${p.body.id}/stages/${pilot}`, {
      name: 'Trial',
    });
    expect(renamed.body.stages[1].name).toBe('Trial');
    const reordered = await admin.client.put(`/api/v1/pipelines/${p.body.id}/stages/order`, {
      stage_ids: [pilot, intro, review, signed],
    });
    expect(reordered.body.stages.map((s: { name: string }) => s.name)).toEqual([
      'Trial',
      'Intro',
      'Review',
      'Signed',
    ]);
    const deal = await newDeal('Pilot deal', { pipeline_id: p.body.id, stage_id: review });
    const refused = await admin.client.delete(`/api/v1/pipelines/${p.body.id}/stages/${review}`);
    expectProblem(refused, 409, 'stage_not_empty');
    const deleted = await admin.client.delete(
      `/api/v1/pipelines/${p.body.id}/stages/${review}?move_to=${intro}`,
    );
    expect(deleted.status).toBe(200);
    expect((await admin.client.get(`/api/v1/opportunities/${deal.id}`)).body.stage.name).toBe('Intro');
    const timeline = await admin.client.get(`/api/v1/opportunities/${deal.id}/timeline`);
    expect(timeline.body.data[0].description).toBe(
      'Ada Admin moved opportunity Pilot deal from Review to Intro',
    );
    const history = (await admin.client.get(`/api/v1/opportunities/${deal.id}/history`)).body.data;
    // The deleted stage keeps its name in the history.
    expect(history.map((h: { to_stage: { name: string } }) => h.to_stage.name)).toEqual(['Review', 'Intro']);
    expect(history[1].from_stage).toEqual({ id: review, name: 'Review' });
    const user = await addMember(t, admin.client, 'user');
    expect((await user.client.post(`/api/v1/pipelines/${p.body.id}/stages`, { name: 'Nope' })).status).toBe(
      403,
    );
  });
});

describe('opportunities and the board', () => {
  it('creates, moves across the board and closes; every move is in the history and on the timelines', async () => {
    const company = await admin.client.post('/api/v1/companies', { name: 'Wayne Enterprises' });
    const contact = await admin.client.post('/api/v1/contacts', {
      first_name: 'Bruce',
      last_name: 'Wayne',
      companies: [{ id: company.body.id }],
    });
    const deal = await newDeal('Batmobile fleet', {
      contact_id: contact.body.id,
      company_id: company.body.id,
      amount: 250000,
    });
    expect(deal).toMatchObject({
      stage: { name: 'Lead in' },
      status: 'open',
      days_in_stage: 0,
      contact: { name: 'Bruce Wayne' },
    });
    const moved = await admin.client.post(`/api/v1/opportunities/${deal.id}/move`, {
      stage_id: stage('Proposal'),
    });
    expect(moved.body.stage.name).toBe('Proposal');
    const won = await admin.client.post(`/api/v1/opportunities/${deal.id}/close`, {
      status: 'won',
      reason: 'Best price',
    });
    expect(won.body).toMatchObject({ status: 'won', stage: { name: 'Won' }, close_reason: 'Best price' });
    const refused = await admin.client.post(`/api/v1/opportunities/${deal.id}/move`, {
      stage_id: stage('Qualified'),
    });
    expectProblem(refused, 409, 'closed');

    const history = await admin.client.get(`/api/v1/opportunities/${deal.id}/history`);
    expect(history.body.data.map((h: { to_stage: { name: string } }) => h.to_stage.name)).toEqual([
      'Lead in',
      'Proposal',
      'Won',
    ]);
    for (const subject of [
      `contacts/${contact.body.id}`,
      `companies/${company.body.id}`,
      `opportunities/${deal.id}`,
    ]) {
      const timeline = await admin.client.get(`/api/v1/${subject}/timeline`);
      const words = timeline.body.data.map((e: { description: string }) => e.description);
      expect(words, subject).toContain(
        'Ada Admin moved opportunity Batmobile fleet from Lead in to Proposal',
      );
      expect(words, subject).toContain('Ada Admin closed opportunity Batmobile fleet as won (Best price)');
    }
    const reopened = await admin.client.post(`/api/v1/opportunities/${deal.id}/reopen`, {});
    expect(reopened.body).toMatchObject({ status: 'open', stage: { name: 'Proposal' } });
  });

  it('refuses a stage of another pipeline', async () => {
    const other = await admin.client.post('/api/v1/pipelines', { name: 'Other' });
    const deal = await newDeal('Wrong stage');
    const res = await admin.client.post(`/api/v1/opportunities/${deal.id}/move`, {
      stage_id: other.body.stages[1].id,
    });
    expectProblem(res, 422, { path: 'body.stage_id' });
    const create = await admin.client.post('/api/v1/opportunities', {
      title: 'X',
      pipeline_id: pipeline.id,
      stage_id: other.body.stages[0].id,
    });
    expect(create.status).toBe(422);
  });

  it('orders cards by rank: a move is one update, and concurrent drops at one place both land', async () => {
    const p = (await admin.client.post('/api/v1/pipelines', { name: 'Ranked' })).body;
    const first = p.stages[0].id;
    const a = await newDeal('A', { pipeline_id: p.id });
    await newDeal('B', { pipeline_id: p.id });
    const c = await newDeal('C', { pipeline_id: p.id });
    // New cards go on top: C, B, A. Put A after C.
    await admin.client.post(`/api/v1/opportunities/${a.id}/move`, { stage_id: first, after_id: c.id });
    let column = (await admin.client.get(`/api/v1/pipelines/${p.id}/board`)).body.columns[0];
    expect(column.cards.map((x: { title: string }) => x.title)).toEqual(['C', 'A', 'B']);
    const d = await newDeal('D', { pipeline_id: p.id, stage_id: p.stages[1].id });
    const e = await newDeal('E', { pipeline_id: p.id, stage_id: p.stages[1].id });
    const [r1, r2] = await Promise.all([
      admin.client.post(`/api/v1/opportunities/${d.id}/move`, { stage_id: first, after_id: c.id }),
      admin.client.post(`/api/v1/opportunities/${e.id}/move`, { stage_id: first, after_id: c.id }),
    ]);
    expect([r1.status, r2.status]).toEqual([200, 200]);
    expect(r1.body.rank).not.toBe(r2.body.rank);
    column = (await admin.client.get(`/api/v1/pipelines/${p.id}/board`)).body.columns[0];
    expect(column.cards.map((x: { title: string }) => x.title).sort()).toEqual(['A', 'B', 'C', 'D', 'E']);
    expect(column.cards[0].title).toBe('C');
  });

  it('concurrent moves of one card: the last write wins cleanly and both moves are in the history', async () => {
    const deal = await newDeal('Contested');
    const [m1, m2] = await Promise.all([
      admin.client.post(`/api/v1/opportunities/${deal.id}/move`, { stage_id: stage('Qualified') }),
      admin.client.post(`/api/v1/opportunities/${deal.id}/move`, { stage_id: stage('Negotiation') }),
    ]);
    expect([m1.status, m2.status]).toEqual([200, 200]);
    const now = (await admin.client.get(`/api/v1/opportunities/${deal.id}`)).body.stage.name;
    const history = (await admin.client.get(`/api/v1/opportunities/${deal.id}/history`)).body.data;
    expect(history).toHaveLength(3);
    expect(history.at(-1).to_stage.name).toBe(now);
  });

  it('loads the board in one request: counts, sums, first cards per column, closed hidden unless asked', async () => {
    const p = (await admin.client.post('/api/v1/pipelines', { name: 'Board' })).body;
    for (let i = 0; i < 5; i++)
      await newDeal(`Deal ${i}`, {
        pipeline_id: p.id,
        amount: 100 * (i + 1),
        currency: i < 4 ? 'EUR' : 'USD',
      });
    const closing = await newDeal('Lost one', { pipeline_id: p.id, amount: 7 });
    await admin.client.post(`/api/v1/opportunities/${closing.id}/close`, { status: 'lost' });
    const res = await admin.client.get(`/api/v1/pipelines/${p.id}/board?per_column=2`);
    expect(res.status).toBe(200);
    const [lead] = res.body.columns;
    expect(lead).toMatchObject({ count: 5, sums: { EUR: 1000, USD: 500 } });
    expect(lead.cards).toHaveLength(2);
    const more = await admin.client.get(
      `/api/v1/pipelines/${p.id}/board/${lead.stage.id}?per_column=2&cursor=${lead.next_cursor}`,
    );
    const rest = await admin.client.get(
      `/api/v1/pipelines/${p.id}/board/${lead.stage.id}?per_column=5&cursor=${more.body.next_cursor}`,
    );
    const titles = [...lead.cards, ...more.body.cards, ...rest.body.cards].map(
      (x: { title: string }) => x.title,
    );
    expect(new Set(titles).size).toBe(5);
    expect(res.body.columns.find((c: { stage: { kind: string } }) => c.stage.kind === 'lost').count).toBe(0);
    const all = await admin.client.get(`/api/v1/pipelines/${p.id}/board?include_closed=true`);
    expect(all.body.columns.find((c: { stage: { kind: string } }) => c.stage.kind === 'lost').count).toBe(1);
    const filtered = await admin.client.get(
      `/api/v1/pipelines/${p.id}/board?filter=${encodeURIComponent(JSON.stringify({ field: 'amount', op: 'gte', value: 300 }))}`,
    );
    expect(filtered.body.columns[0].count).toBe(3);
  });

  it("totals the board's open deals in the organization's currency with the dated rates, never adding a currency without one", async () => {
    const org = await admin.client.patch('/api/v1/organization/settings', { default_currency: 'USD' });
    expect(org.status).toBe(200);
    const p = (await admin.client.post('/api/v1/pipelines', { name: 'Converted' })).body;
    // Stage 0 is 10 % likely, stage 2 is 50 %.
    await newDeal('Dollars', { pipeline_id: p.id, amount: 1000, currency: 'USD' });
    await newDeal('Euros', { pipeline_id: p.id, amount: 200, currency: 'EUR', stage_id: p.stages[2].id });
    await newDeal('Pounds', { pipeline_id: p.id, amount: 300, currency: 'GBP' });
    const won = await newDeal('Won big', { pipeline_id: p.id, amount: 5000, currency: 'USD' });
    await admin.client.post(`/api/v1/opportunities/${won.id}/close`, { status: 'won' });
    // An older EUR rate and today's: today's holds; GBP has none yet.
    for (const [valid_on, rate] of [
      ['2020-01-01', '1.5'],
      [new Date(Date.now() - 86_400_000).toISOString().slice(0, 10), '1.1'],
    ])
      expect(
        (await admin.client.put('/api/v1/exchange-rates', { currency: 'EUR', valid_on, rate })).status,
      ).toBe(200);
    const board = (await admin.client.get(`/api/v1/pipelines/${p.id}/board?include_closed=true`)).body;
    expect(board.total).toMatchObject({
      currency: 'USD',
      value: 1220, // 1000 + 200 x 1.1; the won deal and the GBP are not in it
      weighted: 210, // 100 + 110 x 50 %
      rates: [{ currency: 'EUR', rate: '1.1' }],
      unconverted: [{ currency: 'GBP', value: 300, weighted: 30 }],
    });
    expect(board.total.as_of).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    // Once GBP has a rate it counts too.
    await admin.client.put('/api/v1/exchange-rates', {
      currency: 'GBP',
      valid_on: '2020-01-01',
      rate: '1.25',
    });
    const again = (await admin.client.get(`/api/v1/pipelines/${p.id}/board`)).body;
    expect(again.total).toMatchObject({ value: 1595, weighted: 247.5, unconverted: [] });
  });

  it('reports count, value and weighted value per stage', async () => {
    const p = (await admin.client.post('/api/v1/pipelines', { name: 'Report' })).body;
    await newDeal('R1', { pipeline_id: p.id, amount: 1000 });
    await newDeal('R2', { pipeline_id: p.id, amount: 3000, stage_id: p.stages[2].id });
    const res = await admin.client.get(`/api/v1/pipelines/${p.id}/report`);
    expect(res.body.stages[0]).toMatchObject({ count: 1, total: { EUR: 1000 }, weighted: { EUR: 100 } });
    expect(res.body.stages[2]).toMatchObject({ count: 1, total: { EUR: 3000 }, weighted: { EUR: 1500 } });
    const none = await admin.client.get(
      `/api/v1/pipelines/${p.id}/report?owner_id=00000000-0000-4000-8000-000000000000`,
    );
    expect(none.body.stages.every((s: { count: number }) => s.count === 0)).toBe(true);
  });
});

describe('lead conversion', () => {
  it('converts a lead into an opportunity and a new company in one call, keeping the history', async () => {
    const lead = await admin.client.post('/api/v1/contacts', {
      first_name: 'Selina',
      last_name: 'Kyle',
      emails: [{ value: uniqueEmail('selina') }],
      lead_status: 'qualified',
    });
    const res = await admin.client.post(`/api/v1/contacts/${lead.body.id}/convert`, {
      opportunity: { amount: 5000, currency: 'USD' },
      company: { name: 'Kyle Security' },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.contact).toMatchObject({
      lead_status: 'converted',
      companies: [{ name: 'Kyle Security', primary: true }],
    });
    expect(res.body.opportunity).toMatchObject({
      title: 'Selina Kyle deal',
      amount: 5000,
      contact: { name: 'Selina Kyle' },
      company: { name: 'Kyle Security' },
    });
    const again = await admin.client.post(`/api/v1/contacts/${lead.body.id}/convert`, {});
    expectProblem(again, 409, 'already_converted');
    const timeline = await admin.client.get(`/api/v1/contacts/${lead.body.id}/timeline`);
    expect(timeline.body.data[0].description).toBe(
      'Ada Admin converted contact Selina Kyle into opportunity Selina Kyle deal',
    );
    const notLead = await admin.client.post('/api/v1/contacts', { first_name: 'Plain' });
    expect((await admin.client.post(`/api/v1/contacts/${notLead.body.id}/convert`, {})).body.code).toBe(
      'not_a_lead',
    );
  });
});
