import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, startTestApp, type TestApp } from './harness.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.close());

const firstNames = async (client: Awaited<ReturnType<typeof signUp>>['client']) =>
  (await client.get('/api/v1/contacts?fields=first_name')).body.data.map(
    (c: { first_name: string }) => c.first_name,
  );

describe('a user with several organizations', () => {
  it('creates a second organization as its admin, works in it, and switches back to the first', async () => {
    const ada = await signUp(t, 'First Org');
    await ada.client.post('/api/v1/contacts', { first_name: 'Firstling' });
    const made = await ada.client.post('/api/v1/organizations', { name: 'Second Org' });
    expect(made.status, made.text).toBe(201);
    expect(made.body).toMatchObject({ name: 'Second Org', role: 'admin' });
    const me = await ada.client.get('/api/v1/me');
    expect(me.body.organization).toEqual({ id: made.body.id, name: 'Second Org' });
    expect(me.body.role).toBe('admin');
    expect(me.body.organizations.map((o: { name: string }) => o.name).sort()).toEqual([
      'First Org',
      'Second Org',
    ]);
    // The new organization is a tenant of its own: nothing of the first shows, and what is made stays.
    expect(await firstNames(ada.client)).toEqual([]);
    await ada.client.post('/api/v1/contacts', { first_name: 'Secondling' });
    expect(await firstNames(ada.client)).toEqual(['Secondling']);
    const back = await ada.client.put('/api/v1/me/active-organization', { organization_id: ada.orgId });
    expect(back.status, back.text).toBe(204);
    expect((await ada.client.get('/api/v1/me')).body.organization.name).toBe('First Org');
    expect(await firstNames(ada.client)).toEqual(['Firstling']);
  });
});
