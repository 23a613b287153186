import { randomBytes } from 'node:crypto';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { inject } from 'vitest';

/** Debian's Chromium (`apt-get install -y chromium`). */
export const CHROMIUM = '/usr/bin/chromium';
export const PASSWORD = 'Correct-Horse-9';

/** The flags this machine kind needs to run Chromium headless in a container. */
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export const baseUrl = (): string => inject('baseUrl');

export async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

/** A fresh browser profile (its own cookies) on the e2e server, laptop-sized. */
export async function newContext(
  browser: Browser,
  viewport = { width: 1366, height: 860 },
): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL: baseUrl(), viewport, colorScheme: 'light' });
  context.setDefaultTimeout(15_000);
  return context;
}

export const uniqueEmail = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}@cairn.test`;

/**
 * Signs up through the sign-up screen and signs in from its "check your e-mail" step, which lands on the home page; then (unless `home`) opens
 * the contacts page from the navigation, where most journeys start.
 */
export async function signUpInBrowser(
  page: Page,
  org: string,
  name: string,
  email: string,
  { home = false }: { home?: boolean } = {},
): Promise<void> {
  await page.goto('/sign-up');
  await page.getByLabel('Organization name').fill(org);
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel('E-mail').fill(email);
  await page.locator('input[type="password"]').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create organization' }).click();
  // The same answer for any address (issue 22): "check your e-mail", then sign in.
  await page.getByRole('heading', { name: 'Check your e-mail' }).waitFor();
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((url) => url.pathname === '/');
  await page.getByRole('heading', { name: /^Hello/ }).waitFor();
  if (home) return;
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Contacts' }).click();
  await page.waitForURL('**/contacts');
}

export async function signInInBrowser(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.goto('/sign-in');
  await page.getByLabel('E-mail').fill(email);
  await page.locator('input[type="password"]').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'));
}

/** A JSON API call with the page's session cookie (and the Origin the server checks). */
export async function apiCall<T = any>(
  page: Page,
  method: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await page.request.fetch(url, {
    method,
    headers: { origin: baseUrl(), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { data: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status(), body: text ? JSON.parse(text) : undefined };
}

/** Drags an element onto another with the mouse, in steps, as dnd-kit's pointer sensor needs. */
export async function dragTo(
  page: Page,
  from: ReturnType<Page['locator']>,
  to: ReturnType<Page['locator']>,
): Promise<void> {
  // Grab the card where it rests: after a drop it may still be animating into place, and a box
  // read mid-animation puts the mouse beside it (as a person would wait to see it settle).
  const settled = async (locator: ReturnType<Page['locator']>) => {
    let last = JSON.stringify(await locator.boundingBox());
    for (let i = 0; i < 50; i++) {
      await page.waitForTimeout(100);
      const now = JSON.stringify(await locator.boundingBox());
      if (now === last) break;
      last = now;
    }
    return (await locator.boundingBox())!;
  };
  const a = await settled(from);
  const b = await settled(to);
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move(a.x + a.width / 2 + 10, a.y + a.height / 2 + 10, { steps: 5 });
  await page.mouse.move(b.x + b.width / 2, b.y + Math.min(b.height / 2, 80), { steps: 15 });
  await page.mouse.up();
}

/** Opens a Mantine select by its label and picks an option. */
export async function pick(page: Page, label: string, option: string | RegExp): Promise<void> {
  await page.getByRole('combobox', { name: label, exact: true }).click();
  await page.getByRole('option', { name: option }).first().click();
}
