import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, dragTo, launch, newContext, signUpInBrowser, uniqueEmail } from './browser.js';

// A salesperson's working day (issue 20): the home page, logging a call, a deal from a contact,
// dropping it on Won with a reason, search, on a laptop and on a phone.
const axeSource: string = createRequire(import.meta.url)('axe-core').source;

async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const results = await page.evaluate(async () =>
    (window as any).axe.run(document, { resultTypes: ['violations'] }),
  );
  return (results.violations as { id: string; impact: string; nodes: { html: string }[] }[])
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.html.slice(0, 120)).join('; ')}`);
}

/** Whether the page itself scrolls sideways (its content wider than the window). */
const scrollsSideways = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1);

const column = (page: Page, stage: string) => page.locator(`[data-stage="${stage}"]`);

describe("a salesperson's day", () => {
  let browser: Browser;
  let page: Page;
  let contactId: string;
  beforeAll(async () => {
    browser = await launch();
    page = await (await newContext(browser, { width: 2200, height: 900 })).newPage();
    await signUpInBrowser(page, 'Workday Ltd', 'Wendy Work', uniqueEmail('wendy'), { home: true });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('a new organization lands on its home page with the getting-started steps, and sample data comes and goes', async () => {
    const started = page.getByRole('region', { name: 'Getting started' });
    await started.getByRole('link', { name: 'Import your contacts' }).waitFor();
    await started.getByRole('link', { name: 'Invite a teammate' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);

    await started.getByRole('button', { name: 'Load sample data' }).click();
    await page.getByText(/Sample data loaded: \d+ records/).waitFor({ timeout: 60_000 }); // the demo generator at work
    // A busy organization: my deals by stage, each number a link to the board.
    const deals = page.getByRole('region', { name: 'My open deals' });
    await deals.getByRole('link', { name: /^\d+ open$/ }).waitFor();
    const activity = page.getByRole('region', { name: 'Recent activity' });
    await activity
      .getByText(/^Wendy Work created /)
      .first()
      .waitFor();
    await deals.getByRole('link', { name: /^\d+ open$/ }).click();
    await page.waitForURL(/\/opportunities\?.*owner=/);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Home' }).click();

    await started.getByRole('button', { name: 'Remove sample data' }).click();
    await page.getByText(/Sample data removed: \d+ records/).waitFor({ timeout: 60_000 });
    await deals.getByText('No open deals of yours', { exact: false }).waitFor();
  });

  it('logs a call on a contact: the timeline and the home page tell it in a sentence', async () => {
    const company = await apiCall(page, 'POST', '/api/v1/companies', { name: 'Globex' });
    const contact = await apiCall(page, 'POST', '/api/v1/contacts', {
      first_name: 'Grace',
      last_name: 'Hopper',
      emails: [{ value: 'grace@globex.example' }],
      phones: [{ number: '+1 415 555 0142 ext. 67259' }],
      companies: [{ id: company.body.id, primary: true }],
    });
    contactId = contact.body.id;
    await page.goto(`/contacts/${contactId}`);
    await page.getByRole('heading', { name: 'Grace Hopper', level: 1 }).waitFor();
    // E-mails and phones are links, the phone formatted.
    expect(await page.getByRole('link', { name: 'grace@globex.example' }).getAttribute('href')).toBe(
      'mailto:grace@globex.example',
    );
    const phone = page.getByRole('link', { name: '+1 415-555-0142 ext. 67259' });
    expect(await phone.getAttribute('href')).toBe('tel:+14155550142;ext=67259');

    const activity = page.getByRole('region', { name: 'Activity' });
    // The composer's kind: a segmented control, picked by its visible label.
    await activity
      .locator('label')
      .filter({ hasText: /^Call$/ })
      .click();
    await expect.poll(() => activity.getByRole('radio', { name: 'Call' }).isChecked()).toBe(true);
    await activity.getByLabel('Duration (minutes)').fill('15');
    await activity.getByRole('textbox', { name: 'Call notes' }).fill('Talked about pricing');
    await activity.getByRole('button', { name: 'Log call' }).click();
    await page.getByText('Call logged').waitFor();
    const words = 'Wendy Work logged a call with Grace Hopper (connected, 15 min): Talked about pricing';
    await page.getByTestId('timeline').getByText(words).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Home' }).click();
    await page.getByRole('region', { name: 'Recent activity' }).getByText(words).waitFor();
    await page
      .getByRole('region', { name: 'Recently viewed' })
      .getByRole('link', { name: 'Grace Hopper' })
      .waitFor();
  });

  it('starts a deal from the contact, with the contact and company filled in, and drops it on Won with a reason', async () => {
    await page.goto(`/contacts/${contactId}`);
    await page.getByRole('button', { name: 'New deal' }).click();
    const dialog = page.getByRole('dialog', { name: 'New opportunity' });
    expect(await dialog.getByLabel('Title').inputValue()).toBe('Grace Hopper deal');
    expect(await dialog.getByLabel('Contact', { exact: true }).inputValue()).toBe('Grace Hopper');
    expect(await dialog.getByLabel('Company', { exact: true }).inputValue()).toBe('Globex');
    await dialog.getByLabel('Value').fill('12000');
    await dialog.getByRole('button', { name: 'Create opportunity' }).click();
    await page.getByRole('heading', { name: 'Grace Hopper deal', level: 1 }).waitFor({ timeout: 30_000 });
    const dealId = new URL(page.url()).pathname.split('/').pop()!;

    const pipelines = await apiCall(page, 'GET', '/api/v1/pipelines');
    const stages: { name: string; kind: string }[] = pipelines.body.data[0].stages;
    const won = stages.find((s) => s.kind === 'won')!.name;
    const first = stages.find((s) => s.kind === 'open')!.name;
    await page.goto('/opportunities');
    const card = column(page, first).locator('[data-card="Grace Hopper deal"]');
    await card.waitFor();
    await column(page, first)
      .getByTestId('stage-weighted')
      .getByText(/^weighted /)
      .waitFor();
    await dragTo(page, card, column(page, won));
    const dialogWon = page.getByRole('dialog', { name: 'Close “Grace Hopper deal” as won' });
    await dialogWon.getByLabel('Why was it won?').fill('Best fit');
    await dialogWon.getByRole('button', { name: 'Close as won' }).click();
    await page.getByText('“Grace Hopper deal” closed as won').waitFor();
    const deal = (await apiCall(page, 'GET', `/api/v1/opportunities/${dealId}`)).body;
    expect(deal).toMatchObject({ status: 'won', close_reason: 'Best fit' });
  });

  it('Ctrl+K finds a contact by name, shows its e-mail and company, and Enter opens it', async () => {
    await page.goto('/tasks');
    await page.getByRole('heading', { name: 'Tasks', level: 1 }).waitFor();
    await page.keyboard.press('Control+k');
    await page.getByPlaceholder('Search contacts, companies, opportunities…').fill('Hopper');
    await page.getByText('grace@globex.example · Globex').waitFor();
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/contacts/${contactId}`);
    await page.getByRole('heading', { name: 'Grace Hopper', level: 1 }).waitFor();
  });

  it('edits a phone number in the contacts list in place, and moves through rows with j and k', async () => {
    await page.goto('/contacts');
    const row = page.getByRole('row', { name: /Grace/ });
    await row.waitFor();
    await row.getByRole('cell', { name: /^Phone: double-click/ }).dblclick();
    const input = row.getByRole('textbox', { name: 'Phone' });
    await input.fill('+1 415 555 0199');
    await input.press('Enter');
    await page.getByText('Saved', { exact: true }).waitFor();
    await expect
      .poll(async () => (await apiCall(page, 'GET', `/api/v1/contacts/${contactId}`)).body.phone)
      .toBe('+14155550199');
    // j focuses the first row's name, Enter opens it.
    await page.getByRole('heading', { name: 'Contacts', level: 1 }).click();
    await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/contacts\/[0-9a-f-]{36}$/);
  });

  it("an admin sets the organization's currency, time zone, phone country and fiscal year", async () => {
    await page.goto('/settings?tab=organization');
    await page.getByLabel('Organization name').waitFor();
    await page.getByLabel('Default currency').fill('EUR');
    await page.getByLabel('Country for phone numbers').fill('DE');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Organization settings saved').waitFor();
    const saved = await apiCall(page, 'GET', '/api/v1/organization/settings');
    expect(saved.body).toMatchObject({ name: 'Workday Ltd', default_currency: 'EUR', country: 'DE' });
  });

  it('on a phone (390 px) no page scrolls sideways', async () => {
    const phone = await (await newContext(browser, { width: 390, height: 844 })).newPage();
    await phone.context().addCookies(await page.context().cookies());
    for (const [url, heading] of [
      ['/', /^Hello/],
      ['/contacts', 'Contacts'],
      [`/contacts/${contactId}`, 'Grace Hopper'],
      ['/tasks', 'Tasks'],
    ] as const) {
      await phone.goto(url);
      await phone.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await phone.waitForLoadState('networkidle');
      expect(await scrollsSideways(phone), url).toBe(false);
    }
  });
});
