import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiCall, launch, newContext, PASSWORD, uniqueEmail } from './browser.js';

// Issue 22: sign-up answers the same for any address ("check your e-mail"), the new admin signs
// in from there, and the link of the verification e-mail (the outbox without SMTP) confirms it.

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

it('signs up, shows "check your e-mail", signs in, and the e-mailed link confirms the address', async () => {
  const page = await (await newContext(browser)).newPage();
  const email = uniqueEmail('vera');
  await page.goto('/sign-up');
  await page.getByLabel('Organization name').fill('Verify Co');
  await page.getByLabel('Your name').fill('Vera Verify');
  await page.getByLabel('E-mail').fill(email);
  await page.locator('input[type="password"]').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create organization' }).click();
  await page.getByRole('heading', { name: 'Check your e-mail' }).waitFor();
  await page.getByText(email).waitFor();
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((url) => url.pathname === '/');

  let link: string | undefined;
  for (let i = 0; i < 50 && !link; i++) {
    const box = await apiCall<{ data: { kind: string; text: string }[] }>(page, 'GET', '/api/v1/system-mail');
    link = box.body.data
      .find((m) => m.kind === 'email_verification')
      ?.text.match(/\/verify-email\?token=\S+/)?.[0];
    if (!link) await page.waitForTimeout(100);
  }
  expect(link).toBeTruthy();
  await page.goto(link!);
  await page.getByText('Your address is confirmed.').waitFor();

  // The same address again: the same answer, and no one is signed in by it.
  const other = await (await newContext(browser)).newPage();
  await other.goto('/sign-up');
  await other.getByLabel('Organization name').fill('Squat Co');
  await other.getByLabel('Your name').fill('Not Vera');
  await other.getByLabel('E-mail').fill(email);
  await other.locator('input[type="password"]').fill('Another-Pass-7');
  await other.getByRole('button', { name: 'Create organization' }).click();
  await other.getByRole('heading', { name: 'Check your e-mail' }).waitFor();
  await other.getByRole('button', { name: 'Sign in', exact: true }).click();
  await other.getByRole('alert').getByText('That e-mail and password do not match.').waitFor();
});
