import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, launch, newContext, PASSWORD, signUpInBrowser, uniqueEmail } from './browser.js';

describe('notifications: the bell counts live, the dropdown and the page lead to the record', () => {
  let browser: Browser;
  let admin: Page;
  let member: Page;
  let memberId: string;
  let contactId: string;
  beforeAll(async () => {
    browser = await launch();
    admin = await (await newContext(browser)).newPage();
    await signUpInBrowser(admin, 'Bellwether', 'Bea Admin', uniqueEmail('bea'));
    const invited = await apiCall(admin, 'POST', '/api/v1/invitations', {
      email: uniqueEmail('moe'),
      role: 'user',
    });
    expect(invited.status).toBe(201);
    member = await (await newContext(browser)).newPage();
    const accepted = await apiCall(member, 'POST', `/api/v1/invitations/${invited.body.id}/accept`, {
      name: 'Moe Member',
      password: PASSWORD,
    });
    expect(accepted.status).toBe(200);
    memberId = (await apiCall(member, 'GET', '/api/v1/me')).body.user.id;
    const contact = await apiCall(admin, 'POST', '/api/v1/contacts', {
      first_name: 'Grace',
      last_name: 'Hopper',
    });
    contactId = contact.body.id;
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('an assignment by another member shows on the open page without a reload, and opens the record', async () => {
    await member.goto('/contacts');
    const bell = member.getByRole('button', { name: /^Notifications/ });
    await expect.poll(() => bell.getAttribute('aria-label')).toBe('Notifications');
    expect(
      (await apiCall(admin, 'PATCH', `/api/v1/contacts/${contactId}`, { owner_id: memberId })).status,
    ).toBe(200);
    // Pushed over the event stream: no reload, no click.
    await expect
      .poll(() => bell.getAttribute('aria-label'), { timeout: 10_000 })
      .toBe('Notifications, 1 unread');
    await bell.click();
    await member.getByText('Bea Admin assigned you contact Grace Hopper').click();
    await member.waitForURL(`**/contacts/${contactId}`);
    await member.getByRole('heading', { name: 'Grace Hopper', level: 1 }).waitFor();
    await expect.poll(() => bell.getAttribute('aria-label')).toBe('Notifications');
  });

  it('a mention written with the note editor notifies the member, who reads it on the notifications page', async () => {
    await admin.goto(`/contacts/${contactId}`);
    await admin.getByLabel('New note').click();
    await admin.keyboard.type('Over to you ');
    await admin.getByRole('button', { name: 'Mention a member' }).click();
    await admin.getByRole('menuitem', { name: 'Moe Member' }).click();
    await admin.keyboard.type('please call her.');
    await admin.getByRole('button', { name: 'Add note' }).click();
    // Saved with the mention syntax the server keeps.
    await expect
      .poll(async () => {
        const notes = await apiCall(admin, 'GET', `/api/v1/notes?object=contact&id=${contactId}`);
        return notes.body.data[0]?.body_html ?? '';
      })
      .toContain(`<span data-mention="${memberId}">@Moe Member</span>`);

    const bell = member.getByRole('button', { name: /^Notifications/ });
    await expect
      .poll(() => bell.getAttribute('aria-label'), { timeout: 10_000 })
      .toBe('Notifications, 1 unread');
    await member.goto('/notifications');
    await member.getByText('Bea Admin mentioned you in a note on contact Grace Hopper').waitFor();
    // The note's first words, as a quote under the title.
    await member.getByText(/^“Over to you @Moe Member/).waitFor();
    await member.getByRole('button', { name: 'Mark all read' }).click();
    await expect.poll(() => bell.getAttribute('aria-label')).toBe('Notifications');
    // Settings per kind: turning mentions off in the app is kept.
    await member.getByRole('tab', { name: 'Settings' }).click();
    await member.getByLabel('Someone mentions me in a note: in the app').click({ force: true });
    await expect
      .poll(async () => {
        const settings = await apiCall(member, 'GET', '/api/v1/notifications/settings');
        return settings.body.data.find((s: { kind: string }) => s.kind === 'mention').in_app;
      })
      .toBe(false);
  });
});
