import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, pick } from './browser.js';
import { type FakeAi, startAiJourney } from './fake-ai.js';

describe('the assistant over reports: a manager asks for a report, checks it, runs it and has it explained', () => {
  let journey: Awaited<ReturnType<typeof startAiJourney>>;
  let page: Page;
  let ai: FakeAi;
  beforeAll(async () => {
    journey = await startAiJourney('Asking Ltd', 'Abe Asker');
    ({ page, ai } = journey);
  });
  afterAll(() => journey?.close());

  it('shows no assistant until it is on', async () => {
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Reports', exact: true }).click();
    await page.getByRole('heading', { name: 'Reports', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Run', exact: true }).waitFor();
    expect(await page.getByRole('button', { name: 'Ask for a report' }).count()).toBe(0);
  });

  it('a question becomes a definition shown before it runs; opened in the builder, run, explained as text, saved', async () => {
    for (const title of ['Harbour refit', 'Lighthouse lamps', 'Dock cranes'])
      expect((await apiCall(page, 'POST', '/api/v1/opportunities', { title, amount: 1000 })).status).toBe(
        201,
      );
    await journey.turnOn();
    await page.reload();
    await page.getByRole('heading', { name: 'Reports', level: 1 }).waitFor();

    await page.getByLabel('Ask the assistant for a report').fill('how many deals do we have by status');
    await page.getByRole('button', { name: 'Ask for a report' }).click();
    const proposal = page.getByTestId('ai-report-proposal');
    await proposal.getByText('opportunity: count, by status').waitFor();
    // Shown, not run: no chart yet.
    expect(await page.locator('.recharts-surface').count()).toBe(0);
    expect(ai.sent.at(-1).tools[0].function.name).toBe('set_report');

    await proposal.getByRole('button', { name: 'Open in the builder' }).click();
    await expect
      .poll(() => page.getByLabel('Report name').inputValue())
      .toMatch(/^Count of opportunity by status/);
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.locator('.recharts-surface').first().waitFor();

    await page.getByRole('button', { name: 'Explain these numbers' }).click();
    const explanation = page.getByTestId('ai-explanation');
    await explanation.getByText(/: 3 in all\./).waitFor();
    // The model's markup is text on the page, not an element.
    expect(await explanation.textContent()).toContain('<b>Nothing else</b>');
    expect(await explanation.locator('b').count()).toBe(0);
    await page
      .getByTestId('ai-figures')
      .getByText(/total: 3$/)
      .waitFor();
    // The report was run with the member's rights before its numbers were put in the prompt.
    expect(String(ai.sent.at(-1).messages.at(-1).content)).toContain('"count":3');

    await page.getByLabel('Report name').fill('Deals by status (assistant)');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('button', { name: 'Deals by status (assistant)' }).waitFor();
  });

  it("explains a dashboard's widgets, each with the dashboard's period", async () => {
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Dashboards', exact: true }).click();
    await page.getByRole('heading', { name: 'Dashboards', level: 1 }).waitFor();
    await page.getByLabel('New dashboard name').fill('Assisted board');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    // The new board is the one shown (the organization's "Sales overview" is listed too).
    await expect
      .poll(() => page.getByRole('combobox', { name: 'Dashboard', exact: true }).inputValue(), {
        timeout: 15_000,
      })
      .toBe('Assisted board');
    await pick(page, 'Add a saved report', 'Deals by status (assistant)');
    await page.getByRole('button', { name: 'Add widget' }).click();
    const grid = page.getByTestId('dashboard-grid');
    await grid.getByText('Deals by status (assistant)', { exact: true }).waitFor();
    await grid.locator('.recharts-surface').first().waitFor();
    await page.getByText('30 days', { exact: true }).click();
    await page.getByRole('button', { name: 'Explain these numbers' }).click();
    await page.getByTestId('ai-explanation').getByText('Deals by status (assistant): 3 in all.').waitFor();
    const sent = JSON.parse(/<data>\n([\s\S]*)\n<\/data>/.exec(ai.sent.at(-1).messages.at(-1).content)![1]!);
    expect(sent.reports.map((r: { title: string }) => r.title)).toEqual(['Deals by status (assistant)']);
    const audit = await apiCall(page, 'GET', '/api/v1/audit?action=ai.called');
    expect(audit.body.data.map((e: any) => e.details.feature)).toEqual(['explain', 'explain', 'ask']);
  });
});
