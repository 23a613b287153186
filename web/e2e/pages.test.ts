import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, newContext, signUpInBrowser, uniqueEmail } from './browser.js';

/**
 * What a new admin meets clicking through the app with the sample data loaded: every page of the
 * main navigation and every settings tab opens with its heading, and nothing goes wrong behind it
 * (no request the API refuses, no error in the browser's console, no uncaught exception). A page
 * that probes a route it may not use, or reads a field that is not there, shows up here first.
 */
describe('a new admin clicks through every page', () => {
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  beforeAll(async () => {
    browser = await launch();
    page = await (await newContext(browser)).newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console on ${new URL(page.url()).pathname}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`exception on ${new URL(page.url()).pathname}: ${e.message}`));
    page.on('response', (r) => {
      const url = new URL(r.url());
      if (r.status() >= 400 && url.pathname.startsWith('/api/'))
        problems.push(
          `${r.status()} ${r.request().method()} ${url.pathname} on ${new URL(page.url()).pathname}`,
        );
    });
    await signUpInBrowser(page, 'Walkabout Ltd', 'Wally Walker', uniqueEmail('wally'), { home: true });
    await page
      .getByRole('region', { name: 'Getting started' })
      .getByRole('button', { name: 'Load sample data' })
      .click();
    await page.getByText(/Sample data loaded: \d+ records/).waitFor({ timeout: 60_000 });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('each page of the main navigation, and the first record of each list, open without an error', async () => {
    const nav = page.getByRole('navigation', { name: 'Main' });
    const links = await nav
      .getByRole('link')
      .evaluateAll((as) =>
        as.map((a) => ({ name: (a.textContent ?? '').trim(), href: a.getAttribute('href') ?? '' })),
      );
    const pages = links.filter((l) => l.href.startsWith('/'));
    expect(pages.map((l) => l.href)).toEqual(
      expect.arrayContaining(['/contacts', '/opportunities', '/settings']),
    );
    for (const { href } of pages) {
      await page.goto(href);
      await page.getByRole('heading', { level: 1 }).first().waitFor();
      await page.waitForLoadState('networkidle');
      // A list's first record (the sample data fills contacts, companies and deals).
      if (['/contacts', '/companies', '/opportunities'].includes(href)) {
        const first = page.locator(`main a[href^="${href}/"]`).first();
        await first.waitFor();
        await first.click();
        await page.waitForURL((url) => url.pathname.startsWith(`${href}/`));
        await page.getByRole('heading').first().waitFor();
        await page.waitForLoadState('networkidle');
      }
    }
    expect(problems).toEqual([]);
  });

  it('each settings tab opens without an error', async () => {
    await page.goto('/settings');
    await page.getByRole('tab').first().waitFor();
    const tabs = await page.getByRole('tab').allTextContents();
    expect(tabs).toEqual(expect.arrayContaining(['Organization', 'Custom fields', 'Pipelines']));
    for (const name of tabs) {
      await page.getByRole('tab', { name, exact: true }).click();
      await page.waitForLoadState('networkidle');
    }
    expect(problems).toEqual([]);
  });

  it('the Operator page is "Not found" to a member who is not an operator, and asks the API nothing', async () => {
    await page.goto('/operator');
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
    await page.waitForLoadState('networkidle');
    expect(problems).toEqual([]);
    expect(
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Operator' }).count(),
    ).toBe(0);
  });
});
