import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, expectProblem, expectStatus, signUp, startTestApp, type TestApp } from './kit/index.js';

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let other: Awaited<ReturnType<typeof signUp>>;
let acme: string;
let otherCompany: string;

type Rec = { id: string; name: string; custom: Record<string, unknown>; archived_at: string | null };

beforeAll(async () => {
  t = await startTestApp();
  [admin, other] = await Promise.all([signUp(t, 'Estates Co'), signUp(t, 'Other Co')]);
  acme = expectStatus(await admin.client.post('/api/v1/companies', { name: 'Acme Realty' }), 201).id;
  otherCompany = expectStatus(await other.client.post('/api/v1/companies', { name: 'Not yours' }), 201).id;
  expectStatus(
    await admin.client.post('/api/v1/objects', {
      key: 'property',
      label_singular: 'Property',
      label_plural: 'Properties',
      icon: 'home',
      description: 'Houses and flats we manage',
    }),
    201,
  );
  const fields = [
    { label: 'City', type: 'text' },
    { label: 'Rooms', type: 'number' },
    {
      label: 'Kind',
      type: 'select',
      options: [
        { value: 'house', label: 'House' },
        { value: 'flat', label: 'Flat' },
      ],
    },
    { label: 'Owner company', key: 'company', type: 'relation', relation: { object: 'company' } },
    { label: 'Listed on', type: 'date' },
  ];
  for (const f of fields) expectStatus(await admin.client.post('/api/v1/objects/property/fields', f), 201);
}, 60_000);
afterAll(() => t?.close());

const create = (custom: Record<string, unknown>) => admin.client.post('/api/v1/records/property', { custom });

describe('defining custom objects', () => {
  it('an admin defines an object: the registry lists it with its display field, beside the standard ones', async () => {
    const list = expectStatus(await admin.client.get('/api/v1/objects'), 200);
    const property = list.data.find((o: { key: string }) => o.key === 'property');
    expect(property).toMatchObject({
      label_singular: 'Property',
      label_plural: 'Properties',
      custom_object: { icon: 'home', display_field: 'name', retired: false },
    });
    expect(property.fields.map((f: { key: string }) => f.key)).toEqual(
      expect.arrayContaining([
        'id',
        'owner_id',
        'tags',
        'created_at',
        'name',
        'city',
        'rooms',
        'kind',
        'company',
      ]),
    );
    expect(property.fields.find((f: { key: string }) => f.key === 'name')).toMatchObject({
      required: true,
      searchable: true,
      origin: 'custom',
    });
    // Another tenant does not see it.
    const theirs = expectStatus(await other.client.get('/api/v1/objects'), 200);
    expect(theirs.data.some((o: { key: string }) => o.key === 'property')).toBe(false);
    expectProblem(await other.client.get('/api/v1/objects/property'), 404);
    expectProblem(await other.client.get('/api/v1/records/property'), 404);
  });

  it('refuses reserved and duplicate keys with a code naming the key, and stores nothing', async () => {
    for (const key of ['contact', 'companies', 'record', 'objects', 'task', 'custom_field', 'member'])
      expectProblem(
        await admin.client.post('/api/v1/objects', { key, label_singular: 'X', label_plural: 'Xs' }),
        400,
        { code: 'reserved_key', path: 'body.key', label: key },
      );
    expectProblem(
      await admin.client.post('/api/v1/objects', {
        key: 'property',
        label_singular: 'P',
        label_plural: 'Ps',
      }),
      409,
      { code: 'duplicate_key', path: 'body.key' },
    );
    expectProblem(
      await admin.client.post('/api/v1/objects', { key: 'Bad Key', label_singular: 'P', label_plural: 'Ps' }),
      400,
    );
    expectProblem(
      await admin.client.post('/api/v1/objects', {
        key: 'nul_label',
        label_singular: 'P\u0000',
        label_plural: 'Ps',
      }),
      400,
    );
    const keys = expectStatus(await admin.client.get('/api/v1/objects'), 200).data.map(
      (o: { key: string }) => o.key,
    );
    expect(keys.filter((k: string) => k === 'property')).toHaveLength(1);
    expect(keys).not.toContain('nul_label');
    // Two admins defining the same key at once: one wins, the other is a 409.
    const racing = await Promise.all(
      [1, 2].map(() =>
        admin.client.post('/api/v1/objects', { key: 'raced', label_singular: 'Race', label_plural: 'Races' }),
      ),
    );
    expect(racing.map((r) => r.status).sort()).toEqual([201, 409]);
    // The same key in another tenant is that tenant's own.
    expectStatus(
      await other.client.post('/api/v1/objects', {
        key: 'property',
        label_singular: 'Lot',
        label_plural: 'Lots',
      }),
      201,
    );
  });

  it('relabelling keeps the records; a user who is not an admin cannot define objects', async () => {
    const house = expectStatus<Rec>(await create({ name: 'Relabel Villa' }), 201);
    const renamed = expectStatus(
      await admin.client.patch('/api/v1/objects/property', { label_plural: 'Estates' }),
      200,
    );
    expect(renamed.label_plural).toBe('Estates');
    expect(expectStatus(await admin.client.get(`/api/v1/records/property/${house.id}`), 200).name).toBe(
      'Relabel Villa',
    );
    expectStatus(await admin.client.patch('/api/v1/objects/property', { label_plural: 'Properties' }), 200);
    expectProblem(await admin.client.patch('/api/v1/objects/property', { display_field: 'rooms' }), 400, {
      path: 'body.display_field',
    });
    expectProblem(
      await admin.client.patch('/api/v1/objects/contact', { label_plural: 'People' }),
      409,
      'standard_object',
    );
    // The field that names the records cannot be retired while it does.
    expectProblem(
      await admin.client.post('/api/v1/objects/property/fields/name/retire'),
      409,
      'display_field',
    );
    const user = await addMember(t, admin.client, 'user');
    expectProblem(
      await user.client.post('/api/v1/objects', { key: 'sneaky', label_singular: 'S', label_plural: 'Ss' }),
      403,
    );
    expectProblem(await user.client.patch('/api/v1/objects/property', { label_plural: 'Mine' }), 403);
    // A user works the records, though.
    expectStatus(await user.client.post('/api/v1/records/property', { custom: { name: 'By a user' } }), 201);
  });
});

describe('records of a custom object', () => {
  it('creates, reads and updates records validated against the registry, with events on the timeline', async () => {
    const villa = expectStatus<Rec>(
      await create({
        name: 'Villa Rosa',
        city: 'Lisbon',
        rooms: 5,
        kind: 'house',
        company: acme,
        listed_on: '2026-03-01',
      }),
      201,
    );
    expect(villa).toMatchObject({ name: 'Villa Rosa', custom: { city: 'Lisbon', rooms: 5, company: acme } });
    const edited = expectStatus<Rec>(
      await admin.client.patch(`/api/v1/records/property/${villa.id}`, { custom: { rooms: 6, city: null } }),
      200,
    );
    expect(edited.custom).toEqual({
      name: 'Villa Rosa',
      rooms: 6,
      kind: 'house',
      company: acme,
      listed_on: '2026-03-01',
    });
    const timeline = expectStatus(
      await admin.client.get(`/api/v1/records/property/${villa.id}/timeline`),
      200,
    );
    expect(timeline.data.map((e: { type: string }) => e.type)).toEqual(['record.updated', 'record.created']);
    expect(timeline.data[1].description).toBe('Ada Admin created property Villa Rosa');
    // In the object's words: its label, its fields' labels in the object's order.
    expect(timeline.data[0].description).toBe('Ada Admin changed the city and rooms of property Villa Rosa');
    expect(timeline.data[0].data.changes).toEqual({
      rooms: { before: 5, after: 6 },
      city: { before: 'Lisbon', after: null },
    });
    // The related company's timeline shows it too.
    const companyTimeline = expectStatus(await admin.client.get(`/api/v1/companies/${acme}/timeline`), 200);
    expect(companyTimeline.data.some((e: { subject: { id: string } }) => e.subject.id === villa.id)).toBe(
      true,
    );
  });

  it('refuses bad values with 4xx naming each field, and stores nothing', async () => {
    const before = expectStatus(await admin.client.get('/api/v1/records/property?limit=200'), 200).data
      .length;
    const wrong = expectProblem(
      await create({ name: 'Bad', rooms: 'many', kind: 'castle', listed_on: '2026-13-45' }),
      400,
    );
    expect((wrong as { errors: { path: string }[] }).errors.map((e) => e.path).sort()).toEqual([
      'body.custom.kind',
      'body.custom.listed_on',
      'body.custom.rooms',
    ]);
    const missing = expectProblem(await create({ city: 'Nowhere' }), 400);
    expect((missing as { errors: { path: string; code: string }[] }).errors).toEqual([
      expect.objectContaining({ path: 'body.custom.name', code: 'required' }),
    ]);
    const foreign = expectProblem(
      await create({ name: 'Stolen', company: otherCompany }),
      422,
      'reference_not_found',
    );
    expect((foreign as { errors: { path: string }[] }).errors[0]!.path).toBe('body.custom.company');
    expectProblem(await create({ name: 'Unknown', colour: 'red' }), 400);
    expectProblem(await create({ name: 'x'.repeat(501) }), 400);
    expectProblem(await create({ name: 'Nul\u0000byte' }), 400);
    expectProblem(
      await admin.client.post('/api/v1/records/property', {
        custom: { name: 'Owner' },
        owner_id: other.userId,
      }),
      422,
      { path: 'body.owner_id' },
    );
    expectProblem(await admin.client.post('/api/v1/records/property', { name: 'flat' }), 400);
    expectProblem(await admin.client.post('/api/v1/records/contact', { custom: { name: 'x' } }), 404);
    const after = expectStatus(await admin.client.get('/api/v1/records/property?limit=200'), 200).data.length;
    expect(after).toBe(before);
  });

  it('lists with the query language: filter by a custom field, sort, keyset pages, q search, export', async () => {
    const cities = ['Porto', 'Porto', 'Porto', 'Braga', 'Faro'];
    for (const [i, city] of cities.entries())
      expectStatus(
        await create({ name: `Listing ${i}`, city, rooms: i + 1, kind: i % 2 ? 'flat' : 'house' }),
        201,
      );
    const filter = encodeURIComponent(JSON.stringify({ field: 'city', op: 'eq', value: 'Porto' }));
    const sort = 'rooms:desc';
    const first = expectStatus(
      await admin.client.get(`/api/v1/records/property?filter=${filter}&sort=${sort}&limit=2`),
      200,
    );
    expect(first.data.map((r: { custom: { rooms: number } }) => r.custom.rooms)).toEqual([3, 2]);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = expectStatus(
      await admin.client.get(
        `/api/v1/records/property?filter=${filter}&sort=${sort}&limit=2&cursor=${encodeURIComponent(first.next_cursor)}`,
      ),
      200,
    );
    expect(second.data.map((r: { custom: { rooms: number } }) => r.custom.rooms)).toEqual([1]);
    expect(second.next_cursor).toBeNull();
    const range = expectStatus(
      await admin.client.post('/api/v1/records/property/query', {
        filter: {
          and: [
            { field: 'rooms', op: 'gte', value: 4 },
            { field: 'kind', op: 'eq', value: 'flat' },
          ],
        },
        fields: ['name', 'rooms'],
      }),
      200,
    );
    expect(range.data.map((r: { custom: { name: string } }) => r.custom.name)).toEqual(['Listing 3']);
    // q through the trigram index, by the display field and other text fields.
    const byCity = expectStatus(await admin.client.get('/api/v1/records/property?q=brag'), 200);
    expect(byCity.data.map((r: { custom: { name: string } }) => r.custom.name)).toEqual(['Listing 3']);
    const byName = expectStatus(await admin.client.get('/api/v1/records/property?q=villa%20rosa'), 200);
    expect(byName.data).toHaveLength(1);
    expect(expectStatus(await other.client.get('/api/v1/records/property?q=villa'), 200).data).toEqual([]);
    // A bad filter is a 400 naming its place.
    expectProblem(
      await admin.client.post('/api/v1/records/property/query', {
        filter: { field: 'rooms', op: 'contains', value: 'x' },
      }),
      400,
      'invalid_query',
    );
    const csv = await admin.client.get(
      `/api/v1/records/property/export?filter=${filter}&fields=name,city,rooms`,
    );
    expect(csv.status).toBe(200);
    expect(String(csv.headers['content-type'])).toMatch(/^text\/csv/);
    const lines = csv.text
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\n');
    expect(lines[0]).toBe('Name,City,Rooms');
    expect(lines.slice(1).sort()).toEqual(['Listing 0,Porto,1', 'Listing 1,Porto,2', 'Listing 2,Porto,3']);
    // The global search finds records of custom objects.
    const hits = expectStatus(await admin.client.get('/api/v1/search?q=villa'), 200);
    expect(JSON.stringify(hits)).toContain('Villa Rosa');
  });

  it('bulk archives by filter, archived records leave the list, and restore brings them back', async () => {
    const filter = { field: 'city', op: 'eq', value: 'Porto' };
    const bulk = expectStatus(
      await admin.client.post('/api/v1/records/property/bulk', { filter, action: 'archive' }),
      200,
    );
    expect(bulk).toEqual({ matched: 3, changed: 3 });
    const q = encodeURIComponent(JSON.stringify(filter));
    expect(expectStatus(await admin.client.get(`/api/v1/records/property?filter=${q}`), 200).data).toEqual(
      [],
    );
    const tagged = expectStatus(
      await admin.client.post('/api/v1/records/property/bulk', {
        filter: { field: 'city', op: 'eq', value: 'Faro' },
        action: 'add_tags',
        tags: ['Sea'],
      }),
      200,
    );
    expect(tagged).toEqual({ matched: 1, changed: 1 });
    const [faro] = expectStatus(
      await admin.client.get(
        `/api/v1/records/property?filter=${encodeURIComponent(JSON.stringify({ field: 'tags', op: 'hasAny', value: ['sea'] }))}`,
      ),
      200,
    ).data;
    expect(faro.custom.city).toBe('Faro');
    const timeline = expectStatus(
      await admin.client.get(`/api/v1/records/property/${faro.id}/timeline`),
      200,
    );
    expect(timeline.data[0].type).toBe('record.updated');
    const restored = expectStatus(
      await admin.client.post('/api/v1/records/property/bulk', { filter, action: 'restore' }),
      200,
    );
    expect(restored.changed).toBe(3);
    // Another tenant's bulk on its own `property` selects nothing of ours.
    const ours = { field: 'name', op: 'eq', value: 'Listing 0' };
    expect(
      expectStatus(
        await other.client.post('/api/v1/records/property/bulk', { filter: ours, action: 'archive' }),
        200,
      ),
    ).toEqual({ matched: 0, changed: 0 });
  });

  it('archive, restore and delete one record; another tenant gets 404 for its id', async () => {
    const r = expectStatus<Rec>(await create({ name: 'Short stay' }), 201);
    expectProblem(await other.client.get(`/api/v1/records/property/${r.id}`), 404);
    expectProblem(
      await other.client.patch(`/api/v1/records/property/${r.id}`, { custom: { name: 'Mine' } }),
      404,
    );
    expectProblem(await other.client.post(`/api/v1/records/property/${r.id}/archive`), 404);
    expect(
      expectStatus<Rec>(await admin.client.post(`/api/v1/records/property/${r.id}/archive`), 200).archived_at,
    ).not.toBeNull();
    expect(
      expectStatus<Rec>(await admin.client.post(`/api/v1/records/property/${r.id}/restore`), 200).archived_at,
    ).toBeNull();
    expectStatus(await admin.client.delete(`/api/v1/records/property/${r.id}`), 204);
    expectProblem(await admin.client.get(`/api/v1/records/property/${r.id}`), 404);
  });
});

describe('the registry drives everything at once', () => {
  it('a field added to an object is filterable on the next list, and saved views work on custom objects', async () => {
    expectStatus(await admin.client.get('/api/v1/records/property?limit=1'), 200); // caches the registry
    expectStatus(
      await admin.client.post('/api/v1/objects/property/fields', { label: 'Floor', type: 'number' }),
      201,
    );
    expectStatus(await create({ name: 'Penthouse', floor: 12 }), 201);
    const high = { field: 'floor', op: 'gte', value: 10 };
    const page = expectStatus(
      await admin.client.get(`/api/v1/records/property?filter=${encodeURIComponent(JSON.stringify(high))}`),
      200,
    );
    expect(page.data.map((r: { custom: { name: string } }) => r.custom.name)).toEqual(['Penthouse']);
    const view = expectStatus(
      await admin.client.post('/api/v1/views', {
        object: 'property',
        name: 'High floors',
        query: { filter: high },
        columns: ['name', 'floor'],
      }),
      201,
    );
    expect(view.object).toBe('property');
    expectProblem(
      await admin.client.post('/api/v1/views', {
        object: 'property',
        name: 'Bad',
        query: { filter: { field: 'nope', op: 'eq', value: 1 } },
      }),
      400,
    );
    expect(
      expectStatus(await admin.client.get('/api/v1/views?object=property'), 200).data.map(
        (v: { name: string }) => v.name,
      ),
    ).toContain('High floors');
  });
});

describe('search follows the fields', () => {
  it('a retired field is no longer searched, a field brought back is, and a purged one never again', async () => {
    expectStatus(
      await admin.client.post('/api/v1/objects', {
        key: 'storage_unit',
        label_singular: 'Unit',
        label_plural: 'Units',
      }),
      201,
    );
    expectStatus(
      await admin.client.post('/api/v1/objects/storage_unit/fields', { label: 'Zone', type: 'text' }),
      201,
    );
    expectStatus(
      await admin.client.post('/api/v1/records/storage_unit', { custom: { name: 'U1', zone: 'Northside' } }),
      201,
    );
    const found = async () =>
      expectStatus(await admin.client.get('/api/v1/records/storage_unit?q=northside'), 200).data.length;
    expect(await found()).toBe(1);
    expectStatus(await admin.client.post('/api/v1/objects/storage_unit/fields/zone/retire'), 200);
    expect(await found()).toBe(0);
    expectStatus(await admin.client.post('/api/v1/objects/storage_unit/fields/zone/unretire'), 200);
    expect(await found()).toBe(1);
    expectStatus(await admin.client.post('/api/v1/objects/storage_unit/fields/zone/retire'), 200);
    expectStatus(await admin.client.delete('/api/v1/objects/storage_unit/fields/zone'), 204);
    expect(await found()).toBe(0);
    const [unit] = expectStatus(await admin.client.get('/api/v1/records/storage_unit'), 200).data;
    expect(unit.custom).toEqual({ name: 'U1' });
  });
});

describe('relations between custom objects', () => {
  it('a field of one custom object points to records of another, in the same tenant only', async () => {
    expectStatus(
      await admin.client.post('/api/v1/objects', {
        key: 'viewing',
        label_singular: 'Viewing',
        label_plural: 'Viewings',
        display_field: { key: 'title', label: 'Title' },
      }),
      201,
    );
    expectStatus(
      await admin.client.post('/api/v1/objects/viewing/fields', {
        label: 'Property',
        type: 'relation',
        relation: { object: 'property' },
      }),
      201,
    );
    expectProblem(
      await admin.client.post('/api/v1/objects/viewing/fields', {
        label: 'Ghost',
        type: 'relation',
        relation: { object: 'nothing_here' },
      }),
      400,
      { path: 'body.relation' },
    );
    const house = expectStatus<Rec>(await create({ name: 'Viewed house' }), 201);
    const theirs = expectStatus<Rec>(
      await other.client.post('/api/v1/records/property', { custom: { name: 'Their lot' } }),
      201,
    );
    const v = expectStatus<Rec>(
      await admin.client.post('/api/v1/records/viewing', {
        custom: { title: 'Saturday', property: house.id },
      }),
      201,
    );
    expect(v.name).toBe('Saturday');
    const refused = expectProblem(
      await admin.client.post('/api/v1/records/viewing', {
        custom: { title: 'Sneaky', property: theirs.id },
      }),
      422,
      'reference_not_found',
    );
    expect((refused as { errors: { path: string }[] }).errors[0]!.path).toBe('body.custom.property');
    const houseTimeline = expectStatus(
      await admin.client.get(`/api/v1/records/property/${house.id}/timeline`),
      200,
    );
    expect(houseTimeline.data.some((e: { subject: { id: string } }) => e.subject.id === v.id)).toBe(true);
  });
});

describe('retiring and purging an object', () => {
  it('a retired object is hidden and read-only with its records kept; purge asks, then leaves an audit event', async () => {
    expectStatus(
      await admin.client.post('/api/v1/objects', {
        key: 'parking',
        label_singular: 'Parking spot',
        label_plural: 'Parking spots',
      }),
      201,
    );
    const spot = expectStatus<Rec>(
      await admin.client.post('/api/v1/records/parking', { custom: { name: 'P1' } }),
      201,
    );
    const created = expectStatus(await admin.client.get(`/api/v1/records/parking/${spot.id}/timeline`), 200);
    expect(created.data[0].description).toBe('Ada Admin created parking spot P1');
    expectProblem(await admin.client.delete('/api/v1/objects/parking?confirm=parking'), 409, 'not_retired');
    expectStatus(await admin.client.post('/api/v1/objects/parking/retire'), 200);
    const keys = expectStatus(await admin.client.get('/api/v1/objects'), 200).data.map(
      (o: { key: string }) => o.key,
    );
    expect(keys).not.toContain('parking');
    const all = expectStatus(await admin.client.get('/api/v1/objects?include_retired=true'), 200);
    expect(all.data.map((o: { key: string }) => o.key)).toContain('parking');
    expect(expectStatus(await admin.client.get('/api/v1/objects/parking'), 200).custom_object.retired).toBe(
      true,
    );
    expectProblem(
      await admin.client.post('/api/v1/records/parking', { custom: { name: 'P2' } }),
      409,
      'object_retired',
    );
    expectProblem(
      await admin.client.patch(`/api/v1/records/parking/${spot.id}`, { custom: { name: 'P9' } }),
      409,
      'object_retired',
    );
    expectProblem(
      await admin.client.post('/api/v1/records/parking/bulk', { ids: [spot.id], action: 'archive' }),
      409,
      'object_retired',
    );
    expect(expectStatus(await admin.client.get(`/api/v1/records/parking/${spot.id}`), 200).name).toBe('P1');
    expectProblem(await admin.client.delete('/api/v1/objects/parking'), 400, {
      code: 'confirmation_required',
      path: 'query.confirm',
    });
    expectProblem(
      await admin.client.delete('/api/v1/objects/parking?confirm=parkin'),
      400,
      'confirmation_required',
    );
    expectStatus(await admin.client.delete('/api/v1/objects/parking?confirm=parking'), 204);
    expectProblem(await admin.client.get('/api/v1/objects/parking'), 404);
    expectProblem(await admin.client.get(`/api/v1/records/parking/${spot.id}`), 404);
    const rows = await t.services.database.db.execute(
      sql`select type, data from events where org_id = ${admin.orgId} and type = 'custom_object.purged'`,
    );
    const events = (Array.isArray(rows) ? rows : (rows as { rows: unknown[] }).rows) as {
      data: Record<string, unknown>;
    }[];
    expect(events.map((e) => e.data)).toEqual([
      { key: 'parking', label: 'Parking spot', records: 1, fields: 1 },
    ]);
  });
});
