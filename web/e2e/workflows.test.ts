import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, launch, newContext, signUpInBrowser, uniqueEmail } from './browser.js';

describe('workflows: the list, the builder with a test run, and the runs page', () => {
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    browser = await launch();
    page = await (await newContext(browser)).newPage();
    await signUpInBrowser(page, 'Flowing Ltd', 'Flo Admin', uniqueEmail('flo'));
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('builds a workflow, tries it on a record without changing it, activates it and shows its run', async () => {
    const contact = await apiCall(page, 'POST', '/api/v1/contacts', { first_name: 'Wren', tags: [] });
    expect(contact.status).toBe(201);
    await page.goto('/workflows');
    await page.getByRole('button', { name: 'New workflow' }).click();
    await page.getByLabel('Name').fill('Tag new leads');
    await page.getByRole('button', { name: 'Create and open the builder' }).click();

    // The builder: the trigger node, then an action added from the menu.
    await page.getByText('When: record created').waitFor();
    await page.getByRole('button', { name: 'Add action' }).click();
    await page.getByRole('menuitem', { name: 'add tag' }).click();
    await expect.poll(() => page.getByTestId('flow-node').count()).toBe(2);

    // A test run says what would happen, and changes nothing.
    await page.getByLabel('Record id').fill(contact.body.id);
    await page.getByRole('button', { name: 'Try' }).click();
    await page.getByTestId('test-run').getByText('add the tag lead').waitFor();
    expect((await apiCall(page, 'GET', `/api/v1/contacts/${contact.body.id}`)).body.tags).toEqual([]);

    await page.getByRole('button', { name: 'Validate and activate' }).click();
    await page.getByRole('button', { name: 'Pause' }).waitFor();

    // A new contact starts a run; the runs tab shows it completed.
    const created = await apiCall(page, 'POST', '/api/v1/contacts', { first_name: 'Robin' });
    expect(created.status).toBe(201);
    await page.goto('/workflows?tab=runs');
    await expect
      .poll(
        async () => {
          await page.reload();
          // The runs load after the page: count once the table or its empty state is there.
          await page.getByTestId('run-row').or(page.getByText('No runs')).first().waitFor();
          return page.getByTestId('run-row').filter({ hasText: 'completed' }).count();
        },
        { timeout: 30_000, interval: 1000 },
      )
      .toBeGreaterThan(0);
    await page.getByTestId('run-row').first().click();
    await page.getByTestId('run-step').first().waitFor();
    expect((await apiCall(page, 'GET', `/api/v1/contacts/${created.body.id}`)).body.tags).toEqual(['lead']);
  }, 120_000);
});
