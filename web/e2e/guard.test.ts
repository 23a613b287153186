import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, launch, newContext, PASSWORD, pick, signUpInBrowser, uniqueEmail } from './browser.js';

describe('the guard in Settings → Security incidents', () => {
  let browser: Browser;
  let admin: Page;
  beforeAll(async () => {
    browser = await launch();
    admin = await (await newContext(browser)).newPage();
    await signUpInBrowser(admin, 'Guarded Ltd', 'Gail Admin', uniqueEmail('gail'));
    for (let i = 0; i < 6; i++) {
      const c = await apiCall(admin, 'POST', '/api/v1/contacts', {
        first_name: 'Guarded',
        last_name: `No ${i}`,
      });
      expect(c.status).toBe(201);
    }
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('an admin tightens a budget, a member crossing it is stopped, and the admin unlocks them', async () => {
    // Budgets: the form of the security tab, for the "user" role.
    await admin.goto('/settings?tab=security');
    await admin.getByRole('heading', { name: 'Guard budgets' }).waitFor();
    await pick(admin, 'Role', 'user');
    await admin.getByLabel('Records read: warn at').fill('2');
    await admin.getByLabel('Records read: block past').fill('3');
    await admin.getByRole('button', { name: 'Save budgets' }).click();
    await admin.getByText('Budgets of user saved').waitFor();
    const settings = await apiCall(admin, 'GET', '/api/v1/guard/settings');
    const user = settings.body.data.find((s: { role: string }) => s.role === 'user');
    expect(user.budgets.read).toMatchObject({ warn: 2, block: 3, is_default: false });

    // A member joins; opening the contacts list reads 6 contacts, past 3: the guard stops them.
    const memberEmail = uniqueEmail('mo');
    const invited = await apiCall(admin, 'POST', '/api/v1/invitations', { email: memberEmail, role: 'user' });
    const member = await (await newContext(browser)).newPage();
    await member.goto(new URL(invited.body.link).pathname);
    await member.getByLabel('Your name').fill('Mo Member');
    await member.locator('input[type="password"]').fill(PASSWORD);
    await member.getByRole('button', { name: 'Accept invitation' }).click();
    await member.waitForURL((url) => url.pathname === '/'); // signed in: the home page
    const refused = await apiCall(member, 'GET', '/api/v1/contacts');
    expect([401, 403]).toContain(refused.status);

    // The admin reviews the incident on the security tab and unlocks the member.
    await admin.goto('/settings?tab=security');
    const card = admin.getByTestId('guard-incident').filter({ hasText: memberEmail });
    await card.waitFor();
    await card.getByText('locked', { exact: true }).waitFor();
    await card.getByText(/records read in 1 h/).waitFor();
    await card.getByLabel('Note (kept in the audit log)').fill('Checked with Mo');
    await card.getByRole('button', { name: 'Unlock' }).click();
    await admin.getByText('Incident resolved').waitFor();
    await admin.getByText('Nothing to review.').waitFor();
    const incidents = await apiCall(admin, 'GET', '/api/v1/guard/incidents');
    expect(incidents.body.data[0]).toMatchObject({
      status: 'resolved',
      resolution: 'unlocked',
      note: 'Checked with Mo',
    });

    // The alert reached the admin's notifications, linking to the security tab.
    await admin.goto('/notifications');
    await admin
      .getByText(/was stopped by the guard/)
      .first()
      .waitFor();
  });
});
