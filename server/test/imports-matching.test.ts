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

/**
 * No silent match: a row skipped or updated because it matched a record says by what, and a row
 * naming another person or company than the record it matched is listed (`conflicting_match`),
 * on the real datablist files.
 */
const DIR = 'crm/datablist-samples/';
const table = (name: string) =>
  parse(readShared(`${DIR}${name}`), { columns: true, bom: true }) as Record<string, string>[];

let t: TestApp;
let admin: { client: Client; orgId: string; userId: string; email: string };

beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Matching Co');
}, 120_000);
afterAll(() => t?.close());

type Row = {
  row_number: number;
  outcome: string;
  matched_by: string | null;
  problems: { code: string; column: string | null; message: string; value?: string }[];
};

async function runImport(object: string, name: string, content: string | Buffer, patch: object = {}) {
  const up = await uploadCsv(t, admin.client, object, name, content);
  expect(up.status, up.text).toBe(201);
  const patched = await admin.client.patch(`/api/v1/imports/${up.body.id}`, patch);
  expect(patched.status, patched.text).toBe(200);
  await admin.client.post(`/api/v1/imports/${up.body.id}/start`);
  const done = await waitForImport(t, admin.client, up.body.id);
  expect(done.status, done.error).toBe('completed');
  return { id: up.body.id as string, done, mapping: up.body.mapping as { index: number; header: string }[] };
}

async function allRows(id: string, query = ''): Promise<Row[]> {
  const out: Row[] = [];
  let after = 0;
  for (;;) {
    const page = await admin.client.get(`/api/v1/imports/${id}/rows?limit=200&after=${after}${query}`);
    expect(page.status, page.text).toBe(200);
    out.push(...page.body.data);
    if (page.body.next_after === null) return out;
    after = page.body.next_after;
  }
}

describe('matched rows say why', () => {
  it('a re-imported customer file says each row matched by external id, then by e-mail; a row naming another person is a listed conflict', async () => {
    const customers = table('customers-100.csv');
    const content = readShared(`${DIR}customers-100.csv`);
    const first = await runImport('contact', 'customers-100.csv', content);
    expect(first.done.progress).toMatchObject({ created: 100, skipped: 0 });
    expect((await allRows(first.id)).every((r) => r.matched_by === null)).toBe(true);

    const again = await runImport('contact', 'customers-100.csv', content);
    expect(again.done.progress).toMatchObject({ created: 0, skipped: 100 });
    const rows = await allRows(again.id);
    expect(rows.map((r) => r.matched_by)).toEqual(customers.map(() => 'external_id'));

    // The same people without their ids, the first five under another first name (someone else
    // now uses the address): matched by e-mail, and those five listed as conflicting matches.
    const renamed = customers.map((c, i) => ({
      ...c,
      'Customer Id': '',
      'First Name': i < 5 ? `Other${i}` : c['First Name']!,
    }));
    const third = await runImport('contact', 'customers-renamed.csv', stringify(renamed, { header: true }));
    expect(third.done.progress).toMatchObject({ created: 0, skipped: 100 });
    const thirdRows = await allRows(third.id);
    expect(new Set(thirdRows.map((r) => r.matched_by))).toEqual(new Set(['email']));
    const conflicts = await allRows(third.id, '&problem=conflicting_match');
    expect(conflicts.map((r) => r.row_number)).toEqual([1, 2, 3, 4, 5]);
    const conflict = conflicts[0]!.problems.find((p) => p.code === 'conflicting_match')!;
    expect(conflict).toMatchObject({
      code: 'conflicting_match',
      column: 'First Name',
      value: `Other0 ${customers[0]!['Last Name']}`,
    });
    expect(conflict.message).toContain(`"${customers[0]!['First Name']} ${customers[0]!['Last Name']}"`);
    expect(conflict.message).toContain('keeps its name');
    const report = parse(
      (await admin.client.get(`/api/v1/imports/${third.id}/errors.csv?problem=conflicting_match`)).text,
      {
        columns: true,
      },
    ) as Record<string, string>[];
    expect(report.map((l) => [l.row, l.code])).toEqual(
      [1, 2, 3, 4, 5].map((n) => [String(n), 'conflicting_match']),
    );

    // Overwrite renames them: each rename is listed on its row.
    const fourth = await runImport('contact', 'customers-renamed.csv', stringify(renamed, { header: true }), {
      dedup: 'overwrite',
    });
    const listed = await allRows(fourth.id, '&problem=conflicting_match');
    expect(listed.map((r) => [r.row_number, r.outcome, r.matched_by])).toEqual(
      [1, 2, 3, 4, 5].map((n) => [n, 'updated', 'email']),
    );
    expect(listed[0]!.problems.find((p) => p.code === 'conflicting_match')!.message).toContain('is renamed');
    const row1 = (await admin.client.get(`/api/v1/imports/${fourth.id}/rows?limit=1`)).body.data[0];
    const contact = (await admin.client.get(`/api/v1/contacts/${row1.record_id}`)).body;
    expect(contact.first_name).toBe('Other0');
  });

  it('a company sharing a domain with a differently named company is created, unless the import matches on domain', async () => {
    const orgs = table('organizations-100.csv');
    const host = (w: string) => new URL(w).hostname.replace(/^www\./, '');
    const shared = orgs.filter((o, i) => orgs.findIndex((p) => host(p.Website!) === host(o.Website!)) !== i);
    expect(shared).toHaveLength(1); // the file's own dirt: two firms on one domain
    const first = orgs.find((o) => host(o.Website!) === host(shared[0]!.Website!))!;
    const content = readShared(`${DIR}organizations-100.csv`);
    const plain = await runImport('company', 'organizations-100.csv', content);
    expect(plain.done.progress).toMatchObject({ created: 100, skipped: 0 });

    // Into a fresh organization, matching on domain: the second firm is skipped, and says why.
    admin = await signUp(t, 'Domain Matchers');
    const byDomain = await runImport('company', 'organizations-100.csv', content, {
      options: { match_companies_by_domain: true },
    });
    expect(byDomain.done.progress).toMatchObject({ created: 99, skipped: 1 });
    const [skipped] = await allRows(byDomain.id, '&outcome=skipped');
    expect(skipped).toMatchObject({ row_number: orgs.indexOf(shared[0]!) + 1, matched_by: 'domain' });
    expect(skipped!.problems).toEqual([
      expect.objectContaining({ code: 'conflicting_match', column: 'Name', value: shared[0]!.Name }),
    ]);
    expect(skipped!.problems[0]!.message).toContain(`"${first.Name}"`);
  });
});
