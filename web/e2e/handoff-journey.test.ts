import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, launch, newContext, PASSWORD, signUpInBrowser, uniqueEmail } from './browser.js';

// Issue 21's "Done means": a new user applies the surrogacy template, creates a case, works it
// through intake, submits it to the case managers' queue, a case manager accepts it, both are
// notified, and the case's timeline and status history tell each step.

describe('a surrogacy agency hands a case from intake to a case manager', () => {
  let browser: Browser;
  let admin: Page;
  let manager: Page;
  let caseId: string;

  beforeAll(async () => {
    browser = await launch();
    admin = await (await newContext(browser, { width: 1600, height: 1000 })).newPage();
    await signUpInBrowser(admin, 'Bright Futures Agency', 'Iris Intake', uniqueEmail('iris'), { home: true });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('applies the template from the gallery', async () => {
    await admin.goto('/settings?tab=templates');
    const card = admin.locator('[data-template="surrogacy_agency"]');
    await card.getByRole('button', { name: 'Apply Surrogacy agency' }).click();
    await admin.getByRole('dialog', { name: 'Apply Surrogacy agency?' }).waitFor();
    await admin.getByRole('button', { name: 'Apply template' }).click();
    await card.getByText('Applied', { exact: true }).first().waitFor();
    // The objects are in the navigation now.
    await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Cases' }).waitFor();
  });

  it('a case worked through intake lands in the case managers’ queue; a case manager accepts it', async () => {
    // A case manager joins.
    const invited = await apiCall(admin, 'POST', '/api/v1/invitations', {
      email: uniqueEmail('cm'),
      role: 'user',
    });
    expect(invited.status).toBe(201);
    manager = await (await newContext(browser, { width: 1600, height: 1000 })).newPage();
    const accepted = await apiCall(manager, 'POST', `/api/v1/invitations/${invited.body.id}/accept`, {
      name: 'Cora Manager',
      password: PASSWORD,
    });
    expect(accepted.status).toBe(200);
    const managerId = (await apiCall(manager, 'GET', '/api/v1/me')).body.user.id;
    expect(
      (await apiCall(admin, 'PATCH', `/api/v1/members/${managerId}`, { role: 'case_manager' })).status,
    ).toBe(204);

    // Intake: a new inquiry, then intake and screening, then submitted for case review.
    const created = await apiCall(admin, 'POST', '/api/v1/records/case', {
      custom: { name: 'Rivera family', phone: '+1 415 555 0134', state: 'CA' },
    });
    expect(created.status).toBe(201);
    caseId = created.body.id;
    for (const stage of ['intake', 'screening', 'case_review'])
      expect(
        (await apiCall(admin, 'PATCH', `/api/v1/records/case/${caseId}`, { custom: { stage } })).status,
      ).toBe(200);

    // The case manager sees the queue in the navigation, is notified, and accepts the case.
    await manager.goto('/notifications');
    await manager
      .getByText(/handed case Rivera family to your queue/i)
      .first()
      .waitFor();
    await manager
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: /Queues/ })
      .click();
    await manager.getByRole('heading', { name: 'Queues', level: 1 }).waitFor();
    const row = manager.locator('[data-handoff="Rivera family"]');
    await row.getByText('Case review').waitFor();
    await row.getByRole('button', { name: 'Accept' }).click();
    await manager.getByText('You now own “Rivera family”').waitFor();
    await expect.poll(async () => manager.locator('[data-handoff="Rivera family"]').count()).toBe(0);
  });

  it('the sender is told, and the case tells each step', async () => {
    await admin.goto('/notifications');
    await admin
      .getByText(/Cora Manager accepted case Rivera family/i)
      .first()
      .waitFor();
    await admin.goto(`/records/case/${caseId}`);
    await admin.getByRole('heading', { name: /Rivera family/, level: 1 }).waitFor();
    await admin.getByText('Screening → Case review').waitFor();
    await admin
      .getByText(/handed case Rivera family to Case managers/)
      .first()
      .waitFor();
    await admin
      .getByText(/Cora Manager accepted case Rivera family for Case managers/)
      .first()
      .waitFor();
  });
});
