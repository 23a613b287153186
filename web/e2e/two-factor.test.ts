import { type TOTP, URI } from 'otpauth';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, newContext, PASSWORD, signUpInBrowser, uniqueEmail } from './browser.js';

describe('two-factor sign-in in the browser', () => {
  let browser: Browser;
  let page: Page;
  let email: string;
  beforeAll(async () => {
    browser = await launch();
    page = await (await newContext(browser)).newPage();
    email = uniqueEmail('tess');
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('sets two-factor up on the profile page, then signs in with a code from the authenticator app', async () => {
    await signUpInBrowser(page, 'Two-factor Co', 'Tess Totp', email);
    await page.getByRole('button', { name: 'User menu' }).click();
    await page.getByRole('menuitem', { name: 'Profile and security' }).click();
    await page.getByRole('heading', { name: 'Two-factor sign-in' }).waitFor();
    await page.getByLabel('Your password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
    // The secret (as an otpauth URI) and the recovery codes are shown once.
    const uri = (await page.getByTestId('totp-uri').textContent()) ?? '';
    const totp = URI.parse(uri.trim()) as TOTP;
    expect(await page.getByTestId('recovery-codes').getByRole('listitem').count()).toBe(10);
    await page.getByLabel('Code from your authenticator app').fill(totp.generate());
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByRole('button', { name: 'Turn off' }).waitFor();

    // A new browser: the password, then the code.
    const other = await (await newContext(browser)).newPage();
    await other.goto('/sign-in');
    await other.getByLabel('E-mail').fill(email);
    await other.locator('input[type="password"]').fill(PASSWORD);
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other.getByRole('heading', { name: 'Two-factor sign-in' }).waitFor();
    await other.getByLabel('Code from your authenticator app').fill('000000');
    await other.getByRole('button', { name: 'Verify' }).click();
    await other.getByRole('alert').filter({ hasText: 'That code is not right' }).waitFor();
    await other
      .getByLabel('Code from your authenticator app')
      .fill(totp.generate({ timestamp: Date.now() + 30_000 }));
    await other.getByRole('button', { name: 'Verify' }).click();
    await other.waitForURL((url) => url.pathname === '/'); // signed in: the home page
    await other.getByRole('heading', { name: /^Hello/ }).waitFor();
  });
});
