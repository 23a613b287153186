import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, launch, newContext, signUpInBrowser, uniqueEmail } from './browser.js';

describe('lead capture: an admin builds a form, a visitor sends it, the admin subscribes a webhook', () => {
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    browser = await launch();
    page = await (await newContext(browser)).newPage();
    await signUpInBrowser(page, 'Leads Ltd', 'Lea Leads', uniqueEmail('lea'));
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('builds a contact form in the settings from the registry’s fields', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('tab', { name: 'Forms' }).click();
    await page.getByRole('button', { name: 'New form' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Contact us');
    await page.getByRole('checkbox', { name: 'Ask for E-mail' }).check();
    await page.getByRole('checkbox', { name: 'E-mail is required' }).check();
    await page.getByRole('checkbox', { name: 'Ask for First name' }).check();
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('link', { name: 'Contact us' }).waitFor();
    await page.getByRole('button', { name: 'Copy embed snippet' }).waitFor();
  });

  it('a visitor sends the hosted page (proof of work solved in the browser, no CSP violation)', async () => {
    const forms = await apiCall(page, 'GET', '/api/v1/forms');
    const form = forms.body.data[0];
    const visitor = await (await newContext(browser)).newPage();
    const violations: string[] = [];
    visitor.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    await visitor.goto(`${form.page_url}?utm_source=e2e`);
    await visitor.getByLabel('First name').fill('Vera');
    await visitor.getByLabel('E-mail').fill(uniqueEmail('vera'));
    const send = visitor.getByRole('button', { name: 'Send' });
    await send.waitFor();
    await expect.poll(() => send.isEnabled(), { timeout: 20_000 }).toBe(true);
    await visitor.waitForTimeout(3_200); // the form's minimum fill time
    await send.click();
    await visitor.getByText('Thank you: we received your message.').waitFor();
    expect(violations).toEqual([]);

    await page.getByRole('button', { name: 'Submissions' }).click();
    await page.getByRole('link', { name: 'New record' }).waitFor();
    await page.getByText('utm_source e2e', { exact: false }).waitFor();
  });

  it('subscribes a webhook and shows its signing secret once', async () => {
    await page.getByRole('tab', { name: 'Webhooks' }).click();
    await page.getByRole('button', { name: 'New webhook' }).click();
    await page.getByLabel('URL').fill('https://hooks.example.invalid/cairn');
    await page.getByRole('textbox', { name: 'Events' }).click();
    await page.getByRole('option', { name: 'contact.created', exact: true }).click();
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const secret = await page.getByTestId('webhook-secret').textContent();
    expect(secret).toMatch(/^whsec_/);
    await page.getByRole('cell', { name: 'https://hooks.example.invalid/cairn' }).waitFor();
    await page.getByRole('button', { name: 'Deliveries' }).click();
    await page.getByText('No deliveries yet.').waitFor();
  });
});
