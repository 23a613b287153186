import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, launch, newContext, signUpInBrowser, uniqueEmail } from './browser.js';

const everyDay = Object.fromEntries(
  ['1', '2', '3', '4', '5', '6', '7'].map((d) => [d, [{ start: '00:00', end: '23:30' }]]),
);

describe('the public booking page: a visitor books a meeting with a salesperson', () => {
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    browser = await launch();
    page = await (await newContext(browser)).newPage();
    await signUpInBrowser(page, 'Bookings Ltd', 'Bo Booker', uniqueEmail('bo'));
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('picks a day and a time, gives a name and e-mail, and the booking lands on the host’s side', async () => {
    const me = await apiCall(page, 'GET', '/api/v1/me');
    const hours = { time_zone: 'UTC', weekly: everyDay, overrides: [] };
    expect((await apiCall(page, 'PUT', '/api/v1/me/availability', hours)).status).toBe(200);
    const type = await apiCall(page, 'POST', '/api/v1/meeting-types', {
      name: 'Intro call',
      duration_minutes: 30,
      assignment: 'single',
      host_ids: [me.body.user.id],
    });
    expect(type.status).toBe(201);

    const visitor = await (await newContext(browser)).newPage();
    await visitor.goto(new URL(type.body.booking_url).pathname);
    await visitor.getByRole('heading', { name: 'Intro call', level: 1 }).waitFor();
    await visitor.getByRole('group', { name: 'Days' }).getByRole('button').nth(1).click();
    await visitor.getByRole('group', { name: 'Times' }).getByRole('button').first().click();
    await visitor.getByLabel('Your name').fill('Vic Visitor');
    const email = uniqueEmail('vic');
    await visitor.getByLabel('E-mail').fill(email);
    await visitor.getByRole('button', { name: /^Book / }).click();
    await visitor.getByRole('heading', { name: 'Booked: Intro call' }).waitFor();

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Scheduling' }).click();
    await page.getByRole('tab', { name: 'My bookings' }).click();
    await page.getByRole('link', { name: 'Vic Visitor' }).waitFor();
    const contacts = await apiCall(page, 'GET', `/api/v1/contacts?q=${encodeURIComponent(email)}`);
    expect(contacts.body.data.map((c: { email: string }) => c.email)).toContain(email);
  });
});
