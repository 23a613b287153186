import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, launch, newContext, pick, signUpInBrowser, uniqueEmail } from './browser.js';

describe('the contacts list: one Name column, and a filter by company', () => {
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    browser = await launch();
    page = await (await newContext(browser)).newPage();
    await signUpInBrowser(page, 'Columns Ltd', 'Col Umns', uniqueEmail('col'));
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows first and last name as one sortable Name column, and lists the people of one company', async () => {
    const globex = await apiCall(page, 'POST', '/api/v1/companies', { name: 'Globex' });
    for (const [first, last, company] of [
      ['Zoe', 'Adams', globex.body.id],
      ['Ada', 'Zimmer', globex.body.id],
      ['Max', 'Mustermann', null],
    ] as const) {
      const made = await apiCall(page, 'POST', '/api/v1/contacts', {
        first_name: first,
        last_name: last,
        companies: company ? [{ id: company, primary: true }] : [],
      });
      expect(made.status).toBe(201);
    }
    await page.reload();
    const table = page.getByTestId('record-table');
    await table.getByRole('link', { name: 'Zoe' }).waitFor();

    // Columns: Name on, first and last name off; Name leads the row as a link, sorted by a click.
    await page.getByRole('button', { name: 'Columns' }).click();
    await page.getByRole('checkbox', { name: 'Name', exact: true }).check();
    await page.getByRole('checkbox', { name: 'First name' }).uncheck();
    await page.getByRole('checkbox', { name: 'Last name' }).uncheck();
    await page.keyboard.press('Escape');
    await table.getByRole('link', { name: 'Zoe Adams' }).waitFor();
    await table.getByRole('button', { name: 'Name', exact: true }).click();
    await expect
      .poll(async () => (await table.getByRole('link').allTextContents()).slice(0, 3))
      .toEqual(['Ada Zimmer', 'Max Mustermann', 'Zoe Adams']);

    // Filter: Companies is Globex, picked by name.
    await page.getByRole('button', { name: /^Filter/ }).click();
    await page.getByRole('button', { name: 'Add condition' }).click();
    await pick(page, 'Field', 'Companies');
    await page.getByRole('combobox', { name: 'Value', exact: true }).fill('Glob');
    await page.getByRole('option', { name: 'Globex' }).click();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('record-count').textContent()).toBe('2 contacts');
    await expect
      .poll(async () => table.getByRole('link').allTextContents())
      .toEqual(['Ada Zimmer', 'Zoe Adams']);
  });
});
