import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, dragTo, launch, newContext, signUpInBrowser, uniqueEmail } from './browser.js';

const column = (page: Page, name: string) => page.locator(`[data-stage="${name}"]`);

describe('the board of a custom object grouped by its status field', () => {
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    browser = await launch();
    page = await (await newContext(browser, { width: 1800, height: 900 })).newPage();
    await signUpInBrowser(page, 'Agency Ltd', 'Cass Manager', uniqueEmail('cass'));
    expect(
      (
        await apiCall(page, 'POST', '/api/v1/objects', {
          key: 'case',
          label_singular: 'Case',
          label_plural: 'Cases',
          numbering: { prefix: 'CASE-', digits: 5 },
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await apiCall(page, 'POST', '/api/v1/objects/case/fields', {
          label: 'Stage',
          type: 'status',
          statuses: {
            statuses: [
              { value: 'inquiry', label: 'Inquiry' },
              { value: 'screening', label: 'Screening' },
              { value: 'matched', label: 'Matched', kind: 'done' },
              { value: 'withdrawn', label: 'Withdrawn', kind: 'cancelled', reason_required: true },
            ],
            transitions: [
              { from: 'inquiry', to: 'screening' },
              { from: 'screening', to: 'matched' },
              { from: 'inquiry', to: 'withdrawn' },
              { from: 'screening', to: 'withdrawn' },
            ],
          },
        })
      ).status,
    ).toBe(201);
    const created = await apiCall(page, 'POST', '/api/v1/records/case', {
      custom: { name: 'Rivera family' },
    });
    expect(created.status).toBe(201);
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('moves a card to the next status, refuses a move the statuses do not allow, and asks why for one that needs a reason', async () => {
    await page.goto('/records/case');
    await page.getByRole('link', { name: 'Board', exact: true }).click();
    const card = (status: string) => column(page, status).locator('[data-card="Rivera family"]');
    await card('Inquiry').waitFor();
    await page.getByText('CASE-00001').waitFor();

    // Inquiry -> Matched is not an allowed move: the server answers 409 and the card goes back.
    await dragTo(page, card('Inquiry'), column(page, 'Matched'));
    await page.getByText('“Rivera family” was not moved').waitFor();
    await page.getByText(/cannot move from Inquiry to Matched/).waitFor();
    await card('Inquiry').waitFor();

    // Inquiry -> Screening is allowed.
    await dragTo(page, card('Inquiry'), column(page, 'Screening'));
    await card('Screening').waitFor();
    await expect(column(page, 'Screening').getByTestId('stage-count').textContent()).resolves.toBe('1');
    // Screening -> Withdrawn needs a reason: the dialog asks for it before the move is sent.
    await dragTo(page, card('Screening'), column(page, 'Withdrawn'));
    await page.getByRole('dialog', { name: 'Why?' }).waitFor();
    await page.getByLabel('Reason').fill('The family chose another agency');
    await page.getByRole('button', { name: 'Move', exact: true }).click();
    await card('Withdrawn').waitFor();

    // The record's page tells the history with the reason.
    await card('Withdrawn').getByRole('link', { name: 'Rivera family' }).click();
    await page.getByRole('heading', { name: /Rivera family/, level: 1 }).waitFor();
    await page.getByText('Screening → Withdrawn').waitFor();
    await page
      .getByText(/The family chose another agency/)
      .first()
      .waitFor();
  });
});
