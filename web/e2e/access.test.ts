import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, launch, newContext, PASSWORD, pick, signUpInBrowser, uniqueEmail } from './browser.js';

describe('who sees what: a viewer reads without edit controls; another organization sees nothing', () => {
  let browser: Browser;
  let admin: Page;
  let contactId: string;
  beforeAll(async () => {
    browser = await launch();
    admin = await (await newContext(browser)).newPage();
    await signUpInBrowser(admin, 'Vantage Corp', 'Val Admin', uniqueEmail('val'));
    const contact = await apiCall(admin, 'POST', '/api/v1/contacts', {
      first_name: 'Grace',
      last_name: 'Hopper',
      emails: [{ value: 'grace@vantage.test' }],
      tags: ['navy'],
    });
    expect(contact.status).toBe(201);
    contactId = contact.body.id;
    const opp = await apiCall(admin, 'POST', '/api/v1/opportunities', {
      title: 'Vantage fleet',
      source: 'manual',
      amount: 900,
    });
    expect(opp.status).toBe(201);
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('a viewer accepts an invitation, reads everything, and finds no edit controls; the server refuses edits anyway', async () => {
    // The admin invites from the settings screen and copies the link it shows.
    await admin.goto('/settings');
    const viewerEmail = uniqueEmail('vic');
    await admin.getByLabel('E-mail').fill(viewerEmail);
    await pick(admin, 'Role', /^Viewer/);
    await admin.getByRole('button', { name: 'Invite' }).click();
    await admin.getByRole('button', { name: `Copy invitation link for ${viewerEmail}` }).waitFor();
    const invitations = await apiCall(admin, 'GET', '/api/v1/invitations');
    const link: string = invitations.body.data.find((i: { email: string }) => i.email === viewerEmail).link;

    const viewer = await (await newContext(browser)).newPage();
    await viewer.goto(new URL(link).pathname);
    await viewer.getByRole('heading', { name: 'Join Vantage Corp' }).waitFor();
    await viewer.getByLabel('Your name').fill('Vic Viewer');
    await viewer.locator('input[type="password"]').fill(PASSWORD);
    await viewer.getByRole('button', { name: 'Accept invitation' }).click();
    await viewer.waitForURL((url) => url.pathname === '/');
    await viewer.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Contacts' }).click();
    await viewer.waitForURL('**/contacts');

    // The list: records, but no "New contact" and no bulk selection.
    await viewer.getByRole('link', { name: 'Grace', exact: true }).waitFor();
    expect(await viewer.getByRole('button', { name: 'New contact' }).count()).toBe(0);
    expect(await viewer.getByRole('checkbox', { name: 'Select row' }).count()).toBe(0);
    expect(await viewer.getByRole('link', { name: 'Settings' }).count()).toBe(0);

    // The detail page: values, no pencils, no archive, no note editor, no task form.
    await viewer.getByRole('link', { name: 'Grace', exact: true }).click();
    await viewer.getByRole('heading', { name: 'Grace Hopper', level: 1 }).waitFor();
    await viewer.getByText('grace@vantage.test').first().waitFor();
    expect(await viewer.getByRole('button', { name: /^Edit / }).count()).toBe(0);
    expect(await viewer.getByRole('button', { name: 'Archive' }).count()).toBe(0);
    expect(await viewer.getByRole('textbox', { name: 'New note' }).count()).toBe(0);
    expect(await viewer.getByRole('textbox', { name: 'New task' }).count()).toBe(0);

    // The board: cards shown, no "New opportunity", cards not draggable.
    await viewer.getByRole('link', { name: 'Opportunities' }).click();
    await viewer.locator('[data-card="Vantage fleet"]').waitFor();
    expect(await viewer.getByRole('button', { name: 'New opportunity' }).count()).toBe(0);
    expect(await viewer.getByRole('button', { name: 'Move Vantage fleet' }).count()).toBe(0);

    // And the server refuses what the screens do not offer.
    const patch = await apiCall(viewer, 'PATCH', `/api/v1/contacts/${contactId}`, { first_name: 'Amazing' });
    expect(patch.status).toBe(403);
    const after = await apiCall(admin, 'GET', `/api/v1/contacts/${contactId}`);
    expect(after.body.first_name).toBe('Grace');
  });

  it("a second organization never sees the first one's records: lists, search and direct links", async () => {
    const other = await (await newContext(browser)).newPage();
    await signUpInBrowser(other, 'Other Org', 'Otto Other', uniqueEmail('otto'));
    await other.getByRole('heading', { name: 'No contacts yet' }).waitFor();

    await other.keyboard.press('Control+k');
    await other.getByPlaceholder('Search contacts, companies, opportunities…').fill('Hopper');
    await other.getByText('Nothing found').waitFor();
    await other.keyboard.press('Escape');

    await other.goto(`/contacts/${contactId}`);
    await other.getByRole('heading', { name: 'Not found' }).waitFor();
    await other.goto('/opportunities');
    await other.getByRole('heading', { name: 'No opportunities yet' }).waitFor();
    expect(await other.locator('[data-card="Vantage fleet"]').count()).toBe(0);

    // The first organization's own search finds it, to show the search works at all.
    await admin.goto('/contacts');
    await admin.getByRole('heading', { name: 'Contacts', level: 1 }).waitFor();
    await admin.keyboard.press('Control+k');
    await admin.getByPlaceholder('Search contacts, companies, opportunities…').fill('Hopper');
    await admin
      .getByRole('button', { name: /Grace Hopper/ })
      .or(admin.getByText('Grace Hopper'))
      .first()
      .waitFor();
  });
});
