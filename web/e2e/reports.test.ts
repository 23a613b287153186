import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, launch, newContext, pick, signUpInBrowser, uniqueEmail } from './browser.js';

describe('reports and dashboards: a manager builds a report and pins it to a dashboard', () => {
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    browser = await launch();
    page = await (await newContext(browser)).newPage();
    await signUpInBrowser(page, 'Metrics Ltd', 'Mia Metrics', uniqueEmail('mia'));
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('runs a report of deals by stage, saves it, and adds it to a new dashboard', async () => {
    for (const title of ['Harbour refit', 'Lighthouse lamps', 'Dock cranes']) {
      expect((await apiCall(page, 'POST', '/api/v1/opportunities', { title, amount: 1000 })).status).toBe(
        201,
      );
    }
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Reports', exact: true }).click();
    await page.getByRole('heading', { name: 'Reports', level: 1 }).waitFor();
    // Opportunities grouped by stage, counted (the builder's defaults), then run.
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.locator('.recharts-surface, table').first().waitFor();
    await page.getByLabel('Report name').fill('Deals by stage');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('button', { name: 'Deals by stage' }).waitFor();

    await nav.getByRole('link', { name: 'Dashboards', exact: true }).click();
    await page.getByRole('heading', { name: 'Dashboards', level: 1 }).waitFor();
    // Every organization starts with the "Sales overview" dashboard, its charts already drawn.
    const grid = page.getByTestId('dashboard-grid');
    await grid.getByText('Open pipeline by stage').waitFor();
    await grid.locator('.recharts-surface').first().waitFor();
    await page.getByLabel('New dashboard name').fill('Monday pipeline');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    // The new board is shown at once, and the widget goes to it.
    await expect
      .poll(() => page.getByRole('combobox', { name: 'Dashboard', exact: true }).inputValue(), {
        timeout: 15_000,
      })
      .toBe('Monday pipeline');
    await pick(page, 'Add a saved report', 'Deals by stage');
    await page.getByRole('button', { name: 'Add widget' }).click();
    await grid.getByText('Deals by stage', { exact: true }).waitFor();
    await grid.locator('.recharts-surface').first().waitFor();
    expect(await grid.getByText('Open pipeline by stage').count()).toBe(0);
    const boards = await apiCall(page, 'GET', '/api/v1/dashboards');
    expect(
      boards.body.data.map((b: { name: string; widgets: unknown[] }) => [b.name, b.widgets.length]),
    ).toEqual([
      ['Monday pipeline', 1],
      ['Sales overview', 10],
    ]);
  });
});
