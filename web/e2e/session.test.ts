import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, launch, newContext, PASSWORD, signUpInBrowser, uniqueEmail } from './browser.js';

describe('sessions, lockout, bulk actions and export in the browser', () => {
  let browser: Browser;
  let page: Page;
  let email: string;
  beforeAll(async () => {
    browser = await launch();
    page = await (await newContext(browser)).newPage();
    email = uniqueEmail('sam');
    await signUpInBrowser(page, 'Session Co', 'Sam Session', email);
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('selects rows, tags and archives them in bulk, and exports what the table shows', async () => {
    for (const name of ['Alpha', 'Bravo', 'Charlie']) {
      expect(
        (await apiCall(page, 'POST', '/api/v1/contacts', { first_name: name, last_name: 'Bulk' })).status,
      ).toBe(201);
    }
    await page.goto('/contacts');
    const table = page.getByTestId('record-table');
    await table.getByRole('link', { name: 'Alpha' }).waitFor();
    const rowOf = (name: string) => table.getByRole('row').filter({ hasText: name });
    await rowOf('Alpha').getByRole('checkbox', { name: 'Select row' }).check();
    await rowOf('Bravo').getByRole('checkbox', { name: 'Select row' }).check();
    await page.getByRole('button', { name: 'Add tags' }).click();
    const tags = page.getByRole('combobox', { name: 'Tags to add' });
    await tags.fill('shortlist');
    await tags.press('Enter');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await rowOf('Alpha').getByText('shortlist').waitFor();
    await rowOf('Bravo').getByText('shortlist').waitFor();
    expect(await rowOf('Charlie').getByText('shortlist').count()).toBe(0);

    // Export: the CSV of what the table shows (search narrows it).
    await page.getByRole('textbox', { name: 'Search contacts' }).fill('Charlie');
    await expect.poll(() => table.getByRole('row').count()).toBe(2);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Export CSV' }).click(),
    ]);
    const csv = await (await download.createReadStream()).toArray();
    const text = Buffer.concat(csv as Buffer[]).toString('utf8');
    expect(text).toMatch(/Charlie/);
    expect(text).not.toMatch(/Alpha|Bravo/);

    // Archive Charlie in bulk: the table no longer lists it.
    await rowOf('Charlie').getByRole('checkbox', { name: 'Select row' }).check();
    await page.getByRole('button', { name: 'Archive' }).click();
    await page.getByRole('heading', { name: 'No matches' }).waitFor();
  });

  it('an expired session sends the user to sign in and back to where they were', async () => {
    await page.goto('/companies');
    await page.getByRole('heading', { name: 'Companies', level: 1 }).waitFor();
    await page.context().clearCookies();
    await page.getByRole('link', { name: 'Tasks' }).click();
    await page.waitForURL(/\/sign-in\?redirect=/);
    await page.getByText('Session expired').waitFor();
    await page.getByLabel('E-mail').fill(email);
    await page.locator('input[type="password"]').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === '/tasks');
    await page.getByRole('heading', { name: 'Tasks', level: 1 }).waitFor();
  });

  it('repeated wrong passwords lock the account and the sign-in screen says for how long', async () => {
    const other = await (await newContext(browser)).newPage();
    for (let i = 0; i < 5; i++) {
      await other.goto('/sign-in');
      await other.getByLabel('E-mail').fill(email);
      await other.locator('input[type="password"]').fill(`Wrong-password-${i}`);
      await other.getByRole('button', { name: 'Sign in' }).click();
      await other.getByRole('alert').waitFor();
    }
    await other.getByLabel('E-mail').fill(email);
    await other.locator('input[type="password"]').fill(PASSWORD);
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other
      .getByRole('alert')
      .filter({ hasText: /locked for \d+ more minute/ })
      .waitFor();
    expect(other.url()).toMatch(/\/sign-in/);
    // The signed-in session elsewhere carries on.
    await page.goto('/contacts');
    await page.getByRole('heading', { name: 'Contacts', level: 1 }).waitFor();
  });
});
