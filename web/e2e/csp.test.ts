import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, launch, newContext, signUpInBrowser, uniqueEmail } from './browser.js';

type Violation = { directive: string; blocked: string; source: string };

/**
 * Records every CSP violation the page reports (`securitypolicyviolation`, CSP3 §5.3), from the
 * first byte of every document, and the console's CSP errors.
 */
async function watchViolations(context: BrowserContext, page: Page) {
  await context.addInitScript(() => {
    const w = window as unknown as { __violations: unknown[] };
    w.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      w.__violations.push({ directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile });
    });
  });
  const console: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) console.push(m.text());
  });
  return {
    console,
    violations: () => page.evaluate(() => (window as unknown as { __violations: Violation[] }).__violations),
  };
}

describe('the Content-Security-Policy in the browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('blocks an inline script in the page and one added to the DOM, and reports both', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    const watch = await watchViolations(context, page);
    // The server's own response, headers and all, with an inline script added to the HTML.
    await page.route(
      (url) => url.pathname === '/sign-in',
      async (route) => {
        const response = await route.fetch();
        const html = (await response.text()).replace(
          '</head>',
          '<script>window.__injected = "ran";</script></head>',
        );
        await route.fulfill({ response, body: html });
      },
    );
    await page.goto('/sign-in');
    // The app itself still renders: its scripts come from its own files.
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate(() => (window as { __injected?: string }).__injected)).toBeUndefined();

    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.__added = "ran";';
      document.body.append(script);
      const img = document.createElement('img');
      img.setAttribute('onerror', 'window.__handler = "ran"');
      img.src = 'data:,not-an-image';
      document.body.append(img);
    });
    // Three reports: the script in the HTML, the one added to the DOM, the event handler attribute.
    await expect.poll(async () => (await watch.violations()).length).toBe(3);
    const violations = await watch.violations();
    expect(
      violations.filter((v) => v.directive === 'script-src-elem' && v.blocked === 'inline'),
    ).toHaveLength(2);
    expect(violations.filter((v) => v.directive === 'script-src-attr')).toHaveLength(1);
    expect(await page.evaluate(() => (window as { __added?: string }).__added)).toBeUndefined();
    expect(await page.evaluate(() => (window as { __handler?: string }).__handler)).toBeUndefined();
    expect(watch.console.length).toBeGreaterThanOrEqual(3);
    await context.close();
  });

  it('the app itself works under it with no violation: sign-up, notes, the board, search, dark mode', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    const watch = await watchViolations(context, page);
    await signUpInBrowser(page, 'Csp Co', 'Cleo Csp', uniqueEmail('csp'));
    const contact = await apiCall(page, 'POST', '/api/v1/contacts', {
      first_name: 'Ada',
      last_name: 'Policy',
    });
    expect(contact.status).toBe(201);

    // Tiptap's editor inserts its <style>; it carries the page's nonce.
    const response = await page.goto(`/contacts/${contact.body.id}`);
    const nonce = /'nonce-([^']+)'/.exec(response?.headers()['content-security-policy'] ?? '')?.[1];
    expect(nonce).toBeTruthy();
    // Mantine's CSS variables went in with the nonce of this page's policy.
    await expect
      .poll(() =>
        page.evaluate(() =>
          [...document.querySelectorAll('style')].map((s) => (s as HTMLStyleElement).nonce),
        ),
      )
      .toContain(nonce);
    await page.getByRole('textbox', { name: 'New note' }).click();
    await page.keyboard.type('Styled by the nonce');
    await page.getByRole('button', { name: 'Add note' }).click();
    await page.getByTestId('note').first().getByText('Styled by the nonce').waitFor();
    expect(await watch.violations()).toEqual([]);

    // Mantine's colour scheme switch inserts a <style> for a moment; Spotlight locks the scroll with one.
    await page.getByRole('button', { name: 'Toggle color scheme' }).click();
    await expect
      .poll(() => page.evaluate(() => document.documentElement.getAttribute('data-mantine-color-scheme')))
      .toBe('dark');
    await page.keyboard.press('Control+k');
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');

    await page.goto('/opportunities');
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    // Mantine's CSS variables are in a nonce'd <style>: the theme applies.
    expect(
      await page.evaluate(() =>
        getComputedStyle(document.body).getPropertyValue('--mantine-color-teal-9').trim(),
      ),
    ).not.toBe('');
    expect(await watch.violations()).toEqual([]);
    expect(watch.console).toEqual([]);
    await context.close();
  });

  it('the API reference page renders under its own policy with no violation', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    const watch = await watchViolations(context, page);
    const response = await page.goto('/api/docs/');
    expect(response?.headers()['content-security-policy']).toMatch(/script-src 'self';/);
    // Swagger UI reads the whole 2 MB document before it draws its title: seconds on two cores.
    await page.getByText('Cairn CRM API').first().waitFor({ timeout: 45_000 });
    // Its sections open closed: a reader opens one to see its operations.
    await page.locator('.opblock-tag').first().click();
    await page.locator('.opblock').first().waitFor();
    expect(await watch.violations()).toEqual([]);
    expect(watch.console).toEqual([]);
    await context.close();
  });
});
