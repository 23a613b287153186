import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, launch, newContext, pick, signUpInBrowser, uniqueEmail } from './browser.js';

describe('the filter builder, generated from the registry', () => {
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    browser = await launch();
    page = await (await newContext(browser)).newPage();
    await signUpInBrowser(page, 'Filters GmbH', 'Fritz Filter', uniqueEmail('fritz'));
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('finds a contact by a custom field made in settings, and keeps it as a saved view', async () => {
    // A custom field, created in the settings screen.
    await page.goto('/settings?tab=fields');
    await page.getByRole('button', { name: 'Add field' }).click();
    await page.getByLabel('Label').fill('Shoe size');
    await pick(page, 'Type', 'number');
    await page.getByRole('button', { name: 'Create field' }).click();
    await page.getByRole('cell', { name: 'shoe_size' }).waitFor();

    for (const [first, size] of [
      ['Bigfoot', 47],
      ['Cinderella', 35],
      ['Average', 41],
    ] as const) {
      const res = await apiCall(page, 'POST', '/api/v1/contacts', {
        first_name: first,
        custom: { shoe_size: size },
      });
      expect(res.status).toBe(201);
    }

    await page.goto('/contacts');
    await page.getByRole('link', { name: 'Cinderella' }).waitFor();
    // The total above the table counts what the list selects.
    await expect.poll(() => page.getByTestId('record-count').textContent()).toBe('3 contacts');
    await page.getByRole('button', { name: /^Filter/ }).click();
    await page.getByRole('button', { name: 'Add condition' }).click();
    await pick(page, 'Field', 'Shoe size');
    await pick(page, 'Operator', 'greater than');
    await page.getByLabel('Value', { exact: true }).fill('42');
    await page.keyboard.press('Escape');

    const table = page.getByTestId('record-table');
    await expect.poll(() => table.getByRole('row').count()).toBe(2); // header + Bigfoot
    await table.getByRole('link', { name: 'Bigfoot' }).waitFor();
    await expect.poll(() => page.getByTestId('record-count').textContent()).toBe('1 contact');

    // Saved as a view, it comes back with the filter after a reload.
    await page.getByRole('button', { name: 'View', exact: true }).click();
    await page.getByRole('menuitem', { name: 'Save as new view…' }).click();
    await page.getByLabel('Name').fill('Big feet');
    await page.getByRole('button', { name: 'Save view' }).click();
    await page.waitForURL(/view=/);
    await page.reload();
    await page.getByRole('heading', { name: 'Big feet' }).waitFor();
    await expect.poll(() => page.getByTestId('record-table').getByRole('row').count()).toBe(2);
    await page.getByTestId('record-table').getByRole('link', { name: 'Bigfoot' }).waitFor();
  });

  it('keeps the chosen operator and field when they are chosen again', async () => {
    await page.goto('/contacts');
    await page.getByRole('button', { name: /^Filter/ }).click();
    await page.getByRole('button', { name: 'Add condition' }).click();
    await pick(page, 'Field', 'First name');
    await pick(page, 'Operator', 'contains');
    await page.getByLabel('Value', { exact: true }).fill('Cind');
    // Choosing what is already chosen changes nothing.
    await pick(page, 'Operator', 'contains');
    await pick(page, 'Field', 'First name');
    const condition = page.getByTestId('filter-condition');
    await expect(condition.getByRole('combobox', { name: 'Operator' }).inputValue()).resolves.toBe(
      'contains',
    );
    await expect(condition.getByRole('combobox', { name: 'Field' }).inputValue()).resolves.toBe('First name');
    await expect(condition.getByLabel('Value', { exact: true }).inputValue()).resolves.toBe('Cind');
    await page.keyboard.press('Escape');
    const table = page.getByTestId('record-table');
    await expect.poll(() => table.getByRole('row').count()).toBe(2); // header + Cinderella
    await page.getByRole('button', { name: /^Filter/ }).click();
    await page.getByRole('button', { name: 'Clear all' }).click();
    await page.keyboard.press('Escape');
  });

  it('shows a custom phone field as its number and edits it in place', async () => {
    const field = await apiCall(page, 'POST', '/api/v1/objects/contact/fields', {
      label: 'Hotline',
      type: 'phone',
    });
    expect(field.status).toBe(201);
    const made = await apiCall(page, 'POST', '/api/v1/contacts', {
      first_name: 'Phoebe',
      custom: { hotline: '+44 20 7946 0958' },
    });
    expect(made.status).toBe(201);
    await page.goto(`/contacts/${made.body.id}`);
    await page.getByText('+44 20 7946 0958').waitFor();

    // Saved unchanged, then changed: both are accepted as the number typed.
    await page.getByRole('button', { name: 'Edit Hotline' }).click();
    expect(await page.getByLabel('Hotline', { exact: true }).inputValue()).toBe('+44 20 7946 0958');
    await page.getByRole('button', { name: 'Save Hotline' }).click();
    await page.getByRole('button', { name: 'Edit Hotline' }).waitFor();
    await page.getByRole('button', { name: 'Edit Hotline' }).click();
    await page.getByLabel('Hotline', { exact: true }).fill('+1 415 555 0100');
    await page.getByRole('button', { name: 'Save Hotline' }).click();
    await page.getByText('+1 415-555-0100').waitFor(); // shown formatted, stored as E.164
    const stored = await apiCall(page, 'GET', `/api/v1/contacts/${made.body.id}`);
    expect(stored.body.custom.hotline).toEqual({ e164: '+14155550100', raw: '+1 415 555 0100' });
  });

  it('settings: stages reorder by keyboard drag, and renaming a tag to another merges them', async () => {
    const before = await apiCall(page, 'GET', '/api/v1/pipelines');
    const names: string[] = before.body.data[0].stages.map((s: { name: string }) => s.name);
    await page.goto('/settings?tab=pipelines');
    const handle = page.getByRole('button', { name: `Reorder ${names[0]}` });
    await handle.focus();
    await page.keyboard.press('Space');
    await page.waitForTimeout(200);
    await page.keyboard.press('ArrowDown');
    await page.waitForTimeout(200);
    await page.keyboard.press('Space');
    await expect
      .poll(async () =>
        (await apiCall(page, 'GET', '/api/v1/pipelines')).body.data[0].stages.map(
          (s: { name: string }) => s.name,
        ),
      )
      .toEqual([names[1], names[0], ...names.slice(2)]);

    await apiCall(page, 'POST', '/api/v1/contacts', { first_name: 'Tagged', tags: ['VIP'] });
    await apiCall(page, 'POST', '/api/v1/contacts', { first_name: 'Tagged2', tags: ['very-important'] });
    await page.goto('/settings?tab=tags');
    await page.getByRole('button', { name: 'Rename very-important' }).click();
    await page.getByRole('textbox', { name: 'New name for very-important' }).fill('VIP');
    await page.getByRole('button', { name: 'Save tag name' }).click();
    await page.getByText(/Merged “very-important” into “vip”/).waitFor();
    const tags = await apiCall(page, 'GET', '/api/v1/tags');
    expect(tags.body.data.map((t: { name: string }) => t.name)).not.toContain('very-important');
  });
});
