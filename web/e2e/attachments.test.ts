import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, launch, newContext, signUpInBrowser, uniqueEmail } from './browser.js';

// Issue 26: a contact's page has an attachments panel (upload with progress, list, download,
// delete) and, for an admin, "Export personal data" and "Erase" with a confirmation.
const SAMPLES = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../shared/data/security/payloadsallthethings',
);

describe('attachments and the GDPR buttons on a contact page', () => {
  let browser: Browser;
  let page: Page;
  let contactId: string;
  beforeAll(async () => {
    browser = await launch();
    page = await (await newContext(browser)).newPage();
    await signUpInBrowser(page, 'Papers Ltd', 'Pat Papers', uniqueEmail('pat'));
    const made = await apiCall(page, 'POST', '/api/v1/contacts', {
      first_name: 'Rosalind',
      last_name: 'Franklin',
      emails: [{ value: 'rosalind@kings.example' }],
    });
    contactId = made.body.id;
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('attaches a photo, refuses an SVG with its reason, downloads and deletes', async () => {
    await page.goto(`/contacts/${contactId}`);
    const panel = page.getByRole('region', { name: 'Attachments' });
    await panel.getByText('No files yet.').waitFor();
    const chooser = page.waitForEvent('filechooser');
    await panel.getByRole('button', { name: 'Attach a file' }).click();
    await (await chooser).setFiles(path.join(SAMPLES, 'xss-files/payload_in_all_known_metadata.jpg'));
    await panel.getByText('payload_in_all_known_metadata.jpg').waitFor();

    const svg = page.waitForEvent('filechooser');
    await panel.getByRole('button', { name: 'Attach a file' }).click();
    await (await svg).setFiles(path.join(SAMPLES, 'xss-files/SVG_XSS1.svg'));
    await panel
      .getByText(/Files of type \.svg are not accepted/)
      .first()
      .waitFor();
    await expect(panel.getByText('rejected').count()).resolves.toBeGreaterThan(0);

    const download = page.waitForEvent('download');
    await panel.getByRole('button', { name: 'Download payload_in_all_known_metadata.jpg' }).click();
    const saved = await (await download).path();
    const bytes = readFileSync(saved!);
    expect(bytes.subarray(0, 3).toString('hex')).toBe('ffd8ff');
    expect(bytes.toString('latin1')).not.toMatch(/<script/i);

    await panel.getByRole('button', { name: 'Delete payload_in_all_known_metadata.jpg' }).click();
    await expect
      .poll(() => panel.getByRole('button', { name: 'Download payload_in_all_known_metadata.jpg' }).count())
      .toBe(0);
  });

  it('exports the contact’s personal data and erases them after a confirmation', async () => {
    await page.goto(`/contacts/${contactId}`);
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Export personal data' }).click();
    const zip = readFileSync((await (await download).path())!);
    expect(zip.subarray(0, 2).toString()).toBe('PK');

    await page.getByRole('button', { name: 'Erase', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Erase this contact?' });
    await dialog.getByText('This cannot be undone.', { exact: false }).waitFor();
    await dialog.getByRole('button', { name: 'Erase for good' }).click();
    await page.waitForURL('**/contacts');
    expect((await apiCall(page, 'GET', `/api/v1/contacts/${contactId}`)).status).toBe(404);
  });
});
