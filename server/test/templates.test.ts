import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, expectProblem, expectStatus, signUp, startTestApp, type TestApp } from './kit/index.js';

// Templates (issue 21): applying one creates roles, objects, fields, statuses, queues and saved
// views in one transaction; a second apply is a 409; a clash rolls everything back.

type Template = {
  key: string;
  name: string;
  applied: boolean;
  creates: { objects: string[]; views: string[] };
};

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let clash: Awaited<ReturnType<typeof signUp>>;
let member: Awaited<ReturnType<typeof addMember>>;

beforeAll(async () => {
  t = await startTestApp();
  [admin, clash] = await Promise.all([signUp(t, 'Template Agency'), signUp(t, 'Clashing Agency')]);
  member = await addMember(t, admin.client, 'user');
}, 300_000);
afterAll(() => t?.close());

describe('the template gallery', () => {
  it('lists Surrogacy agency, Recruiting and Product catalog with what each creates (admins only)', async () => {
    const list = expectStatus<{ data: Template[] }>(await admin.client.get('/api/v1/templates'), 200).data;
    expect(list.map((x) => x.key)).toEqual(['surrogacy_agency', 'recruiting', 'product_catalog']);
    expect(list[0]).toMatchObject({ name: 'Surrogacy agency', applied: false });
    expect(list[0]!.creates.objects).toEqual(['Intended parents', 'Cases']);
    expectProblem(await member.client.get('/api/v1/templates'), 403);
    expectProblem(await member.client.post('/api/v1/templates/recruiting/apply', {}), 403);
    expectProblem(await admin.client.post('/api/v1/templates/nothing_here/apply', {}), 404);
  });
});

describe('applying the surrogacy template', () => {
  it('creates the roles, objects, fields with owned statuses, the queue and shared views in one go', async () => {
    const applied = expectStatus(
      await admin.client.post('/api/v1/templates/surrogacy_agency/apply', {}),
      201,
    );
    expect(applied).toMatchObject({
      applied: true,
      created: { roles: ['intake', 'case_manager'], objects: ['intended_parent', 'case'] },
    });
    const roles = expectStatus<{ data: { key: string }[] }>(
      await admin.client.get('/api/v1/roles'),
      200,
    ).data;
    expect(roles.map((r) => r.key)).toEqual(expect.arrayContaining(['intake', 'case_manager']));
    const object = expectStatus(await admin.client.get('/api/v1/objects/case'), 200);
    const stage = object.fields.find((f: { key: string }) => f.key === 'stage');
    expect(stage.statuses.statuses.find((s: { value: string }) => s.value === 'matching')).toMatchObject({
      owner_role: 'case_manager',
    });
    expect(object.fields.find((f: { key: string }) => f.key === 'state').options).toHaveLength(52);
    expect(object.fields.find((f: { key: string }) => f.key === 'phone').type).toBe('phone');
    const queues = expectStatus<{ data: { role: string; assignment: string }[] }>(
      await admin.client.get('/api/v1/queues'),
      200,
    ).data;
    expect(queues).toContainEqual(
      expect.objectContaining({ role: 'case_manager', assignment: 'least_open' }),
    );
    const views = expectStatus<{ data: { name: string; visibility: string }[] }>(
      await member.client.get('/api/v1/views?object=case'),
      200,
    ).data;
    expect(views.map((v) => v.name)).toEqual(expect.arrayContaining(['Open cases by stage', 'In intake']));
    // A case gets a number, its phone is normalized, and it starts as a new inquiry.
    const created = expectStatus(
      await admin.client.post('/api/v1/records/case', {
        custom: { name: 'Rivera', phone: '+1 (415) 555-0134', state: 'CA' },
      }),
      201,
    );
    expect(created.number_label).toBe('CASE-00001');
    expect(created.custom.stage).toBe('new_inquiry');
    expect(JSON.stringify(created.custom.phone)).toContain('+14155550134');
    // The template shows as applied; applying again is a 409 and changes nothing.
    const list = expectStatus<{ data: Template[] }>(await admin.client.get('/api/v1/templates'), 200).data;
    expect(list.find((x) => x.key === 'surrogacy_agency')!.applied).toBe(true);
    expectProblem(await admin.client.post('/api/v1/templates/surrogacy_agency/apply', {}), 409, {
      code: 'template_applied',
    });
  });

  it('recruiting and product catalog apply beside it', async () => {
    expectStatus(await admin.client.post('/api/v1/templates/recruiting/apply', {}), 201);
    const candidate = expectStatus(await admin.client.get('/api/v1/objects/candidate'), 200);
    expect(candidate.fields.find((f: { key: string }) => f.key === 'position').relation.object).toBe(
      'position',
    );
    expectStatus(await admin.client.post('/api/v1/templates/product_catalog/apply', {}), 201);
    const product = expectStatus(await admin.client.get('/api/v1/objects/product'), 200);
    expect(product.fields.map((f: { key: string }) => f.key)).toEqual(
      expect.arrayContaining(['sku', 'category', 'list_price']),
    );
  });
});

describe('all or nothing', () => {
  it('a key the organization already uses refuses the whole template and leaves nothing behind', async () => {
    expectStatus(
      await clash.client.post('/api/v1/objects', {
        key: 'case',
        label_singular: 'Case',
        label_plural: 'Cases',
      }),
      201,
    );
    const res = await clash.client.post('/api/v1/templates/surrogacy_agency/apply', {});
    expectProblem(res, 409, { code: 'duplicate_key' });
    // Nothing the template would have made is there: no roles, no intended parents, not applied.
    const roles = expectStatus<{ data: { key: string }[] }>(
      await clash.client.get('/api/v1/roles'),
      200,
    ).data;
    expect(roles.map((r) => r.key)).not.toContain('case_manager');
    expectProblem(await clash.client.get('/api/v1/objects/intended_parent'), 404);
    const list = expectStatus<{ data: Template[] }>(await clash.client.get('/api/v1/templates'), 200).data;
    expect(list.find((x) => x.key === 'surrogacy_agency')!.applied).toBe(false);
    // Another tenant's applying it did not touch this one, and this one can still apply the others.
    expectStatus(await clash.client.post('/api/v1/templates/recruiting/apply', {}), 201);
  });
});
