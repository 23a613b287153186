import { parse } from 'csv-parse/sync';
import { and, eq } from 'drizzle-orm';
import ExcelJS from 'exceljs';
import { describe, expect, inject, it } from 'vitest';
import { withTenant } from '../src/db/tenant.js';
import { createContactIn } from '../src/modules/contacts/contact.service.js';
import { RunOvertakenError, runImport } from '../src/modules/imports/import-runner.service.js';
import { events } from '../src/platform/events/event.schema.js';
import {
  type Client,
  expectStatus,
  queueWithoutJob as queueImportWithoutJob,
  readShared,
  signUp,
  uploadCsv,
  useOrganization,
  waitForImport,
} from './kit/index.js';

const org = useOrganization('Importers');
/** On a PostgreSQL server (the suite's second run), not the embedded database. */
const onServer = Boolean(inject('databaseUrl'));

/** Queues an import without its job (as a crashed worker leaves it), for `runImport` by hand. */
const queueWithoutJob = (importId: string) => queueImportWithoutJob(org.t, org.admin.orgId, importId);

/** Uploads a file, sets the dedup mode, runs the import to its end. */
async function importFile(
  client: Client,
  object: string,
  name: string,
  content: string | Buffer,
  dedup: string,
) {
  const up = await uploadCsv(org.t, client, object, name, content);
  expect(up.status, up.text).toBe(201);
  await client.patch(`/api/v1/imports/${up.body.id}`, { dedup });
  await client.post(`/api/v1/imports/${up.body.id}/start`);
  const done = await waitForImport(org.t, client, up.body.id);
  return {
    mapping: up.body.mapping.map((m: { target: string }) => m.target),
    progress: done.progress,
    rows: (await client.get(`/api/v1/imports/${up.body.id}/rows`)).body.data,
  };
}

async function importEvents(importId: string) {
  return withTenant(
    org.t.services.database,
    { orgId: org.admin.orgId, actor: { type: 'system', id: null } },
    (scope) =>
      scope.tx
        .select({ type: events.type, subjectId: events.subjectId })
        .from(events)
        .where(
          and(
            eq(events.orgId, org.admin.orgId),
            eq(events.actorType, 'import'),
            eq(events.actorId, importId),
          ),
        ),
  );
}

describe('upload and parse', () => {
  it('reads the Salesforce sample: BOM stripped, ragged rows counted, Salesforce headers mapped', async () => {
    const res = await uploadCsv(
      org.t,
      org.admin.client,
      'contact',
      'Accounts-Contacts.csv',
      readShared('crm/salesforce-trailhead-lwc-recipes/Accounts-Contacts.csv'),
    );
    expect(res.status, res.text).toBe(201);
    expect(res.body.headers[0]).toBe('Account: Account Name');
    expect(res.body.delimiter).toBe(',');
    expect(res.body.progress.total_rows).toBe(14);
    expect(res.body.ragged_rows).toBe(8);
    const target = (h: string) => res.body.mapping.find((m: { header: string }) => m.header === h)?.target;
    expect(target('Contact: First Name')).toBe('first_name');
    expect(target('Contact: Last Name')).toBe('last_name');
    expect(target('Contact: Email')).toBe('email');
    expect(target('Account: Account Name')).toBe('company');
  });

  it('detects ; and tab delimiters, CRLF, quoted delimiters and newlines', async () => {
    const semi =
      'Name;E-mail;Phone Number;Notes\r\n"Ada Lovelace";ada@example.com;+44 20 7946 0958;"first; second\r\nline"\r\nAlan Turing;alan@example.com;;\r\n';
    const a = await uploadCsv(org.t, org.admin.client, 'contact', 'semi.csv', semi);
    expect(a.status, a.text).toBe(201);
    expect(a.body.delimiter).toBe(';');
    expect(a.body.progress.total_rows).toBe(2);
    expect(a.body.mapping.map((m: { target: string }) => m.target)).toEqual([
      'full_name',
      'email',
      'phone',
      'notes',
    ]);
    const preview = await org.admin.client.get(`/api/v1/imports/${a.body.id}/preview`);
    expect(preview.body.rows[0].values).toMatchObject({
      full_name: 'Ada Lovelace',
      email: ['ada@example.com'],
      phone: [{ e164: '+442079460958' }],
      notes: 'first; second\r\nline',
    });
    const tab = await uploadCsv(
      org.t,
      org.admin.client,
      'company',
      'tab.tsv',
      'Company Name\tWebsite\nAcme, Inc.\tacme.example\n',
    );
    expect(tab.body.delimiter).toBe('\t');
    expect(tab.body.mapping.map((m: { target: string }) => m.target)).toEqual(['name', 'website']);
  });

  it('reads every csv-spectrum file as its expected JSON says', async () => {
    for (const name of [
      'comma_in_quotes',
      'escaped_quotes',
      'newlines',
      'newlines_crlf',
      'quotes_and_newlines',
      'simple_crlf',
      'utf8',
      'json',
    ]) {
      const csv = readShared(`security/csv-spectrum/csvs/${name}.csv`);
      const expected = JSON.parse(readShared(`security/csv-spectrum/json/${name}.json`).toString()) as Record<
        string,
        string
      >[];
      const up = await uploadCsv(org.t, org.admin.client, 'contact', `${name}.csv`, csv);
      expect(up.status, `${name}: ${up.text}`).toBe(201);
      expect(up.body.headers, name).toEqual(Object.keys(expected[0]!));
      const detail = await org.admin.client.get(`/api/v1/imports/${up.body.id}`);
      expect(detail.body.sample_rows, name).toEqual(expected.map((row) => Object.values(row)));
    }
  });

  it('counts a large file as it arrives: a quoted cell across the first 64 KiB, ragged rows, an unclosed quote refused', async () => {
    // ~300 KiB, `;`-separated with a BOM: the shape comes from the first 64 KiB, the count from
    // every chunk; a quoted cell with a newline and a `;` sits where the first 64 KiB end.
    const lines = ['\uFEFFName;E-mail;Notes'];
    let bytes = 0;
    let across = false;
    for (let i = 0; i < 6000; i++) {
      const long: boolean = !across && bytes > 64 * 1024 - 1000;
      across ||= long;
      const notes = long ? `"long; ${'x'.repeat(1000)}\r\n${'y'.repeat(1000)}"` : `note ${i}`;
      lines.push(i % 1000 === 999 ? `Short ${i};short${i}@example.com` : `P ${i};p${i}@example.com;${notes}`);
      bytes += Buffer.byteLength(lines.at(-1)!) + 2;
    }
    const csv = `${lines.join('\r\n')}\r\n`;
    expect(Buffer.byteLength(csv)).toBeGreaterThan(200_000);
    const up = await uploadCsv(org.t, org.admin.client, 'contact', 'large.csv', csv);
    expect(up.status, up.text).toBe(201);
    expect(up.body.delimiter).toBe(';');
    expect(up.body.headers).toEqual(['Name', 'E-mail', 'Notes']);
    expect(up.body.progress.total_rows).toBe(6000);
    expect(up.body.ragged_rows).toBe(6);

    const broken = await uploadCsv(
      org.t,
      org.admin.client,
      'contact',
      'broken.csv',
      `Name,Notes\n${'Ann,fine\n'.repeat(10_000)}Bob,"never closed\n`,
    );
    expect(broken.status).toBe(400);
    expect(broken.body).toMatchObject({ code: 'invalid_csv', errors: [{ path: 'body.file' }] });
    const names = (await org.admin.client.get('/api/v1/imports?limit=100')).body.data.map(
      (i: { file_name: string }) => i.file_name,
    );
    expect(names).toContain('large.csv');
    expect(names).not.toContain('broken.csv');
  });

  it('refuses a request without a file and another tenant sees nothing', async () => {
    const empty = await uploadCsv(org.t, org.admin.client, 'contact', 'empty.csv', '');
    expect(empty.status).toBe(400);
    expect(empty.body.code).toBe('empty_file');
    const other = await signUp(org.t, 'Other');
    const mine = await uploadCsv(org.t, org.admin.client, 'contact', 'x.csv', 'Email\na@example.com\n');
    expect((await other.client.get(`/api/v1/imports/${mine.body.id}`)).status).toBe(404);
    expect((await other.client.get('/api/v1/imports')).body.data).toEqual([]);
  });
});

describe('preview flags what a spreadsheet mangled', () => {
  it('flags the Excel-mangled leads file: a phone evaluated to -2237 is not stored', async () => {
    const up = await uploadCsv(
      org.t,
      org.admin.client,
      'contact',
      'leads.csv',
      readShared('crm/real-world-mangled/leads-100.excel-truncated-phone-as-formula.csv'),
    );
    expect(up.status, up.text).toBe(201);
    const preview = await org.admin.client.get(`/api/v1/imports/${up.body.id}/preview?limit=100`);
    const first = preview.body.rows[0];
    expect(first.problems).toContainEqual(
      expect.objectContaining({ column: 'Phone 1', code: 'spreadsheet_mangled', value: '-2237' }),
    );
    expect(first.values.phone).toEqual([{ e164: '+12754733370', raw: '2754733370' }]);
    expect(preview.body.problem_counts.spreadsheet_mangled).toBeGreaterThan(0);
  });

  it('reads an .xlsx workbook: dates, numbers, links, and a phone the spreadsheet evaluated is flagged', async () => {
    // The datablist customers as a workbook the way a spreadsheet keeps them: numbers, real dates,
    // hyperlinks, and the first row's phone typed as +1-532-344-1362 and evaluated to -2237.
    const [header, ...records] = parse(readShared('crm/datablist-samples/customers-100.csv')) as string[][];
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('Customers');
    sheet.addRow(header);
    for (const r of records) {
      const row = sheet.addRow([
        Number(r[0]),
        ...r.slice(1, 10),
        new Date(`${r[10]}T00:00:00Z`),
        { text: r[11], hyperlink: r[11] },
      ]);
      row.getCell(11).numFmt = 'yyyy-mm-dd';
    }
    sheet.getCell('H2').value = { formula: '+1-532-344-1362', result: -2237 };
    const file = Buffer.from(await workbook.xlsx.writeBuffer());

    const up = await uploadCsv(org.t, org.admin.client, 'contact', 'customers.xlsx', file);
    expect(up.status, up.text).toBe(201);
    expect(up.body.file_name).toBe('customers.xlsx');
    expect(up.body.progress.total_rows).toBe(100);
    expect(up.body.headers).toEqual(header);
    const detail = (await org.admin.client.get(`/api/v1/imports/${up.body.id}`)).body;
    expect(detail.sample_rows[0]).toEqual([
      '1',
      ...records[0]!.slice(1, 7),
      '=+1-532-344-1362',
      ...records[0]!.slice(8, 12),
    ]);
    expect(detail.sample_rows[1]).toEqual(records[1]);
    const preview = await org.admin.client.get(`/api/v1/imports/${up.body.id}/preview`);
    expect(preview.body.rows[0].problems).toContainEqual(
      expect.objectContaining({ column: 'Phone 1', code: 'spreadsheet_mangled' }),
    );

    const broken = await uploadCsv(org.t, org.admin.client, 'contact', 'broken.xlsx', file.subarray(0, 200));
    expect(broken.status).toBe(400);
    expect(broken.body).toMatchObject({ code: 'invalid_xlsx', errors: [{ path: 'body.file' }] });
  });

  it('flags invalid e-mails, unparseable phones, unknown options, formulas and too-long values per cell', async () => {
    const csv = `First Name,Email,Phone,Lead Status,Last Name\nA,not-an-email,12,hot,=HYPERLINK("x")\nB,b@example.com,4.15E+11,New,${'x'.repeat(101)}\n`;
    const up = await uploadCsv(org.t, org.admin.client, 'contact', 'bad.csv', csv);
    const preview = await org.admin.client.get(`/api/v1/imports/${up.body.id}/preview`);
    const codes = (i: number) => preview.body.rows[i].problems.map((p: { code: string }) => p.code).sort();
    expect(codes(0)).toEqual(['invalid_email', 'invalid_phone', 'spreadsheet_mangled', 'unknown_option']);
    expect(codes(1)).toEqual(['spreadsheet_mangled', 'too_long']);
    expect(preview.body.rows[1].values.lead_status).toBe('new');
  });
});

describe('contacts: import, dedup, revert', () => {
  it('imports the datablist customers with events by the import, then dedups a second run', async () => {
    const file = readShared('crm/datablist-samples/customers-100.csv');
    const up = await uploadCsv(org.t, org.admin.client, 'contact', 'customers-100.csv', file);
    const target = (h: string) => up.body.mapping.find((m: { header: string }) => m.header === h)?.target;
    expect([
      target('First Name'),
      target('Email'),
      target('Phone 1'),
      target('Customer Id'),
      target('Company'),
    ]).toEqual(['first_name', 'email', 'phone', 'external_id', 'company']);
    expect((await org.admin.client.post(`/api/v1/imports/${up.body.id}/start`)).status).toBe(200);
    const done = await waitForImport(org.t, org.admin.client, up.body.id);
    expect(done.status).toBe('completed');
    expect(done.progress).toMatchObject({ rows_done: 100, total_rows: 100 });
    expect(done.progress.created + done.progress.failed).toBe(100);
    expect(done.progress.created).toBeGreaterThan(90);
    const created = await org.admin.client.get(
      `/api/v1/imports/${up.body.id}/rows?outcome=created&limit=200`,
    );
    expect(created.body.data).toHaveLength(done.progress.created);
    const evs = await importEvents(up.body.id);
    expect(evs.filter((e) => e.type === 'contact.created')).toHaveLength(done.progress.created);
    const contact = await org.admin.client.get(`/api/v1/contacts/${created.body.data[0].record_id}`);
    expect(contact.body.email).toBe('zunigavanessa@smith.info');
    expect(contact.body.source).toBe('import');

    const again = await uploadCsv(org.t, org.admin.client, 'contact', 'customers-100.csv', file);
    await org.admin.client.post(`/api/v1/imports/${again.body.id}/start`);
    const second = await waitForImport(org.t, org.admin.client, again.body.id);
    expect(second.progress.skipped).toBe(done.progress.created);
    expect(second.progress.created).toBe(0);
  });

  it('handles duplicates within the file and update_empty, and revert restores what was overwritten', async () => {
    const seed = await org.admin.client.post('/api/v1/contacts', {
      first_name: 'Grace',
      emails: [{ value: 'grace@navy.example' }],
    });
    const csv =
      'First Name,Last Name,Email,Phone\nGrace,Hopper,GRACE@navy.example,\nKatherine,Johnson,kj@nasa.example,+1 757 555 0100\nKathy,J,,+1 (757) 555-0100\nKatherine,Johnson,kj@nasa.example,\n';
    const up = await uploadCsv(org.t, org.admin.client, 'contact', 'dups.csv', csv);
    await org.admin.client.patch(`/api/v1/imports/${up.body.id}`, { dedup: 'update_empty' });
    await org.admin.client.post(`/api/v1/imports/${up.body.id}/start`);
    const done = await waitForImport(org.t, org.admin.client, up.body.id);
    expect(done.progress).toMatchObject({ created: 1, updated: 1, skipped: 2, failed: 0 });
    const grace = await org.admin.client.get(`/api/v1/contacts/${seed.body.id}`);
    expect(grace.body).toMatchObject({ first_name: 'Grace', last_name: 'Hopper' });

    await org.admin.client.post(`/api/v1/imports/${up.body.id}/revert`);
    const reverted = await waitForImport(org.t, org.admin.client, up.body.id);
    expect(reverted.status).toBe('reverted');
    expect((await org.admin.client.get(`/api/v1/contacts/${seed.body.id}`)).body.last_name).toBeNull();
    const rows = (await org.admin.client.get(`/api/v1/imports/${up.body.id}/rows?outcome=created`)).body.data;
    expect(
      (await org.admin.client.get(`/api/v1/contacts/${rows[0].record_id}`)).body.archived_at,
    ).not.toBeNull();
  });

  it('updates matched contacts in file order, a contact matched twice gets both rows, a taken e-mail fails its row; undo restores', async () => {
    const first = await uploadCsv(
      org.t,
      org.admin.client,
      'contact',
      'people.csv',
      'ID,First Name,Last Name,Email,Phone,Tags\na-1,Ada,Lovelace,ada@engine.example,,vip\nb-1,Bob,Marley,bob@engine.example,+1 757 555 0199,\nc-1,Dan,Smith,dan@engine.example,,\n',
    );
    await org.admin.client.post(`/api/v1/imports/${first.body.id}/start`);
    expect((await waitForImport(org.t, org.admin.client, first.body.id)).progress).toMatchObject({
      created: 3,
    });
    const acme = await org.admin.client.post('/api/v1/companies', { name: 'Engine Works' });
    const find = async (email: string) =>
      (
        await org.admin.client.get(
          `/api/v1/contacts?filter=${encodeURIComponent(JSON.stringify({ field: 'email', op: 'eq', value: email }))}`,
        )
      ).body.data[0];
    const ada = await find('ada@engine.example');
    const bob = await find('bob@engine.example');

    const csv = [
      'ID,First Name,Last Name,Email,Phone,Company,Tags',
      'a-1,Ada,Byron,ada@engine.example,+1 757 555 0142,Engine Works,friend',
      ',Ada,King,ADA@engine.example,,,',
      'b-1,Bob,Dylan,ada@engine.example,,,never-kept',
      ',Carol,Shaw,carol@engine.example,,,',
      ',Carol,Danvers,carol@engine.example,,,',
      ',,,bob@engine.example,,,',
      'c-1,Dan,Brown,,,,',
    ].join('\n');
    const up = await uploadCsv(org.t, org.admin.client, 'contact', 'people-again.csv', `${csv}\n`);
    await org.admin.client.patch(`/api/v1/imports/${up.body.id}`, { dedup: 'overwrite' });
    await org.admin.client.post(`/api/v1/imports/${up.body.id}/start`);
    const done = await waitForImport(org.t, org.admin.client, up.body.id);
    expect(done.progress).toMatchObject({ created: 1, updated: 4, skipped: 1, failed: 1 });
    const rows = (await org.admin.client.get(`/api/v1/imports/${up.body.id}/rows?limit=10`)).body.data;
    const row = (n: number) => rows.find((r: { row_number: number }) => r.row_number === n);
    expect(row(3)).toMatchObject({ outcome: 'failed', record_id: null });
    // Its Company cell is empty: a warning on the row, then the reason it failed.
    expect(row(3).problems.map((p: { code: string }) => p.code)).toEqual([
      'empty_reference',
      'duplicate_email',
    ]);
    expect(row(6)).toMatchObject({ outcome: 'skipped', record_id: bob.id });
    // The failed row's new tag was not created; the tag a written row named was.
    const tagNames = (await org.admin.client.get('/api/v1/tags')).body.data.map(
      (x: { name: string }) => x.name,
    );
    expect(tagNames).toContain('friend');
    expect(tagNames).not.toContain('never-kept');

    // Both of Ada's rows, in file order: the second overwrote what the first wrote.
    const after = (await org.admin.client.get(`/api/v1/contacts/${ada.id}`)).body;
    expect(after).toMatchObject({
      first_name: 'Ada',
      last_name: 'King',
      phone: '+17575550142',
      tags: ['vip', 'friend'],
    });
    expect(after.companies).toEqual([{ id: acme.body.id, name: 'Engine Works', primary: true }]);
    expect((await org.admin.client.get(`/api/v1/contacts/${bob.id}`)).body).toMatchObject({
      last_name: 'Marley',
      emails: [{ value: 'bob@engine.example', primary: true }],
    });
    const carol = await find('carol@engine.example');
    expect(carol).toMatchObject({ first_name: 'Carol', last_name: 'Danvers' });
    // One event per row that changed something, by the import, with what changed.
    const types = (await importEvents(up.body.id)).filter((e) => e.subjectId === ada.id).map((e) => e.type);
    expect(types.sort()).toEqual(['contact.company_linked', 'contact.updated', 'contact.updated']);
    const timeline = (await org.admin.client.get(`/api/v1/contacts/${ada.id}/timeline`)).body.data;
    const updates = timeline.filter((e: { type: string }) => e.type === 'contact.updated');
    expect(
      updates.map((e: { data: { changes: { last_name: object } } }) => e.data.changes.last_name),
    ).toEqual(
      expect.arrayContaining([
        { before: 'Lovelace', after: 'Byron' },
        { before: 'Byron', after: 'King' },
      ]),
    );

    // Dan is archived meanwhile: the undo leaves him as he is and says so on his row.
    const dan = await find('dan@engine.example');
    expect(dan.last_name).toBe('Brown');
    expect((await org.admin.client.post(`/api/v1/contacts/${dan.id}/archive`)).status).toBe(200);
    await org.admin.client.post(`/api/v1/imports/${up.body.id}/revert`);
    expect((await waitForImport(org.t, org.admin.client, up.body.id)).status).toBe('reverted');
    const undone = (await org.admin.client.get(`/api/v1/contacts/${ada.id}`)).body;
    expect(undone).toMatchObject({ last_name: 'Lovelace', phones: [], tags: ['vip'], companies: [] });
    expect((await org.admin.client.get(`/api/v1/contacts/${carol.id}`)).body.archived_at).not.toBeNull();
    expect((await org.admin.client.get(`/api/v1/contacts/${dan.id}`)).body.last_name).toBe('Brown');
    const danRow = (await org.admin.client.get(`/api/v1/imports/${up.body.id}/rows?limit=10`)).body.data.find(
      (r: { row_number: number }) => r.row_number === 7,
    );
    expect(danRow.problems).toContainEqual(expect.objectContaining({ code: 'revert_failed' }));
  });

  it('resumes from its checkpoint after an interrupted run without creating anything twice', async () => {
    const lines = ['First Name,Email'];
    for (let i = 0; i < 120; i++) lines.push(`P${i},resume${i}@example.com`);
    const up = await uploadCsv(org.t, org.admin.client, 'contact', 'resume.csv', `${lines.join('\n')}\n`);
    // Queue it without a job (as a crashed worker leaves it), run two batches, "crash", resume.
    await queueWithoutJob(up.body.id);
    expect(
      await runImport(org.t.services, org.admin.orgId, up.body.id, { batchRows: 25, maxBatches: 2 }),
    ).toBe('interrupted');
    const half = (await org.admin.client.get(`/api/v1/imports/${up.body.id}`)).body;
    expect(half.progress).toMatchObject({ rows_done: 50, created: 50 });
    expect(half.status).toBe('running');
    // The job handed out twice (an expired job retried while the first run goes on): one run
    // finishes, the other stops when it finds the checkpoint past its batch.
    const runs = await Promise.allSettled([
      runImport(org.t.services, org.admin.orgId, up.body.id, { batchRows: 25 }),
      runImport(org.t.services, org.admin.orgId, up.body.id, { batchRows: 25 }),
    ]);
    expect(runs.filter((r) => r.status === 'fulfilled').map((r) => r.value)).toContain('completed');
    for (const r of runs) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(RunOvertakenError);
    const done = (await org.admin.client.get(`/api/v1/imports/${up.body.id}`)).body;
    expect(done.progress).toMatchObject({ rows_done: 120, created: 120, skipped: 0, failed: 0 });
    const list = await org.admin.client.get(
      `/api/v1/contacts?filter=${encodeURIComponent(JSON.stringify({ field: 'email', op: 'startsWith', value: 'resume' }))}&limit=200`,
    );
    expect(list.body.data).toHaveLength(120);
  });

  it('dedups against the previous batch, older batches and its own rows when batches overlap', async () => {
    // Batches of 4: while one is written the next is looked up, so a duplicate of the previous
    // batch is found through the keys carried in memory, an older one in the database.
    const csv = [
      'First Name,Email,Phone',
      'Ada,ada@carry.example,+1 202 555 0101',
      'Bob,bob@carry.example,',
      'Cy,cy@carry.example,',
      'Di,di@carry.example,',
      'Ed,ed@carry.example,',
      'Bob,BOB@carry.example,', // row 6: the previous batch
      'Fay,,(202) 555-0101', // row 7: the previous batch, by phone
      'Gus,gus@carry.example,',
      'Hal,hal@carry.example,',
      'Ada,ada@carry.example,', // row 10: two batches back
      'Ed,ed@carry.example,', // row 11: the previous batch
      'Ivy,ivy@carry.example,',
      'Ivy,ivy@carry.example,', // row 13: the previous batch
      'Jo,jo@carry.example,',
      'Jo,jo@carry.example,', // row 15: the same batch
    ].join('\n');
    const up = await uploadCsv(org.t, org.admin.client, 'contact', 'carry.csv', `${csv}\n`);
    await queueWithoutJob(up.body.id);
    expect(await runImport(org.t.services, org.admin.orgId, up.body.id, { batchRows: 4 })).toBe('completed');
    const done = (await org.admin.client.get(`/api/v1/imports/${up.body.id}`)).body;
    expect(done.progress).toMatchObject({ rows_done: 15, created: 9, skipped: 6, failed: 0 });
    const rows = (await org.admin.client.get(`/api/v1/imports/${up.body.id}/rows?limit=50`)).body.data as {
      row_number: number;
      outcome: string;
      record_id: string;
    }[];
    const recordOf = (n: number) => rows.find((r) => r.row_number === n)!.record_id;
    const pairs = [
      [6, 2],
      [7, 1],
      [10, 1],
      [11, 5],
      [13, 12],
      [15, 14],
    ];
    for (const [dup, original] of pairs) {
      expect(rows.find((r) => r.row_number === dup)!.outcome).toBe('skipped');
      expect(recordOf(dup!)).toBe(recordOf(original!));
    }
    const list = await org.admin.client.get(
      `/api/v1/contacts?filter=${encodeURIComponent(JSON.stringify({ field: 'email', op: 'contains', value: '@carry.example' }))}&limit=50`,
    );
    expect(list.body.data).toHaveLength(9);
    const evs = await importEvents(up.body.id);
    expect(evs.filter((e) => e.type === 'contact.created')).toHaveLength(9);

    // update_empty: a later row fills what an earlier batch's contact lacks.
    const second = await uploadCsv(
      org.t,
      org.admin.client,
      'contact',
      'carry2.csv',
      'First Name,Last Name,Email\nKim,,kim@carry2.example\nLee,,lee@carry2.example\nKim,Park,kim@carry2.example\n',
    );
    await org.admin.client.patch(`/api/v1/imports/${second.body.id}`, { dedup: 'update_empty' });
    await queueWithoutJob(second.body.id);
    expect(await runImport(org.t.services, org.admin.orgId, second.body.id, { batchRows: 2 })).toBe(
      'completed',
    );
    const after = (await org.admin.client.get(`/api/v1/imports/${second.body.id}`)).body;
    expect(after.progress).toMatchObject({ created: 2, updated: 1, skipped: 0 });
    const kim = (await org.admin.client.get(`/api/v1/imports/${second.body.id}/rows?outcome=updated`)).body
      .data[0];
    expect((await org.admin.client.get(`/api/v1/contacts/${kim.record_id}`)).body).toMatchObject({
      first_name: 'Kim',
      last_name: 'Park',
      email: 'kim@carry2.example',
    });
  });

  // Two batches are written at once only on a server (PGlite has one connection).
  it.skipIf(!onServer)(
    'plans a batch again when the batch before it, written at the same time, ended otherwise than planned',
    async () => {
      // Row 2's e-mail is taken by a contact another user saves while the import runs: the lookup
      // of batch 1 did not see it, so batch 1 planned a new contact for row 2, and batch 2, written
      // meanwhile, planned row 5 (the same e-mail) as a duplicate of that new contact.
      const csv = [
        'First Name,Email',
        'Ann,ann@replan.example',
        'Ben,taken@replan.example',
        'Cat,cat@replan.example',
        'Dov,dov@replan.example',
        'Ben again,taken@replan.example',
        'Eve,eve@replan.example',
        'Fox,fox@replan.example',
      ].join('\n');
      const up = await uploadCsv(org.t, org.admin.client, 'contact', 'replan.csv', `${csv}\n`);
      await queueWithoutJob(up.body.id);
      const ctx = { orgId: org.admin.orgId, actor: { type: 'user' as const, id: org.admin.userId } };
      let commit!: () => void;
      const saved = new Promise<void>((resolve) => {
        commit = resolve;
      });
      let other!: string;
      const outside = withTenant(org.t.services.database, ctx, async (scope) => {
        other = (
          await createContactIn(scope, org.t.services, {
            first_name: 'Benedict',
            emails: [{ value: 'taken@replan.example' }],
          })
        ).id;
        await saved;
      });
      const run = runImport(org.t.services, org.admin.orgId, up.body.id, { batchRows: 3 });
      // Batch 1's insert waits for the other user's transaction; batch 2 is planned meanwhile.
      for (let i = 0; i < 200; i++) {
        const waiting = await org.t.services.database.raw.query<{ n: number }>(
          "select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like 'insert into contact_emails%'",
          [],
        );
        if (waiting.rows[0]!.n > 0) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      await new Promise((r) => setTimeout(r, 300));
      commit();
      await outside;
      expect(await run).toBe('completed');
      const done = (await org.admin.client.get(`/api/v1/imports/${up.body.id}`)).body;
      expect(done.progress).toMatchObject({ rows_done: 7, created: 5, skipped: 2, failed: 0 });
      const rows = (await org.admin.client.get(`/api/v1/imports/${up.body.id}/rows?limit=10`)).body.data as {
        row_number: number;
        outcome: string;
        record_id: string;
      }[];
      const row = (n: number) => rows.find((r) => r.row_number === n)!;
      expect(row(2)).toMatchObject({ outcome: 'skipped', record_id: other });
      expect(row(5)).toMatchObject({ outcome: 'skipped', record_id: other });
      // Every row points at a contact that exists, and no e-mail has two contacts.
      for (const r of rows)
        expect((await org.admin.client.get(`/api/v1/contacts/${r.record_id}`)).status).toBe(200);
      const list = await org.admin.client.get(
        `/api/v1/contacts?filter=${encodeURIComponent(JSON.stringify({ field: 'email', op: 'contains', value: '@replan.example' }))}&limit=50`,
      );
      expect(list.body.data).toHaveLength(6);
      expect((await importEvents(up.body.id)).filter((e) => e.type === 'contact.created')).toHaveLength(5);
    },
  );

  it('dedups companies by external id, phone, domain and name across batches and resolves parents', async () => {
    const csv = [
      'Id,Name,Website,Phone,Parent',
      'G1,Globex,https://www.globex.example/about,+1 202 555 0111,',
      'I1,Initech,initech.example,,Globex', // parent earlier in the same batch
      'H1,Hooli,hooli.example,,Pied Piper', // parent later in the file
      ',globex,,,', // row 4: the previous batch, by name
      ',Umbrella,http://globex.example,,', // row 5: Globex's domain, another name: a company of its own
      'P1,Pied Piper,piedpiper.example,,G1', // parent an earlier batch, by external id
      ',Vandelay,,(202) 555-0111,', // row 7: two batches back, by phone
      'S1,Stark,stark.example,,Nowhere Inc', // a parent that never comes
      'G1,Globex Corporation,,,', // row 9: by external id
    ].join('\n');
    const up = await uploadCsv(org.t, org.admin.client, 'company', 'orgs.csv', `${csv}\n`);
    expect(up.body.mapping.map((m: { target: string }) => m.target)).toEqual([
      'external_id',
      'name',
      'website',
      'phone',
      'parent_company',
    ]);
    await queueWithoutJob(up.body.id);
    expect(await runImport(org.t.services, org.admin.orgId, up.body.id, { batchRows: 3 })).toBe('completed');
    const done = (await org.admin.client.get(`/api/v1/imports/${up.body.id}`)).body;
    expect(done.progress).toMatchObject({ created: 6, skipped: 3, failed: 0 });
    const rows = (await org.admin.client.get(`/api/v1/imports/${up.body.id}/rows?limit=50`)).body.data as {
      row_number: number;
      outcome: string;
      record_id: string;
      matched_by: string | null;
      problems: { code: string }[];
    }[];
    const row = (n: number) => rows.find((r) => r.row_number === n)!;
    for (const [dup, by] of [
      [4, 'name'],
      [7, 'phone'],
      [9, 'external_id'],
    ] as const) {
      expect(row(dup)).toMatchObject({ outcome: 'skipped', matched_by: by });
      expect(row(dup).record_id).toBe(row(1).record_id);
    }
    expect(row(5)).toMatchObject({ outcome: 'created', matched_by: null });
    // Vandelay has Globex's phone: skipped as Globex, and listed as a conflicting match.
    expect(row(7).problems.map((p) => p.code)).toEqual(['conflicting_match']);
    const company = async (n: number) =>
      (await org.admin.client.get(`/api/v1/companies/${row(n).record_id}`)).body;
    expect((await company(1)).domain).toBe('globex.example');
    expect((await company(2)).parent_id).toBe(row(1).record_id);
    expect((await company(3)).parent_id).toBe(row(6).record_id);
    expect((await company(6)).parent_id).toBe(row(1).record_id);
    expect((await company(8)).parent_id).toBeNull();
    expect(row(8).problems.map((p) => p.code)).toEqual(['unknown_parent']);
    expect(row(3).problems).toEqual([]);
  });

  it('updates matched companies in file order, refuses a parent that makes a cycle (also one made earlier in the file); undo restores', async () => {
    const first = await uploadCsv(
      org.t,
      org.admin.client,
      'company',
      'groups.csv',
      'ID,Name,Domain,Parent Company,Industry\ng-1,Globex Group,globex-group.example,,\ng-2,Initech Group,initech-group.example,Globex Group,\ng-3,Hooli Group,hooli-group.example,,\n',
    );
    await org.admin.client.post(`/api/v1/imports/${first.body.id}/start`);
    expect((await waitForImport(org.t, org.admin.client, first.body.id)).progress).toMatchObject({
      created: 3,
    });
    const ids = Object.fromEntries(
      (await org.admin.client.get(`/api/v1/imports/${first.body.id}/rows`)).body.data.map(
        (r: { row_number: number; record_id: string }) => [r.row_number, r.record_id],
      ),
    );
    const [globex, initech, hooli] = [ids[1], ids[2], ids[3]];

    const csv = [
      'ID,Name,Domain,Parent Company,Industry',
      'g-1,Globex Group,,Initech Group,Energy', // Initech's parent is Globex: a cycle
      'g-3,Hooli Group,,Globex Group,Software',
      'g-3,Hooli Group,,,Hardware', // the same company again: overwrites the row before
      'g-2,Initech Group,,Hooli Group,', // Hooli -> Globex: no cycle
      'g-1,Globex Group,,Hooli Group,', // Hooli's parent is Globex since row 2: a cycle
    ].join('\n');
    const up = await uploadCsv(org.t, org.admin.client, 'company', 'groups-again.csv', `${csv}\n`);
    await org.admin.client.patch(`/api/v1/imports/${up.body.id}`, { dedup: 'overwrite' });
    await org.admin.client.post(`/api/v1/imports/${up.body.id}/start`);
    expect((await waitForImport(org.t, org.admin.client, up.body.id)).progress).toMatchObject({
      created: 0,
      updated: 3,
      failed: 2,
    });
    const rows = (await org.admin.client.get(`/api/v1/imports/${up.body.id}/rows`)).body.data;
    const codes = (n: number) =>
      rows
        .find((r: { row_number: number }) => r.row_number === n)
        .problems.map((p: { code: string }) => p.code);
    expect(codes(1)).toEqual(['parent_cycle']);
    expect(codes(5)).toEqual(['parent_cycle']);
    const get = async (id: string) => (await org.admin.client.get(`/api/v1/companies/${id}`)).body;
    expect(await get(globex)).toMatchObject({ parent_id: null, industry: null });
    expect(await get(hooli)).toMatchObject({ parent_id: globex, industry: 'Hardware' });
    expect(await get(initech)).toMatchObject({ parent_id: hooli });
    const types = (await importEvents(up.body.id)).map((e) => e.type);
    expect(types).toEqual(['company.updated', 'company.updated', 'company.updated']);

    await org.admin.client.post(`/api/v1/imports/${up.body.id}/revert`);
    expect((await waitForImport(org.t, org.admin.client, up.body.id)).status).toBe('reverted');
    expect(await get(hooli)).toMatchObject({ parent_id: null, industry: null });
    expect(await get(initech)).toMatchObject({ parent_id: globex });
  });

  it('updates tasks matched by external id as the mode says, and undo puts them back', async () => {
    const first = await uploadCsv(
      org.t,
      org.admin.client,
      'task',
      'tasks-v1.csv',
      'Task Id,Subject,Due Date,Priority\nT-1,Renew contract,2031-01-10,Low\nT-2,Plan kickoff,,\n',
    );
    await org.admin.client.post(`/api/v1/imports/${first.body.id}/start`);
    expect((await waitForImport(org.t, org.admin.client, first.body.id)).progress).toMatchObject({
      created: 2,
    });
    const ids = (await org.admin.client.get(`/api/v1/imports/${first.body.id}/rows`)).body.data.map(
      (r: { record_id: string }) => r.record_id,
    );

    // update_empty fills T-2's due day and leaves T-1 as it is; overwrite then changes T-1.
    const fill = await uploadCsv(
      org.t,
      org.admin.client,
      'task',
      'tasks-v2.csv',
      'Task Id,Subject,Due Date,Priority\nT-1,Renew the contract,2031-02-01,High\nT-2,Plan kickoff,2031-03-01,\n',
    );
    await org.admin.client.patch(`/api/v1/imports/${fill.body.id}`, { dedup: 'update_empty' });
    await org.admin.client.post(`/api/v1/imports/${fill.body.id}/start`);
    expect((await waitForImport(org.t, org.admin.client, fill.body.id)).progress).toMatchObject({
      updated: 1,
      skipped: 1,
    });
    expect((await org.admin.client.get(`/api/v1/tasks/${ids[1]}`)).body.due_date).toBe('2031-03-01');
    expect((await org.admin.client.get(`/api/v1/tasks/${ids[0]}`)).body.title).toBe('Renew contract');

    const over = await uploadCsv(
      org.t,
      org.admin.client,
      'task',
      'tasks-v3.csv',
      'Task Id,Subject,Due Date,Priority\nT-1,Renew the contract,2031-02-01,High\n',
    );
    await org.admin.client.patch(`/api/v1/imports/${over.body.id}`, { dedup: 'overwrite' });
    await org.admin.client.post(`/api/v1/imports/${over.body.id}/start`);
    expect((await waitForImport(org.t, org.admin.client, over.body.id)).progress).toMatchObject({
      updated: 1,
    });
    expect((await org.admin.client.get(`/api/v1/tasks/${ids[0]}`)).body).toMatchObject({
      title: 'Renew the contract',
      due_date: '2031-02-01',
      priority: 'high',
    });

    await org.admin.client.post(`/api/v1/imports/${over.body.id}/revert`);
    expect((await waitForImport(org.t, org.admin.client, over.body.id)).status).toBe('reverted');
    expect((await org.admin.client.get(`/api/v1/tasks/${ids[0]}`)).body).toMatchObject({
      title: 'Renew contract',
      due_date: '2031-01-10',
      priority: 'low',
      archived_at: null,
    });
  });

  it('replaces the text of notes matched by external id in overwrite mode only, and undo puts it back', async () => {
    const contact = await org.admin.client.post('/api/v1/contacts', {
      first_name: 'Grace',
      emails: [{ value: 'grace@notes-update.example' }],
    });
    const run = async (name: string, csv: string, dedup?: string) => {
      const up = await uploadCsv(org.t, org.admin.client, 'note', name, csv);
      expect(up.body.mapping.map((m: { target: string }) => m.target)).toEqual([
        'external_id',
        'body',
        'contact',
      ]);
      if (dedup) await org.admin.client.patch(`/api/v1/imports/${up.body.id}`, { dedup });
      await org.admin.client.post(`/api/v1/imports/${up.body.id}/start`);
      return { id: up.body.id as string, done: await waitForImport(org.t, org.admin.client, up.body.id) };
    };
    const notesOf = async () =>
      (await org.admin.client.get(`/api/v1/notes?object=contact&id=${contact.body.id}`)).body.data
        .map((n: { body_text: string }) => n.body_text)
        .sort();
    const header = 'Note Id,Note,Contact\n';
    const first = await run(
      'notes-v1.csv',
      `${header}N-1,Likes COBOL,grace@notes-update.example\nN-2,Navy,grace@notes-update.example\n`,
    );
    expect(first.done.progress).toMatchObject({ created: 2 });

    // A note's text is never empty: update_empty has nothing to fill.
    const fill = await run(
      'notes-v2.csv',
      `${header}N-1,Likes compilers,grace@notes-update.example\n`,
      'update_empty',
    );
    expect(fill.done.progress).toMatchObject({ created: 0, updated: 0, skipped: 1 });
    expect(await notesOf()).toEqual(['Likes COBOL', 'Navy']);

    const over = await run(
      'notes-v3.csv',
      `${header}N-1,Likes compilers,grace@notes-update.example\nN-2,Navy,grace@notes-update.example\n`,
      'overwrite',
    );
    expect(over.done.progress).toMatchObject({ created: 0, updated: 1, skipped: 1 });
    expect(await notesOf()).toEqual(['Likes compilers', 'Navy']);
    const updated = (await org.admin.client.get(`/api/v1/imports/${over.id}/rows?outcome=updated`)).body.data;
    expect(updated).toHaveLength(1);
    expect(updated[0].row_number).toBe(1);

    await org.admin.client.post(`/api/v1/imports/${over.id}/revert`);
    expect((await waitForImport(org.t, org.admin.client, over.id)).status).toBe('reverted');
    expect(await notesOf()).toEqual(['Likes COBOL', 'Navy']);
  });

  it('writes the error report with row, column, reason and formula-neutralized cells', async () => {
    const csv = 'First Name,Email,Phone\n=cmd|calc,bad-email,-2237\n,,\n';
    const up = await uploadCsv(org.t, org.admin.client, 'contact', 'errors.csv', csv);
    await org.admin.client.patch(`/api/v1/imports/${up.body.id}`, { options: { invalid_cells: 'fail_row' } });
    await org.admin.client.post(`/api/v1/imports/${up.body.id}/start`);
    const done = await waitForImport(org.t, org.admin.client, up.body.id);
    expect(done.progress.failed).toBe(2);
    const report = await org.admin.client.get(`/api/v1/imports/${up.body.id}/errors.csv`);
    expect(report.headers['content-type']).toMatch(/text\/csv/);
    const lines = report.text.trim().split('\n');
    expect(lines[0]).toBe('row,outcome,column,code,reason,First Name,Email,Phone');
    expect(lines.some((l) => l.startsWith('1,failed,Email,invalid_email'))).toBe(true);
    expect(
      lines.some(
        (l) =>
          l.startsWith('1,failed,Phone,spreadsheet_mangled') &&
          l.includes("'=cmd|calc") &&
          l.includes("'-2237"),
      ),
    ).toBe(true);
    expect(lines.some((l) => l.startsWith('2,failed,,required'))).toBe(true);
  });
});

describe('saved mappings and custom fields from columns', () => {
  /** A multi-select custom field the tests below create. */
  const REGIONS = {
    label: 'Regions',
    type: 'multi_select',
    options: [
      { value: 'emea', label: 'EMEA' },
      { value: 'apac', label: 'APAC' },
    ],
  };

  it('creates a custom field from an unmapped column and reuses a saved mapping', async () => {
    const csv = 'Email,Favourite Colour\nc1@example.com,Blue\nc2@example.com,Green\n';
    const up = await uploadCsv(org.t, org.admin.client, 'contact', 'colours.csv', csv);
    expect(up.body.mapping[1].target).toBeNull();
    const mapped = await org.admin.client.post(`/api/v1/imports/${up.body.id}/columns/1/field`, {
      type: 'select',
    });
    expect(mapped.status, mapped.text).toBe(200);
    expect(mapped.body.mapping[1].target).toBe('custom.favourite_colour');
    const saved = await org.admin.client.post('/api/v1/import-mappings', {
      name: 'Colours',
      import_id: up.body.id,
    });
    expect(saved.status, saved.text).toBe(201);
    const next = await uploadCsv(
      org.t,
      org.admin.client,
      'contact',
      'colours2.csv',
      'EMAIL,favourite colour\nc3@example.com,Red\n',
      `&mapping_id=${saved.body.id}`,
    );
    expect(next.body.mapping.map((m: { target: string }) => m.target)).toEqual([
      'email',
      'custom.favourite_colour',
    ]);
    const preview = await org.admin.client.get(`/api/v1/imports/${next.body.id}/preview`);
    expect(preview.body.rows[0].problems[0]).toMatchObject({ code: 'unknown_option', value: 'Red' });
  });

  it('stores a cell in a custom field of every type as the field keeps it', async () => {
    const own = await signUp(org.t, 'Every type');
    const fields = [
      { label: 'Motto', type: 'text' },
      { label: 'Story', type: 'long_text' },
      { label: 'Score', type: 'number' },
      { label: 'Budget', type: 'currency' },
      { label: 'Founded on', type: 'date' },
      { label: 'Last audit', type: 'datetime' },
      { label: 'Audited', type: 'boolean' },
      { label: 'Tier', type: 'select', options: [{ value: 'gold', label: 'Gold' }] },
      REGIONS,
      { label: 'Hotline', type: 'phone' },
      { label: 'Billing e-mail', type: 'email' },
      { label: 'Portal', type: 'url' },
    ];
    for (const field of fields) {
      const made = await own.client.post('/api/v1/objects/contact/fields', field);
      expect(made.status, made.text).toBe(201);
    }
    const csv = [
      `Email,${fields.map((f) => f.label).join(',')}`,
      `every@type.example,Be kind,Long story,42,"EUR 1,250.50",2020-03-01,2024-05-06T07:08:09Z,yes,Gold,EMEA;APAC,+44 20 7946 0958,Billing@Type.example,type.example/portal`,
      'usd@type.example,,,,$99,,,,,,,,',
      'wrong@type.example,,,,EUR 5 GBP,,,,,,,,',
      `long@type.example,${'m'.repeat(501)},,,,,,,,,,,`,
    ].join('\n');
    const up = await uploadCsv(org.t, own.client, 'contact', 'types.csv', csv);
    expect(up.body.mapping.slice(1).map((m: { target: string | null }) => m.target)).toEqual(
      fields.map((f) => `custom.${f.label.toLowerCase().replace(/[^a-z]+/g, '_')}`),
    );
    const preview = await own.client.get(`/api/v1/imports/${up.body.id}/preview`);
    const amountProblem = expect.objectContaining({
      column: 'Budget',
      code: 'invalid_amount',
      value: 'EUR 5 GBP',
    });
    const tooLong = expect.objectContaining({
      column: 'Motto',
      code: 'too_long',
      message: 'At most 500 characters',
    });
    expect(preview.body.rows.map((r: { problems: unknown[] }) => r.problems)).toEqual([
      [],
      [],
      [amountProblem],
      [tooLong],
    ]);
    await own.client.post(`/api/v1/imports/${up.body.id}/start`);
    const done = await waitForImport(org.t, own.client, up.body.id);
    const rows = (await own.client.get(`/api/v1/imports/${up.body.id}/rows?limit=10`)).body.data;
    expect(rows.map((r: { problems: unknown[] }) => r.problems)).toEqual([
      [],
      [],
      [amountProblem],
      [tooLong],
    ]);
    expect(done.progress).toMatchObject({ created: 4, failed: 0 });
    const contacts = (await own.client.get('/api/v1/contacts?sort=email')).body.data;
    expect(contacts.map((c: { custom: object }) => c.custom)).toEqual([
      {
        motto: 'Be kind',
        story: 'Long story',
        score: 42,
        budget: { amount: 1250.5, currency: 'EUR' },
        founded_on: '2020-03-01',
        last_audit: '2024-05-06T07:08:09.000Z',
        audited: true,
        tier: 'gold',
        regions: ['emea', 'apac'],
        hotline: { e164: '+442079460958', raw: '+44 20 7946 0958' },
        billing_e_mail: 'billing@type.example',
        portal: 'https://type.example/portal',
      },
      {},
      { budget: { amount: 99, currency: 'USD' } },
      {},
    ]);
  });

  it('update_empty keeps a contact’s multi-select options and adds phones and tags without removing any', async () => {
    const own = await signUp(org.t, 'Fill only empty');
    expectStatus(await own.client.post('/api/v1/objects/contact/fields', REGIONS), 201);
    const first = await importFile(
      own.client,
      'contact',
      'regions.csv',
      'Email,Phone,Regions,Tags\nset@fill.example,+1 757 555 0101,EMEA,vip\nempty@fill.example,,,\n',
      'skip',
    );
    expect(first.progress).toMatchObject({ created: 2, failed: 0 });
    const second = await importFile(
      own.client,
      'contact',
      'regions-2.csv',
      'Email,Phone,Regions,Tags\nset@fill.example,+1 757 555 0102,APAC,lead\nempty@fill.example,,APAC;EMEA,lead\n',
      'update_empty',
    );
    expect(second.progress).toMatchObject({ updated: 2, failed: 0 });
    const contacts = (await own.client.get('/api/v1/contacts?sort=email')).body.data as {
      email: string;
      phones: { e164: string }[];
      tags: string[];
      custom: { regions?: string[] };
    }[];
    expect(
      contacts.map((c) => ({
        email: c.email,
        phones: c.phones.map((p) => p.e164).sort(),
        regions: c.custom.regions,
        tags: [...c.tags].sort(),
      })),
    ).toEqual([
      { email: 'empty@fill.example', phones: [], regions: ['apac', 'emea'], tags: ['lead'] },
      {
        email: 'set@fill.example',
        phones: ['+17575550101', '+17575550102'],
        regions: ['emea'],
        tags: ['lead', 'vip'],
      },
    ]);
  });

  it('imports a CSV exported by Cairn back: into another organization, and over changed contacts', async () => {
    const fields = [
      { label: 'Budget', type: 'currency' },
      { label: 'Hotline', type: 'phone' },
      REGIONS,
      { label: 'Referrer', type: 'user' },
    ];
    const [from, to] = [await signUp(org.t, 'Exporter'), await signUp(org.t, 'Importer')];
    for (const org of [from, to])
      for (const field of fields)
        expect((await org.client.post('/api/v1/objects/contact/fields', field)).status).toBe(201);
    const values = {
      first_name: 'Ana',
      last_name: 'Round',
      tags: ['vip', 'lead'],
      custom: {
        budget: { amount: 1250.5, currency: 'EUR' },
        hotline: '+44 20 7946 0958',
        regions: ['emea', 'apac'],
        referrer: from.userId,
      },
    };
    const ana = await from.client.post('/api/v1/contacts', {
      ...values,
      emails: [{ value: 'ana@round.example' }, { value: 'ana.round@round.example' }],
      phones: [{ number: '+1 415 555 0101' }, { number: '+1 415 555 0102 ext. 12' }],
    });
    expect(ana.status, ana.text).toBe(201);
    const exported = await org.t.app.inject({
      method: 'GET',
      url: '/api/v1/contacts/export?format=csv&fields=first_name,last_name,emails,phones,tags,budget,hotline,regions,referrer',
      headers: { cookie: from.client.cookieHeader },
    });
    expect(exported.statusCode).toBe(200);
    const kept = (c: Record<string, unknown>) => ({
      first_name: c.first_name,
      last_name: c.last_name,
      emails: (c.emails as { value: string }[]).map((e) => e.value),
      phones: (c.phones as { e164: string }[]).map((p) => p.e164),
      tags: [...(c.tags as string[])].sort(),
      // Phones are exported in E.164: the number comes back, its formatting as typed does not.
      custom: { ...(c.custom as object), hotline: (c.custom as { hotline: { e164: string } }).hotline.e164 },
    });
    const expected = kept((await from.client.get(`/api/v1/contacts/${ana.body.id}`)).body);
    expect(expected.phones).toEqual(['+14155550101', '+14155550102;ext=12']);

    const importInto = async (org: typeof from, dedup: string) => {
      const { progress, rows } = await importFile(
        org.client,
        'contact',
        'export.csv',
        exported.rawPayload,
        dedup,
      );
      return { progress, problems: rows[0].problems };
    };

    // Into another organization: the same contact, but the referrer is no member there.
    const elsewhere = await importInto(to, 'skip');
    expect(elsewhere.progress).toMatchObject({ created: 1, failed: 0 });
    expect(elsewhere.problems.map((p: { code: string }) => p.code)).toEqual(['unknown_member']);
    const copy = (await to.client.get('/api/v1/contacts')).body.data[0];
    const { referrer: _, ...otherCustom } = expected.custom as Record<string, unknown>;
    expect(kept(copy)).toEqual({ ...expected, custom: otherCustom });

    // Over the same contact after it changed: overwrite puts the exported values back.
    const changed = await from.client.patch(`/api/v1/contacts/${ana.body.id}`, {
      last_name: 'Changed',
      tags: ['cold'],
      custom: {
        budget: { amount: 1, currency: 'USD' },
        hotline: '+1 212 555 0100',
        regions: ['apac'],
        referrer: null,
      },
    });
    expect(changed.status, changed.text).toBe(200);
    const back = await importInto(from, 'overwrite');
    // Its name changed since the export: matched by e-mail, the rename back is listed.
    expect(back).toEqual({
      progress: expect.objectContaining({ updated: 1, failed: 0 }),
      problems: [expect.objectContaining({ code: 'conflicting_match', value: 'Ana Round' })],
    });
    const restored = kept((await from.client.get(`/api/v1/contacts/${ana.body.id}`)).body);
    expect({ ...restored, tags: restored.tags.filter((x) => x !== 'cold') }).toEqual(expected);
  });

  it('fails a new row that leaves a required custom field empty; a member field stores the member named', async () => {
    const own = await signUp(org.t, 'Required fields');
    for (const field of [
      { label: 'Region', type: 'text', required: true },
      { label: 'Referrer', type: 'user' },
    ])
      expect((await own.client.post('/api/v1/objects/contact/fields', field)).status).toBe(201);
    const csv = [
      'Email,Region,Referrer',
      `r1@req.example,North,${own.email.toUpperCase()}`,
      `r2@req.example,,${own.email}`,
      'r3@req.example,South,',
      'r4@req.example,East,Nobody Known',
    ].join('\n');
    const up = await uploadCsv(org.t, own.client, 'contact', 'required.csv', csv);
    expect(up.body.mapping.map((m: { target: string }) => m.target)).toEqual([
      'email',
      'custom.region',
      'custom.referrer',
    ]);
    await own.client.post(`/api/v1/imports/${up.body.id}/start`);
    const done = await waitForImport(org.t, own.client, up.body.id);
    expect(done.progress).toMatchObject({ created: 3, failed: 1 });
    const rows = (await own.client.get(`/api/v1/imports/${up.body.id}/rows?limit=10`)).body.data;
    expect(rows[1]).toMatchObject({ row_number: 2, outcome: 'failed', record_id: null });
    expect(rows[1].problems.map((p: { message: string }) => p.message)).toContain('Region is required');
    expect(rows[3]).toMatchObject({ row_number: 4, outcome: 'created' });
    expect(rows[3].problems).toEqual([
      expect.objectContaining({ column: 'Referrer', code: 'unknown_member', value: 'Nobody Known' }),
    ]);
    const contacts = (await own.client.get('/api/v1/contacts?sort=email')).body.data;
    expect(contacts.map((c: { email: string; custom: object }) => [c.email, c.custom])).toEqual([
      ['r1@req.example', { region: 'North', referrer: own.userId }],
      ['r3@req.example', { region: 'South' }],
      ['r4@req.example', { region: 'East' }],
    ]);
  });
});

describe('tasks and notes', () => {
  it('writes tasks and notes a batch at a time, with the outcome each row would have alone', async () => {
    const kept = await org.admin.client.post('/api/v1/contacts', {
      first_name: 'Kept',
      emails: [{ value: 'kept@batch.example' }],
    });
    const gone = await org.admin.client.post('/api/v1/contacts', {
      first_name: 'Gone',
      emails: [{ value: 'gone@batch.example' }],
    });
    expect((await org.admin.client.post(`/api/v1/contacts/${gone.body.id}/archive`)).status).toBe(200);
    // Batches of 3: an external id repeated in the next batch is found through the carried keys.
    const tasksCsv = [
      'Title,Priority,Contact,Id',
      'First,high,kept@batch.example,t-1',
      'Again,,kept@batch.example,t-1', // row 2: the same batch
      'Someday,someday,kept@batch.example,t-2', // row 3: not a priority
      'Third,,nobody@batch.example,t-3', // row 4: no such contact: not linked
      'Once more,,kept@batch.example,t-3', // row 5: the previous batch
      'Archived,,gone@batch.example,t-4', // row 6: an archived contact
    ].join('\n');
    const up = await uploadCsv(org.t, org.admin.client, 'task', 'batch-tasks.csv', `${tasksCsv}\n`);
    await queueWithoutJob(up.body.id);
    expect(await runImport(org.t.services, org.admin.orgId, up.body.id, { batchRows: 3 })).toBe('completed');
    const rows = (await org.admin.client.get(`/api/v1/imports/${up.body.id}/rows?limit=50`)).body.data as {
      row_number: number;
      outcome: string;
      record_id: string | null;
      problems: { code: string; message: string }[];
    }[];
    const row = (n: number) => rows.find((r) => r.row_number === n)!;
    expect(rows.map((r) => r.outcome)).toEqual([
      'created',
      'skipped',
      'created',
      'created',
      'skipped',
      'created',
    ]);
    expect(row(2).record_id).toBe(row(1).record_id);
    expect(row(5).record_id).toBe(row(4).record_id);
    expect(row(3).problems[0]).toMatchObject({ code: 'unknown_option', value: 'someday' });
    expect((await org.admin.client.get(`/api/v1/tasks/${row(3).record_id}`)).body.priority).toBe('normal');
    expect(row(4).problems[0]).toMatchObject({ code: 'unknown_contact' });
    // An archived contact is not found by its e-mail: the task is not linked to it.
    expect(row(6).problems[0]).toMatchObject({ code: 'unknown_contact', value: 'gone@batch.example' });
    expect((await org.admin.client.get(`/api/v1/tasks/${row(6).record_id}`)).body.link).toBeNull();
    const first = (await org.admin.client.get(`/api/v1/tasks/${row(1).record_id}`)).body;
    expect(first).toMatchObject({
      title: 'First',
      priority: 'high',
      link: { object: 'contact', id: kept.body.id },
    });
    expect((await org.admin.client.get(`/api/v1/tasks/${row(4).record_id}`)).body.link).toBeNull();
    const timeline = (await org.admin.client.get(`/api/v1/contacts/${kept.body.id}/timeline`)).body.data as {
      type: string;
      actor: { type: string };
    }[];
    expect(timeline.filter((e) => e.type === 'task.created')).toHaveLength(2);
    expect(timeline.find((e) => e.type === 'task.created')!.actor.type).toBe('import');

    const notesCsv = [
      'Note,Contact,Id',
      '"Line one\nLine <two>",kept@batch.example,n-1',
      ',kept@batch.example,n-2', // row 2: no text
      'On nobody,nobody@batch.example,n-3', // row 3: a note must be on a record
      'Replaced?,kept@batch.example,n-1', // row 4: the previous batch (skip mode)
      `${'x'.repeat(25_000)},kept@batch.example,n-5`, // row 5: longer than a note holds
    ].join('\n');
    const notes = await uploadCsv(org.t, org.admin.client, 'note', 'batch-notes.csv', `${notesCsv}\n`);
    await queueWithoutJob(notes.body.id);
    expect(await runImport(org.t.services, org.admin.orgId, notes.body.id, { batchRows: 3 })).toBe(
      'completed',
    );
    const noteRows = (await org.admin.client.get(`/api/v1/imports/${notes.body.id}/rows?limit=50`)).body
      .data as {
      outcome: string;
      record_id: string | null;
      problems: { code: string }[];
    }[];
    expect(noteRows.map((r) => r.outcome)).toEqual(['created', 'failed', 'failed', 'skipped', 'failed']);
    expect(noteRows[4]!.problems.map((p) => p.code)).toEqual(['note_too_long']);
    expect(noteRows[3]!.record_id).toBe(noteRows[0]!.record_id);
    expect(noteRows[2]!.problems.map((p) => p.code)).toEqual(['unknown_contact', 'required']);
    const list = (await org.admin.client.get(`/api/v1/notes?object=contact&id=${kept.body.id}`)).body.data;
    expect(list.map((n: { body_html: string }) => n.body_html)).toEqual([
      '<p>Line one</p><p>Line &lt;two&gt;</p>',
    ]);
  });

  it('updates matched tasks and notes a batch at a time, with the outcome each row would have alone; undo puts them back', async () => {
    const first = await uploadCsv(
      org.t,
      org.admin.client,
      'task',
      'bulk-tasks-v1.csv',
      'Id,Title,Due Date,Priority\nu-1,Call,2031-01-10,low\nu-2,Mail,,\nu-3,Visit,,\nu-4,Fax,,\nu-5,Wire,,\n',
    );
    await org.admin.client.post(`/api/v1/imports/${first.body.id}/start`);
    expect((await waitForImport(org.t, org.admin.client, first.body.id)).progress).toMatchObject({
      created: 5,
    });
    const ids = (await org.admin.client.get(`/api/v1/imports/${first.body.id}/rows`)).body.data.map(
      (r: { record_id: string }) => r.record_id,
    ) as string[];
    expect((await org.admin.client.delete(`/api/v1/tasks/${ids[3]}`)).status).toBe(200); // u-4 archived

    // Batches of 3, overwrite.
    const tasksCsv = [
      'Id,Title,Due Date,Priority,Assignee',
      'u-1,Call back,2031-02-01,high,', // row 1: title, due day and priority change
      'u-2,Mail,,,', // row 2: nothing changes: skipped
      'u-3,Visit,,,Nobody Known', // row 3: an unknown assignee: reported, the importer assigned
      'u-4,Fax again,,,', // row 4: its task archived: a new one
      'u-5,Wire once,,,', // row 5: u-5 twice in one batch: both in file order
      'u-5,Wire twice,,urgent,', // row 6
    ].join('\n');
    const up = await uploadCsv(org.t, org.admin.client, 'task', 'bulk-tasks-v2.csv', `${tasksCsv}\n`);
    await org.admin.client.patch(`/api/v1/imports/${up.body.id}`, { dedup: 'overwrite' });
    await queueWithoutJob(up.body.id);
    expect(await runImport(org.t.services, org.admin.orgId, up.body.id, { batchRows: 3 })).toBe('completed');
    const rows = (await org.admin.client.get(`/api/v1/imports/${up.body.id}/rows?limit=50`)).body.data as {
      row_number: number;
      outcome: string;
      record_id: string | null;
      problems: { code: string }[];
    }[];
    expect(rows.map((r) => r.outcome)).toEqual([
      'updated',
      'skipped',
      'skipped',
      'created',
      'updated',
      'updated',
    ]);
    expect(rows.map((r) => r.record_id)).toEqual([
      ids[0],
      ids[1],
      ids[2],
      rows[3]!.record_id,
      ids[4],
      ids[4],
    ]);
    expect(rows[3]!.record_id).not.toBe(ids[3]);
    expect(rows[2]!.problems.map((p) => p.code)).toEqual(['unknown_assignee']);
    expect((await org.admin.client.get(`/api/v1/tasks/${rows[3]!.record_id}`)).body.title).toBe('Fax again');
    const task = async (id: string) => (await org.admin.client.get(`/api/v1/tasks/${id}`)).body;
    expect(await task(ids[0]!)).toMatchObject({
      title: 'Call back',
      due_date: '2031-02-01',
      priority: 'high',
    });
    expect(await task(ids[4]!)).toMatchObject({ title: 'Wire twice', priority: 'urgent' });
    const updates = (await importEvents(up.body.id)).filter((e) => e.type === 'task.updated');
    expect(updates.map((e) => e.subjectId).sort()).toEqual([ids[0], ids[4], ids[4]].sort());

    await org.admin.client.post(`/api/v1/imports/${up.body.id}/revert`);
    expect((await waitForImport(org.t, org.admin.client, up.body.id)).status).toBe('reverted');
    expect(await task(ids[0]!)).toMatchObject({ title: 'Call', due_date: '2031-01-10', priority: 'low' });
    expect(await task(ids[4]!)).toMatchObject({ title: 'Wire', priority: 'normal' });

    const contact = await org.admin.client.post('/api/v1/contacts', {
      first_name: 'Noted',
      emails: [{ value: 'noted@bulk-update.example' }],
    });
    const firstNotes = await uploadCsv(
      org.t,
      org.admin.client,
      'note',
      'bulk-notes-v1.csv',
      'Id,Note,Contact\nm-1,One,noted@bulk-update.example\nm-2,Two,noted@bulk-update.example\n',
    );
    await org.admin.client.post(`/api/v1/imports/${firstNotes.body.id}/start`);
    expect((await waitForImport(org.t, org.admin.client, firstNotes.body.id)).progress).toMatchObject({
      created: 2,
    });
    const notesCsv = [
      'Id,Note,Contact',
      'm-1,One <b>changed</b>,noted@bulk-update.example', // row 1: replaced
      'm-2,Two,noted@bulk-update.example', // row 2: the same text: skipped
      `m-3,${'x'.repeat(25_000)},noted@bulk-update.example`, // row 3: longer than a note holds
    ].join('\n');
    const notes = await uploadCsv(org.t, org.admin.client, 'note', 'bulk-notes-v2.csv', `${notesCsv}\n`);
    await org.admin.client.patch(`/api/v1/imports/${notes.body.id}`, { dedup: 'overwrite' });
    await queueWithoutJob(notes.body.id);
    expect(await runImport(org.t.services, org.admin.orgId, notes.body.id, { batchRows: 3 })).toBe(
      'completed',
    );
    const noteRows = (await org.admin.client.get(`/api/v1/imports/${notes.body.id}/rows?limit=50`)).body
      .data as {
      outcome: string;
      problems: { code: string }[];
    }[];
    expect(noteRows.map((r) => r.outcome)).toEqual(['updated', 'skipped', 'failed']);
    expect(noteRows[2]!.problems.map((p) => p.code)).toEqual(['note_too_long']);
    const texts = async () =>
      (await org.admin.client.get(`/api/v1/notes?object=contact&id=${contact.body.id}`)).body.data
        .map((n: { body_html: string }) => n.body_html)
        .sort();
    expect(await texts()).toEqual(['<p>One &lt;b&gt;changed&lt;/b&gt;</p>', '<p>Two</p>']);
    const noteEvents = await importEvents(notes.body.id);
    expect(noteEvents.map((e) => e.type)).toEqual(['note.updated']);
    await org.admin.client.post(`/api/v1/imports/${notes.body.id}/revert`);
    expect((await waitForImport(org.t, org.admin.client, notes.body.id)).status).toBe('reverted');
    expect(await texts()).toEqual(['<p>One</p>', '<p>Two</p>']);
  });

  it('imports tasks and notes linked to existing records by e-mail, name or external id; revert removes them', async () => {
    const contact = await org.admin.client.post('/api/v1/contacts', {
      first_name: 'Linus',
      emails: [{ value: 'linus@tasks.example' }],
    });
    const company = await org.admin.client.post('/api/v1/companies', { name: 'Tasks Corp' });
    const tasksCsv =
      'Subject,Due Date,Priority,Assigned To,Contact,Account\n' +
      `Call Linus,2030-05-01,High,${org.admin.email},linus@tasks.example,\n` +
      'Send contract,5/2/2030,,Nobody Here,,Tasks Corp\n' +
      ',2030-05-03,,,,\n';
    const up = await uploadCsv(org.t, org.admin.client, 'task', 'tasks.csv', tasksCsv);
    expect(up.body.mapping.map((m: { target: string }) => m.target)).toEqual([
      'title',
      'due_date',
      'priority',
      'assignee',
      'contact',
      'company',
    ]);
    await org.admin.client.post(`/api/v1/imports/${up.body.id}/start`);
    const done = await waitForImport(org.t, org.admin.client, up.body.id);
    expect(done.progress).toMatchObject({ created: 2, failed: 1 });
    const rows = (await org.admin.client.get(`/api/v1/imports/${up.body.id}/rows`)).body.data;
    const call = (await org.admin.client.get(`/api/v1/tasks/${rows[0].record_id}`)).body;
    expect(call).toMatchObject({ title: 'Call Linus', priority: 'high', assignee_id: org.admin.userId });
    expect(call.link).toEqual({ object: 'contact', id: contact.body.id });
    const contract = (await org.admin.client.get(`/api/v1/tasks/${rows[1].record_id}`)).body;
    expect(contract.link).toEqual({ object: 'company', id: company.body.id });
    expect(rows[1].problems[0]).toMatchObject({ column: 'Assigned To', code: 'unknown_assignee' });

    const notes = await uploadCsv(
      org.t,
      org.admin.client,
      'note',
      'notes.csv',
      'Note,Contact\n"Met at <b>FOSDEM</b>\nLikes kernels",Linus\n',
    );
    await org.admin.client.post(`/api/v1/imports/${notes.body.id}/start`);
    expect((await waitForImport(org.t, org.admin.client, notes.body.id)).progress.created).toBe(1);
    const list = (await org.admin.client.get(`/api/v1/notes?object=contact&id=${contact.body.id}`)).body.data;
    expect(list[0].body_html).toBe('<p>Met at &lt;b&gt;FOSDEM&lt;/b&gt;</p><p>Likes kernels</p>');

    await org.admin.client.post(`/api/v1/imports/${up.body.id}/revert`);
    expect((await waitForImport(org.t, org.admin.client, up.body.id)).status).toBe('reverted');
    expect(
      (await org.admin.client.get(`/api/v1/tasks/${rows[0].record_id}`)).body.archived_at,
    ).not.toBeNull();
    await org.admin.client.post(`/api/v1/imports/${notes.body.id}/revert`);
    await waitForImport(org.t, org.admin.client, notes.body.id);
    expect(
      (await org.admin.client.get(`/api/v1/notes?object=contact&id=${contact.body.id}`)).body.data,
    ).toEqual([]);
  });
});

describe('files exported by Cairn', () => {
  const exportCsv = async (by: { client: Client }, collection: string, fields: string) =>
    (
      await org.t.app.inject({
        method: 'GET',
        url: `/api/v1/${collection}/export?format=csv&fields=${fields}`,
        headers: { cookie: by.client.cookieHeader },
      })
    ).rawPayload;
  const run = (org: { client: Client }, object: string, file: Buffer, dedup = 'skip') =>
    importFile(org.client, object, `${object}.csv`, file, dedup);

  it('keep a company hierarchy in another organization, and match their records by id in place', async () => {
    const [from, to] = [await signUp(org.t, 'Group exporter'), await signUp(org.t, 'Group importer')];
    const holding = await from.client.post('/api/v1/companies', { name: 'Holding AG' });
    await from.client.post('/api/v1/companies', { name: 'Sub GmbH', parent_id: holding.body.id });
    const companies = await exportCsv(from, 'companies', 'id,name,parent_id,owner_id');

    // Elsewhere the ids become external ids, so the subsidiary finds its parent.
    const elsewhere = await run(to, 'company', companies);
    expect(elsewhere.mapping).toEqual(['external_id', 'name', 'parent_company', 'owner']);
    expect(elsewhere.progress).toMatchObject({ created: 2, failed: 0 });
    const copied = (await to.client.get('/api/v1/companies?sort=name')).body.data;
    expect(copied.map((c: { name: string }) => c.name)).toEqual(['Holding AG', 'Sub GmbH']);
    expect(copied[1].parent_id).toBe(copied[0].id);

    // In place, a deal's export matches the deal by its id: overwrite puts its title back.
    const deal = await from.client.post('/api/v1/opportunities', {
      title: 'Group deal',
      amount: 5000,
      currency: 'EUR',
      company_id: holding.body.id,
    });
    expect(deal.status, deal.text).toBe(201);
    const deals = await exportCsv(
      from,
      'opportunities',
      'id,title,amount,currency,company_id,pipeline_id,stage_id',
    );
    await from.client.patch(`/api/v1/opportunities/${deal.body.id}`, { title: 'Renamed deal' });
    const back = await run(from, 'opportunity', deals, 'overwrite');
    expect(back.mapping).toEqual([
      'external_id',
      'title',
      'amount',
      'currency',
      'company',
      'pipeline',
      'stage',
    ]);
    expect(back.progress).toMatchObject({ created: 0, updated: 1, failed: 0 });
    const restored = (await from.client.get(`/api/v1/opportunities/${deal.body.id}`)).body;
    expect([restored.title, restored.amount, restored.currency]).toEqual(['Group deal', 5000, 'EUR']);
    expect((await from.client.get('/api/v1/opportunities')).body.data).toHaveLength(1);
  });
});

describe('opportunities', () => {
  it('reads an amount with its currency; a Currency column wins, a bare number is in USD', async () => {
    const csv = [
      'Title,Amount,Currency',
      'Euro deal,"€12,000",',
      'Pound deal,GBP 950.5,',
      'Column deal,$300,CAD',
      'Plain deal,1200,',
      'Bad deal,12 EUR GBP,',
    ].join('\n');
    const up = await uploadCsv(org.t, org.admin.client, 'opportunity', 'amounts.csv', csv);
    expect(up.body.mapping.map((m: { target: string }) => m.target)).toEqual(['title', 'amount', 'currency']);
    await org.admin.client.post(`/api/v1/imports/${up.body.id}/start`);
    expect((await waitForImport(org.t, org.admin.client, up.body.id)).progress).toMatchObject({
      created: 5,
      failed: 0,
    });
    const rows = (await org.admin.client.get(`/api/v1/imports/${up.body.id}/rows`)).body.data;
    expect(rows[4].problems).toEqual([
      expect.objectContaining({ column: 'Amount', code: 'invalid_amount', value: '12 EUR GBP' }),
    ]);
    const deals = await Promise.all(
      rows.map(async (r: { record_id: string }) => {
        const o = (await org.admin.client.get(`/api/v1/opportunities/${r.record_id}`)).body;
        return [o.title, o.amount, o.currency];
      }),
    );
    expect(deals).toEqual([
      ['Euro deal', 12000, 'EUR'],
      ['Pound deal', 950.5, 'GBP'],
      ['Column deal', 300, 'CAD'],
      ['Plain deal', 1200, 'USD'],
      ['Bad deal', null, null],
    ]);

    // Overwritten from a bare number, a deal keeps its currency.
    const run = async (body: string, dedup: string) =>
      (await importFile(org.admin.client, 'opportunity', 'again.csv', body, dedup)).rows[0];
    const first = await run('External id,Title,Amount\nAMT-1,Kept euro,"€5,000"\n', 'skip');
    const again = await run('External id,Title,Amount\nAMT-1,Kept euro,7000\n', 'overwrite');
    expect(again).toMatchObject({ outcome: 'updated', record_id: first.record_id });
    const kept = (await org.admin.client.get(`/api/v1/opportunities/${first.record_id}`)).body;
    expect([kept.amount, kept.currency]).toEqual([7000, 'EUR']);
  });

  it("keeps an imported opportunity's first stage in its history after that stage is deleted", async () => {
    const pipeline = await org.admin.client.post('/api/v1/pipelines', {
      name: 'History kept',
      stages: [{ name: 'Intro' }, { name: 'Pilot' }],
    });
    expect(pipeline.status, pipeline.text).toBe(201);
    const [intro, pilot] = pipeline.body.stages.map((s: { id: string }) => s.id);
    const up = await uploadCsv(
      org.t,
      org.admin.client,
      'opportunity',
      'history.csv',
      'Title,Stage\nPilot deal,Pilot\n',
    );
    await org.admin.client.patch(`/api/v1/imports/${up.body.id}`, { options: { pipeline: 'History kept' } });
    await org.admin.client.post(`/api/v1/imports/${up.body.id}/start`);
    expect((await waitForImport(org.t, org.admin.client, up.body.id)).progress).toMatchObject({ created: 1 });
    const [row] = (await org.admin.client.get(`/api/v1/imports/${up.body.id}/rows`)).body.data;
    const deleted = await org.admin.client.delete(
      `/api/v1/pipelines/${pipeline.body.id}/stages/${pilot}?move_to=${intro}`,
    );
    expect(deleted.status, deleted.text).toBe(200);
    const history = (await org.admin.client.get(`/api/v1/opportunities/${row.record_id}/history`)).body.data;
    expect(
      history.map((h: { from_stage: { name: string } | null; to_stage: { name: string } }) => [
        h.from_stage?.name ?? null,
        h.to_stage.name,
      ]),
    ).toEqual([
      [null, 'Pilot'],
      ['Pilot', 'Intro'],
    ]);
  });
});
