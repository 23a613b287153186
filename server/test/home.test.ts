import { beforeAll, describe, expect, it } from 'vitest';
import { addMember, defaultPipeline, newDeal, signUp, uniqueEmail, useOrganization } from './kit/index.js';

// The home page (issue 20): one call for every widget of the landing page after sign-in.
const org = useOrganization('Home Co');
type Member = Awaited<ReturnType<typeof addMember>>;
let user: Member;
let viewer: Member;

beforeAll(async () => {
  user = await addMember(org.t, org.admin.client, 'user');
  viewer = await addMember(org.t, org.admin.client, 'viewer');
});

const DAY = 86_400_000;
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe('a new organization', () => {
  it('lists the getting-started steps, none done, and no sample data', async () => {
    const fresh = await signUp(org.t, 'Brand New');
    const home = await fresh.client.get('/api/v1/home?tz=Europe/Paris');
    expect(home.status).toBe(200);
    expect(home.body.tz).toBe('Europe/Paris');
    expect(home.body.getting_started).toEqual({
      steps: [
        { key: 'import_contacts', done: false },
        { key: 'create_pipeline', done: false },
        { key: 'invite_teammate', done: false },
      ],
      sample_data: { loaded: false, records: 0 },
    });
    expect(home.body.tasks).toEqual({ overdue: { count: 0, tasks: [] }, today: { count: 0, tasks: [] } });
    expect(home.body.deals).toEqual({ count: 0, pipelines: [] });
    expect(home.body.recent).toEqual([]);

    // Each step is done by doing it.
    await fresh.client.post('/api/v1/contacts', { first_name: 'Grace' });
    await fresh.client.post('/api/v1/pipelines', { name: 'Partners' });
    await fresh.client.post('/api/v1/invitations', { email: uniqueEmail('mate'), role: 'user' });
    const after = await fresh.client.get('/api/v1/home');
    expect(after.body.getting_started.steps.every((s: { done: boolean }) => s.done)).toBe(true);
  });

  it('answers 400 naming the field for a time zone that is not one', async () => {
    const res = await org.admin.client.get('/api/v1/home?tz=Mars/Olympus');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'invalid_time_zone', path: 'querystring.tz' });
  });
});

describe('my tasks', () => {
  it('counts my open tasks overdue and due today, and lists the first, not those of others or done', async () => {
    const now = Date.now();
    const mine = async (title: string, due_date: string) =>
      (await user.client.post('/api/v1/tasks', { title, due_date })).body;
    await mine('Call Grace back', utcDay(now - 2 * DAY));
    await mine('Send the proposal', utcDay(now - DAY));
    await mine('Prepare the demo', utcDay(now));
    await mine('Next week', utcDay(now + 8 * DAY));
    const done = await mine('Already done', utcDay(now - DAY));
    await user.client.post(`/api/v1/tasks/${done.id}/complete`);
    await org.admin.client.post('/api/v1/tasks', { title: "The admin's", due_date: utcDay(now - DAY) });

    const home = (await user.client.get('/api/v1/home?tz=UTC')).body;
    expect(home.tasks.overdue.count).toBe(2);
    expect(home.tasks.overdue.tasks.map((t: { title: string }) => t.title)).toEqual([
      'Call Grace back',
      'Send the proposal',
    ]);
    expect(home.tasks.today).toMatchObject({ count: 1, tasks: [{ title: 'Prepare the demo' }] });
  });
});

describe('my open deals', () => {
  it('sums my open deals by stage per currency, weighted by the stage probability, never across currencies', async () => {
    const pipeline = await defaultPipeline(user.client);
    const [first, second] = pipeline.stages.filter((s) => s.kind === 'open');
    const deal = (title: string, extra: Record<string, unknown>) =>
      newDeal(user.client, title, { pipeline_id: pipeline.id, ...extra });
    await deal('Acme renewal', { stage_id: first!.id, amount: 1000, currency: 'USD' });
    await deal('Acme upsell', { stage_id: first!.id, amount: 500.5, currency: 'USD' });
    await deal('Globex', { stage_id: first!.id, amount: 2000, currency: 'EUR' });
    await deal('Initech', { stage_id: second!.id, amount: 300, currency: 'USD' });
    const lost = await deal('Lost one', { stage_id: second!.id, amount: 9999, currency: 'USD' });
    await user.client.post(`/api/v1/opportunities/${lost.id}/close`, { status: 'lost', reason: 'Price' });
    await newDeal(org.admin.client, "The admin's", { amount: 7777, currency: 'USD' });

    const home = (await user.client.get('/api/v1/home')).body;
    expect(home.deals.count).toBe(4);
    const [sales] = home.deals.pipelines;
    expect(sales).toMatchObject({
      id: pipeline.id,
      name: (pipeline as unknown as { name: string }).name,
      count: 4,
    });
    const probability = (id: string) =>
      (pipeline.stages as unknown as { id: string; probability: number }[]).find((s) => s.id === id)!
        .probability;
    const weighted = (amount: number, p: number) => (Math.round(amount * p) / 100).toFixed(2);
    expect(sales.stages).toEqual([
      {
        id: first!.id,
        name: first!.name,
        probability: probability(first!.id),
        count: 3,
        totals: [
          { currency: 'EUR', amount: '2000.00', weighted: weighted(2000, probability(first!.id)) },
          { currency: 'USD', amount: '1500.50', weighted: weighted(1500.5, probability(first!.id)) },
        ],
      },
      {
        id: second!.id,
        name: second!.name,
        probability: probability(second!.id),
        count: 1,
        totals: [{ currency: 'USD', amount: '300.00', weighted: weighted(300, probability(second!.id)) }],
      },
    ]);
    expect(sales.totals.map((t: { currency: string; amount: string }) => [t.currency, t.amount])).toEqual([
      ['EUR', '2000.00'],
      ['USD', '1800.50'],
    ]);
  });
});

describe('recently viewed', () => {
  it('lists the records I opened, the latest first, by name; archived ones leave the list', async () => {
    const made = await org.admin.client.post('/api/v1/contacts', {
      first_name: 'Linus',
      last_name: 'Torvalds',
    });
    const company = await org.admin.client.post('/api/v1/companies', { name: 'Initrode' });
    for (const [object, id] of [
      ['contact', made.body.id],
      ['company', company.body.id],
      ['contact', made.body.id],
    ])
      expect((await viewer.client.post('/api/v1/me/recent-views', { object, id })).status).toBe(204);
    let home = (await viewer.client.get('/api/v1/home')).body;
    expect(home.recent.map((r: { object: string; title: string }) => [r.object, r.title])).toEqual([
      ['contact', 'Linus Torvalds'],
      ['company', 'Initrode'],
    ]);
    // Another member's views are theirs.
    expect((await user.client.get('/api/v1/home')).body.recent).toEqual([]);
    await org.admin.client.post(`/api/v1/contacts/${made.body.id}/archive`);
    home = (await viewer.client.get('/api/v1/home')).body;
    expect(home.recent.map((r: { title: string }) => r.title)).toEqual(['Initrode']);
  });

  it("answers 404 for another organization's record and 400 naming the field for an unknown object", async () => {
    const other = await signUp(org.t, 'Elsewhere');
    const theirs = await other.client.post('/api/v1/contacts', { first_name: 'Secret' });
    const res = await org.admin.client.post('/api/v1/me/recent-views', {
      object: 'contact',
      id: theirs.body.id,
    });
    expect(res.status).toBe(404);
    const bad = await org.admin.client.post('/api/v1/me/recent-views', {
      object: 'task',
      id: theirs.body.id,
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('body.object');
  });
});

describe('recent activity', () => {
  it("shows the organization's latest events as sentences, newest first", async () => {
    const c = await user.client.post('/api/v1/contacts', { first_name: 'Ada', last_name: 'Lovelace' });
    await user.client.post('/api/v1/notes', {
      object: 'contact',
      id: c.body.id,
      body: '<p>Met at the fair</p>',
    });
    const home = (await viewer.client.get('/api/v1/home')).body;
    const words = home.activity.map((e: { description: string }) => e.description);
    expect(words[0]).toMatch(/^A user .*note/);
    expect(words).toContain('A user created contact Ada Lovelace');
    expect(words.indexOf('A user created contact Ada Lovelace')).toBeLessThan(3);
    for (const e of home.activity) {
      expect(e.description).not.toContain('undefined');
      expect(e.description).not.toContain(e.type);
    }
  });
});

describe('sample data', () => {
  it('loads once into the organization, does not count as getting started, and goes in one call', async () => {
    const fresh = await signUp(org.t, 'Sampler');
    const mine = await fresh.client.post('/api/v1/contacts', { first_name: 'Kept', last_name: 'Contact' });
    expect((await fresh.client.post('/api/v1/sample-data')).status).toBe(201);
    const home = (await fresh.client.get('/api/v1/home?tz=UTC')).body;
    expect(home.getting_started.sample_data.loaded).toBe(true);
    expect(home.getting_started.sample_data.records).toBeGreaterThan(90);
    expect(home.getting_started.steps.find((s: { key: string }) => s.key === 'create_pipeline').done).toBe(
      false,
    );
    expect(home.deals.count).toBeGreaterThan(0);
    expect(home.tasks.overdue.count + home.tasks.today.count).toBeGreaterThanOrEqual(0);
    const contacts = (await fresh.client.get('/api/v1/contacts/count')).body;
    expect(contacts.count).toBe(41);

    const again = await fresh.client.post('/api/v1/sample-data');
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('sample_data_loaded');

    const removed = await fresh.client.delete('/api/v1/sample-data');
    expect(removed.status).toBe(200);
    expect(removed.body.records).toBe(home.getting_started.sample_data.records);
    const left = (await fresh.client.get('/api/v1/contacts')).body.data;
    expect(left.map((c: { id: string }) => c.id)).toEqual([mine.body.id]);
    expect((await fresh.client.get('/api/v1/opportunities')).body.data).toEqual([]);
    expect((await fresh.client.get('/api/v1/pipelines')).body.data).toHaveLength(1);
    const after = (await fresh.client.get('/api/v1/home')).body;
    expect(after.getting_started.sample_data).toEqual({ loaded: false, records: 0 });
    expect(after.deals.count).toBe(0);
  });

  it('is for admins only', async () => {
    for (const member of [user, viewer]) {
      expect((await member.client.post('/api/v1/sample-data')).status).toBe(403);
      expect((await member.client.delete('/api/v1/sample-data')).status).toBe(403);
    }
  });
});
