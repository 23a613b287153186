import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, launch, newContext, pick, signUpInBrowser, uniqueEmail } from './browser.js';

// Real third-party files, read where they live (../shared beside the repository).
const CRM = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/data/crm');
const ACCOUNTS = path.join(CRM, 'maven-crm-sales-opportunities/accounts.csv');
const CUSTOMERS = path.join(CRM, 'datablist-samples/customers-100.csv');
const PIPELINE = path.join(CRM, 'maven-crm-sales-opportunities/sales_pipeline.csv');

/** A CSV without quoted commas (the Maven files) as objects keyed by header. */
function readTable(file: string): Record<string, string>[] {
  const [header, ...lines] = readFileSync(file, 'utf8')
    .replace(/^\uFEFF/, '')
    .trim()
    .split(/\r?\n/);
  const keys = header!.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [keys[i], v])));
}

async function uploadFile(page: Page, object: string, file: string) {
  await page.goto('/imports');
  await pick(page, 'Import as', object);
  await page.locator('input[type="file"]').setInputFiles(file);
  await page.getByRole('button', { name: 'Upload and map columns' }).click();
  await page.getByRole('region', { name: 'Column mapping' }).waitFor();
}

describe('the import wizard, on real files', () => {
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    browser = await launch();
    page = await (await newContext(browser)).newPage();
    await signUpInBrowser(page, 'Movers Ltd', 'Mo Mover', uniqueEmail('mo'));
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('imports the Maven accounts as companies, reports every row, and can undo it', async () => {
    await uploadFile(page, 'Companies', ACCOUNTS);
    // The suggested mapping: "account" is the company name.
    await expect(page.getByRole('combobox', { name: 'Field for account' }).inputValue()).resolves.toMatch(
      /Name/,
    );
    await page.getByTestId('import-preview').getByRole('row').nth(1).waitFor();
    await page.getByRole('button', { name: /^Start import of 85 rows/ }).click();
    await expect
      .poll(() => page.getByTestId('import-status').textContent(), { timeout: 60_000 })
      .toBe('completed');
    await expect(page.getByTestId('import-created').textContent()).resolves.toBe('85');
    await expect(page.getByTestId('import-failed').textContent()).resolves.toBe('0');

    // The companies are there, parents included.
    const list = await apiCall(page, 'GET', '/api/v1/companies?q=Acme%20Corporation&limit=5');
    expect(list.body.data.map((c: { name: string }) => c.name)).toContain('Acme Corporation');

    // History lists it; undo archives what it created.
    await page.getByRole('button', { name: 'Undo this import' }).click();
    await expect
      .poll(() => page.getByTestId('import-status').textContent(), { timeout: 60_000 })
      .toBe('reverted');
    const after = await apiCall(page, 'GET', '/api/v1/companies?limit=200');
    expect(after.body.data).toHaveLength(0);
    await page.getByRole('link', { name: 'Imports' }).click();
    await page.getByTestId('import-history').getByText('accounts.csv').waitFor();
  });

  // It takes 7-10 s. Its limit (180 s) is above its longest poll's (150 s): a stall fails in the
  // poll that waited, with what the page showed, not as a bare test timeout.
  it('imports the Maven deals through the wizard and shows the 8,800 opportunities on the board', async () => {
    // Companies first (the deals name their account), then the deals into a "Maven" pipeline
    // whose stages come from the file.
    await uploadFile(page, 'Companies', ACCOUNTS);
    await page.getByRole('button', { name: /^Start import of 85 rows/ }).click();
    await expect
      .poll(() => page.getByTestId('import-status').textContent(), { timeout: 60_000 })
      .toBe('completed');

    await uploadFile(page, 'Opportunities', PIPELINE);
    await page.getByRole('textbox', { name: 'Pipeline (when no column names one)' }).fill('Maven');
    await page.getByRole('textbox', { name: 'Pipeline (when no column names one)' }).blur();
    await page.getByRole('switch', { name: /^Create pipelines and stages/ }).check();
    await page.getByRole('button', { name: /^Start import of 8,800 rows/ }).click();
    await expect
      .poll(() => page.getByTestId('import-status').textContent(), { timeout: 150_000 })
      .toBe('completed');
    await expect(page.getByTestId('import-created').textContent()).resolves.toBe('8,800');
    await expect(page.getByTestId('import-failed').textContent()).resolves.toBe('0');
    // The dirt is reported: every deal's sales agent is unknown here (the importer owns them),
    // and the deals without an account or a close date are counted.
    await expect(page.getByTestId('import-with-problems').textContent()).resolves.toBe('8,800');
    const deals = readTable(PIPELINE);
    const n = (f: (d: Record<string, string>) => boolean) => deals.filter(f).length.toLocaleString('en-US');
    await page.getByText(`account ${n((d) => !d.account)}`).waitFor();
    await page.getByText(`close_date ${n((d) => !d.close_date)}`).waitFor();

    await page.goto('/opportunities');
    await pick(page, 'Pipeline', 'Maven');
    await page.getByRole('switch', { name: 'Show closed' }).check();
    for (const stage of ['Prospecting', 'Engaging', 'Won', 'Lost'])
      await expect
        .poll(() => page.locator(`[data-stage="${stage}"]`).getByTestId('stage-count').textContent())
        .toBe(String(deals.filter((d) => d.deal_stage === stage).length));
    // The last deal of the file is the first card of its column.
    const last = deals.at(-1)!;
    await expect(
      page.locator(`[data-stage="${last.deal_stage}"] [data-card]`).first().getAttribute('data-card'),
    ).resolves.toBe(last.opportunity_id);
  }, 180_000);

  it('imports datablist customers as contacts, with a column turned into a custom field, and skips duplicates on a second run', async () => {
    await uploadFile(page, 'Contacts', CUSTOMERS);
    // "Customer Id" has no standard field: make it a custom field in one step.
    const row = page.locator('[data-column="Customer Id"]');
    if ((await row.getByRole('button', { name: 'New custom field' }).count()) > 0) {
      await row.getByRole('button', { name: 'New custom field' }).click();
      await expect.poll(() => row.getByRole('combobox').inputValue()).toMatch(/Customer Id/);
    }
    await page.getByRole('button', { name: /^Start import of 100 rows/ }).click();
    await expect
      .poll(() => page.getByTestId('import-status').textContent(), { timeout: 60_000 })
      .toBe('completed');
    const created = Number(await page.getByTestId('import-created').textContent());
    expect(created).toBeGreaterThan(90);

    // The same file again, "skip" duplicates: nothing new, every row accounted for.
    await uploadFile(page, 'Contacts', CUSTOMERS);
    await page.getByRole('button', { name: /^Start import of 100 rows/ }).click();
    await expect
      .poll(() => page.getByTestId('import-status').textContent(), { timeout: 60_000 })
      .toBe('completed');
    await expect(page.getByTestId('import-created').textContent()).resolves.toBe('0');
    const skipped = Number(await page.getByTestId('import-skipped').textContent());
    const failed = Number(await page.getByTestId('import-failed').textContent());
    expect(skipped + failed).toBe(100);
    await page.getByRole('tab', { name: /^skipped/ }).click();
    await page.getByTestId('import-rows').getByRole('row').nth(1).waitFor();
  });

  it('finds two duplicate contacts, merges them, and undoes the merge', async () => {
    const a = await apiCall(page, 'POST', '/api/v1/contacts', {
      first_name: 'Jonathan',
      last_name: 'Dupont',
      phones: [{ number: '+1 202 555 0147' }],
      tags: ['from-expo'],
    });
    const b = await apiCall(page, 'POST', '/api/v1/contacts', {
      first_name: 'Jon',
      last_name: 'Dupont',
      emails: [{ value: 'jon.dupont@example.org' }],
      phones: [{ number: '(202) 555-0147' }],
    });
    expect([a.status, b.status]).toEqual([201, 201]);

    await page.getByRole('link', { name: 'Duplicates' }).click();
    const group = page.getByTestId('duplicate-group').filter({ hasText: 'Jonathan Dupont' }).first();
    await group.getByText('Same phone').waitFor();
    await group.getByRole('radio', { name: 'Keep Jonathan Dupont' }).check();
    await group.getByRole('button', { name: 'Merge into the chosen record' }).click();
    await page.getByText(/^Merged into Jonathan Dupont/).waitFor();

    // The survivor has the other's e-mail and its own tag; the other is archived.
    const merged = await apiCall(page, 'GET', `/api/v1/contacts/${a.body.id}`);
    expect(merged.body.emails.map((e: { value: string }) => e.value)).toContain('jon.dupont@example.org');
    expect(merged.body.tags).toContain('from-expo');
    expect((await apiCall(page, 'GET', `/api/v1/contacts/${b.body.id}`)).body.archived_at).not.toBeNull();

    await page.getByRole('button', { name: 'Undo merge' }).click();
    await page.getByText(/Merge undone/).waitFor();
    expect((await apiCall(page, 'GET', `/api/v1/contacts/${b.body.id}`)).body.archived_at).toBeNull();
    const restored = await apiCall(page, 'GET', `/api/v1/contacts/${a.body.id}`);
    expect(restored.body.emails.map((e: { value: string }) => e.value)).not.toContain(
      'jon.dupont@example.org',
    );
  });
  it('merges two duplicate companies with a chosen name, then undoes the merge', async () => {
    const a = await apiCall(page, 'POST', '/api/v1/companies', {
      name: 'Zorgtech',
      domain: 'zorgtech.example',
      tags: ['partner'],
    });
    const b = await apiCall(page, 'POST', '/api/v1/companies', {
      name: 'Zorgtech International',
      domain: 'zorgtech.example',
      industry: 'Robotics',
    });
    const person = await apiCall(page, 'POST', '/api/v1/contacts', {
      first_name: 'Zed',
      companies: [{ id: b.body.id }],
    });
    expect([a.status, b.status, person.status]).toEqual([201, 201, 201]);

    await page.goto('/duplicates');
    await page.locator('.mantine-SegmentedControl-root').getByText('Companies').click();
    const group = page.getByTestId('duplicate-group').filter({ hasText: 'Zorgtech International' }).first();
    await group.getByText('Same domain').waitFor();
    await group.getByRole('radio', { name: 'Keep Zorgtech', exact: true }).check();
    await group.getByRole('button', { name: 'Choose values' }).click();
    await group.getByRole('radio', { name: 'Zorgtech International', exact: true }).check();
    await group.getByRole('button', { name: 'Merge into the chosen record' }).click();
    await page.getByText(/^Merged into Zorgtech International/).waitFor();

    // The survivor took the chosen name, the other's industry and contact; the other is archived.
    const merged = await apiCall(page, 'GET', `/api/v1/companies/${a.body.id}`);
    expect(merged.body).toMatchObject({
      name: 'Zorgtech International',
      industry: 'Robotics',
      contact_count: 1,
    });
    expect((await apiCall(page, 'GET', `/api/v1/companies/${b.body.id}`)).body.archived_at).not.toBeNull();

    await page.getByRole('button', { name: 'Undo merge' }).click();
    await page.getByText(/Merge undone/).waitFor();
    const restored = await apiCall(page, 'GET', `/api/v1/companies/${a.body.id}`);
    expect(restored.body).toMatchObject({ name: 'Zorgtech', industry: null, contact_count: 0 });
    expect((await apiCall(page, 'GET', `/api/v1/companies/${b.body.id}`)).body.archived_at).toBeNull();
  });
});
