import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Client,
  readShared,
  signUp,
  startTestApp,
  type TestApp,
  uploadCsv,
  waitForImport,
} from './kit/index.js';

/** A Cairn export imports back: its Companies column is mapped and the links come back. */
const customers = parse(readShared('crm/datablist-samples/customers-100.csv'), { columns: true }) as Record<
  string,
  string
>[];
const companyNames = [...new Set(customers.map((c) => c.Company!))];

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
}, 120_000);
afterAll(() => t?.close());

async function run(
  client: Client,
  object: string,
  name: string,
  content: string | Buffer,
  patch: object = {},
) {
  const up = await uploadCsv(t, client, object, name, content);
  expect(up.status, up.text).toBe(201);
  if (Object.keys(patch).length) await client.patch(`/api/v1/imports/${up.body.id}`, patch);
  await client.post(`/api/v1/imports/${up.body.id}/start`);
  const done = await waitForImport(t, client, up.body.id);
  expect(done.status, done.error).toBe('completed');
  return { up: up.body, done };
}

describe('round trips', () => {
  it('a contact export imports into another organization with every column mapped and its company links', async () => {
    const [from, to] = [await signUp(t, 'Round trip from'), await signUp(t, 'Round trip to')];
    const companies = stringify([['Name'], ...companyNames.map((n) => [n])]);
    for (const org of [from, to]) await run(org.client, 'company', 'companies.csv', companies);
    const first = await run(
      from.client,
      'contact',
      'customers-100.csv',
      readShared('crm/datablist-samples/customers-100.csv'),
    );
    expect(first.done.progress).toMatchObject({ created: 100, failed: 0 });

    const exported = await t.app.inject({
      method: 'GET',
      url: '/api/v1/contacts/export?format=csv&fields=first_name,last_name,emails,phones,companies',
      headers: { cookie: from.client.cookieHeader },
    });
    expect(exported.statusCode).toBe(200);
    const back = await run(to.client, 'contact', 'export.csv', exported.rawPayload);
    expect(
      back.up.mapping.map((m: { header: string; target: string | null }) => [m.header, m.target]),
    ).toEqual([
      ['First name', 'first_name'],
      ['Last name', 'last_name'],
      ['E-mails', 'email'],
      ['Phones', 'phone'],
      ['Companies', 'company'],
    ]);
    expect(back.done.progress).toMatchObject({ created: 100, failed: 0 });
    const sample = customers[0]!;
    const found = (await to.client.get(`/api/v1/contacts?q=${encodeURIComponent(sample.Email!)}`)).body
      .data[0];
    const contact = (await to.client.get(`/api/v1/contacts/${found.id}`)).body;
    expect(contact.companies).toEqual([expect.objectContaining({ name: sample.Company, primary: true })]);
  });
});
