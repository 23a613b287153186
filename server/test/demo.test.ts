import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDemoOrganization } from '../src/modules/demo/demo.service.js';
import { startTestApp, type TestApp } from './harness.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.close());

it('creates a demo organization a user can sign in to and find living data in', async () => {
  const demo = await createDemoOrganization(t.services, {
    seed: 7,
    size: { companies: 5, contacts: 25, opportunities: 12, tasks: 6, notes: 4 },
  });
  const client = t.client();
  expect(
    (await client.post('/api/auth/sign-in/email', { email: demo.email, password: demo.password })).status,
  ).toBe(200);
  const me = await client.get('/api/v1/me');
  expect(me.body.organization.name).toBe('Demo Company (generated)');
  const contacts = await client.get('/api/v1/contacts?limit=200');
  expect(contacts.body.data).toHaveLength(25);
  const pipelines = (await client.get('/api/v1/pipelines')).body.data;
  expect(pipelines.map((p: { name: string }) => p.name)).toEqual(['Sales', 'Renewals']);
  const boards = await Promise.all(
    pipelines.map((p: { id: string }) => client.get(`/api/v1/pipelines/${p.id}/board?include_closed=true`)),
  );
  const cards = boards
    .flatMap((b) => b.body.columns)
    .reduce((n: number, c: { count: number }) => n + c.count, 0);
  expect(cards).toBe(12);
  expect((await client.get('/api/v1/tasks?status=all&limit=200')).body.data).toHaveLength(6);
  // Deterministic: the same seed gives the same people.
  const again = await createDemoOrganization(t.services, {
    seed: 7,
    size: { companies: 5, contacts: 25, opportunities: 12, tasks: 6, notes: 4 },
  });
  const other = t.client();
  await other.post('/api/auth/sign-in/email', { email: again.email, password: again.password });
  const names = (res: { body: { data: { last_name: string }[] } }) =>
    res.body.data.map((c) => c.last_name).sort();
  expect(names(await other.get('/api/v1/contacts?limit=200'))).toEqual(names(contacts));
});
