import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, launch, newContext, signUpInBrowser, uniqueEmail } from './browser.js';

describe('lead capture: an admin builds a form, a visitor sends it, a contact appears', () => {
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

  it('builds a contact form in the settings; a visitor sends its hosted page; the contact is in the list', async () => {
    await page.goto('/settings?tab=forms');
    await page.getByRole('button', { name: 'New form' }).click();
    const dialog = page.getByRole('dialog', { name: 'New form' });
    await dialog.getByRole('textbox', { name: 'Name' }).first().fill('Contact us');
    await dialog.getByRole('checkbox', { name: 'Ask for E-mail' }).check();
    await dialog.getByRole('checkbox', { name: 'E-mail is required' }).check();
    await dialog.getByRole('checkbox', { name: 'Ask for First name' }).check();
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('button', { name: 'Copy embed snippet' }).waitFor();

    const forms = await apiCall(page, 'GET', '/api/v1/forms');
    const form = forms.body.data[0];
    const visitor = await (await newContext(browser)).newPage();
    const refused: string[] = [];
    visitor.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text());
    });
    await visitor.goto(`${new URL(form.page_url).pathname}?utm_source=e2e`);
    const email = uniqueEmail('vera');
    await visitor.getByLabel('First name').fill('Vera');
    await visitor.getByLabel('E-mail').fill(email);
    const send = visitor.getByRole('button', { name: 'Send' });
    // The page solves its proof of work, and refuses a form sent faster than a person types.
    await expect.poll(() => send.isEnabled(), { timeout: 20_000 }).toBe(true);
    await visitor.waitForTimeout(3_200);
    await send.click();
    await visitor.getByText('Thank you: we received your message.').waitFor();
    expect(refused).toEqual([]);

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Contacts' }).click();
    await page.getByRole('link', { name: 'Vera' }).first().waitFor();
    await page.getByText(email).waitFor();
  });
});
