import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, dragTo, launch, newContext, signUpInBrowser, uniqueEmail } from './browser.js';

const column = (page: Page, stage: string) => page.locator(`[data-stage="${stage}"]`);

describe('the board when the server says no', () => {
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    browser = await launch();
    // Wide enough for every stage of the default pipeline side by side.
    page = await (await newContext(browser, { width: 2200, height: 900 })).newPage();
    await signUpInBrowser(page, 'Refusals Inc', 'Rae Refused', uniqueEmail('rae'));
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('a refused drag moves back and says why', async () => {
    const pipelines = await apiCall(page, 'GET', '/api/v1/pipelines');
    const stages: { name: string; kind: string }[] = pipelines.body.data[0].stages;
    const firstOpen = stages.find((s) => s.kind === 'open')!.name;
    const won = stages.find((s) => s.kind === 'won')!.name;
    const opp = await apiCall(page, 'POST', '/api/v1/opportunities', {
      title: 'Closed deal',
      source: 'manual',
      amount: 1200,
      currency: 'EUR',
    });
    expect(
      (await apiCall(page, 'POST', `/api/v1/opportunities/${opp.body.id}/close`, { status: 'won' })).status,
    ).toBe(200);

    await page.goto('/opportunities');
    await page.getByRole('switch', { name: 'Show closed' }).check();
    const card = column(page, won).locator('[data-card="Closed deal"]');
    await card.waitFor();

    // A won deal must be reopened before it moves: the server answers 409 and the card goes back.
    await dragTo(page, card, column(page, firstOpen));
    await page.getByText('“Closed deal” was not moved').waitFor();
    await page.getByText(/reopen it before moving it/).waitFor();
    await column(page, won).locator('[data-card="Closed deal"]').waitFor();
    expect(await column(page, firstOpen).locator('[data-card="Closed deal"]').count()).toBe(0);
    await expect(column(page, won).getByTestId('stage-count').textContent()).resolves.toBe('1');
  });

  it('a keyboard drag tells a screen reader the opportunity and stage names, never their ids', async () => {
    const pipelines = await apiCall(page, 'GET', '/api/v1/pipelines');
    const stages: { id: string; name: string; kind: string }[] = pipelines.body.data[0].stages;
    const open = stages.filter((s) => s.kind === 'open');
    const opp = await apiCall(page, 'POST', '/api/v1/opportunities', {
      title: 'Announced deal',
      source: 'manual',
    });
    expect(opp.status).toBe(201);
    await page.goto('/opportunities');
    const handle = page.getByRole('button', { name: 'Move Announced deal' });
    await handle.focus();
    // dnd-kit's live region (aria-live) is what a screen reader reads out: every announcement.
    await page.evaluate(() => {
      const heard: string[] = [];
      (window as unknown as { heard: string[] }).heard = heard;
      const region = document.querySelector('[id^="DndLiveRegion"]')!;
      new MutationObserver(() => heard.push(region.textContent ?? '')).observe(region, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });
    const heard = () => page.evaluate(() => (window as unknown as { heard: string[] }).heard.join('\n'));
    await page.keyboard.press('Space');
    // Picking up is announced, or at once replaced by where the card is (dnd-kit batches them).
    await expect.poll(heard).toMatch(/Picked up Announced deal\.|Announced deal is over stage /);
    await page.keyboard.press('ArrowRight');
    await expect.poll(heard).toContain(`Announced deal is over stage ${open[1]!.name}`);
    await page.keyboard.press('Space');
    await expect.poll(heard).toContain(`Announced deal was dropped on stage ${open[1]!.name}`);
    const all = await heard();
    for (const id of [opp.body.id, ...stages.map((s) => s.id)]) expect(all).not.toContain(id);
    await column(page, open[1]!.name).locator('[data-card="Announced deal"]').waitFor();
  });

  it("totals the open deals in the organization's currency with a rate the admin sets in Settings", async () => {
    expect(
      (await apiCall(page, 'PATCH', '/api/v1/organization/settings', { default_currency: 'USD' })).status,
    ).toBe(200);
    for (const [title, amount, currency] of [
      ['Euro deal', 1000, 'EUR'],
      ['Dollar deal', 500, 'USD'],
    ] as const)
      expect((await apiCall(page, 'POST', '/api/v1/opportunities', { title, amount, currency })).status).toBe(
        201,
      );

    await page.goto('/opportunities');
    // No EUR rate yet: the euros are named apart, never added to the dollars.
    await page
      .getByTestId('board-total')
      .getByText(/not converted, no exchange rate: €1,000/)
      .waitFor();
    await expect(page.getByTestId('board-total').textContent()).resolves.toMatch(/Open pipeline \$500/);

    await page.goto('/settings?tab=organization');
    await page.getByRole('textbox', { name: /^Currency/ }).fill('EUR');
    await page.getByRole('textbox', { name: /^Rate \(USD per unit\)/ }).fill('1.1');
    await page.getByRole('button', { name: 'Set rate' }).click();
    await page.getByRole('table', { name: 'Exchange rates' }).getByText('1.1').waitFor();

    await page.goto('/opportunities');
    await page
      .getByTestId('board-total')
      .getByText(/Open pipeline \$1,600/)
      .waitFor();
    await expect(page.getByTestId('board-total').textContent()).resolves.not.toMatch(/not converted/);
  });
});
