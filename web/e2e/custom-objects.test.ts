import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, launch, newContext, pick, signUpInBrowser, uniqueEmail } from './browser.js';

describe('custom objects: an admin defines "Property" with a relation to companies and works its records', () => {
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    browser = await launch();
    page = await (await newContext(browser)).newPage();
    await signUpInBrowser(page, 'Estates Ltd', 'Pat Property', uniqueEmail('pat'));
    expect((await apiCall(page, 'POST', '/api/v1/companies', { name: 'Acme Realty' })).status).toBe(201);
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('defines the object and its fields in the settings, without code', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('tab', { name: 'Objects' }).click();
    await page.getByRole('button', { name: 'New object' }).click();
    await page.getByLabel('Name (one)').fill('Property');
    await page.getByLabel('Name (many)').fill('Properties');
    await expect(page.getByLabel('Key').inputValue()).resolves.toBe('property');
    await page.getByRole('button', { name: 'Create object' }).click();
    await page.getByRole('cell', { name: 'Properties' }).waitFor();
    // Its navigation entry appears at once.
    await page.getByRole('link', { name: 'Properties' }).waitFor();

    await page.getByRole('tab', { name: 'Custom fields' }).click();
    await pick(page, 'Object', 'Properties');
    await page.getByRole('button', { name: 'Add field' }).click();
    await page.getByLabel('Label').fill('City');
    await page.getByRole('button', { name: 'Create field' }).click();
    await page.getByRole('cell', { name: 'City', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Add field' }).click();
    await page.getByLabel('Label').fill('Company');
    await pick(page, 'Type', 'relation');
    await pick(page, 'Points to', 'Companies');
    await page.getByRole('button', { name: 'Create field' }).click();
    await page.getByRole('cell', { name: 'Company', exact: true }).waitFor();
  });

  it('creates a property linked to a company, finds it by search and reads its timeline', async () => {
    await page.getByRole('link', { name: 'Properties' }).click();
    await page.getByRole('heading', { name: 'No properties yet' }).waitFor();
    await page.getByRole('button', { name: 'New property' }).click();
    await page.getByLabel('Name').fill('Villa Rosa');
    await page.getByLabel('City').fill('Lisbon');
    const company = page
      .getByRole('textbox', { name: 'Company' })
      .or(page.getByLabel('Company', { exact: true }))
      .first();
    await company.click();
    await company.fill('Acme');
    await page.getByRole('option', { name: 'Acme Realty' }).click();
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('link', { name: 'Villa Rosa' }).waitFor();

    await page.getByRole('textbox', { name: 'Search properties' }).fill('lisb');
    await page.getByRole('link', { name: 'Villa Rosa' }).waitFor();
    await page.getByRole('textbox', { name: 'Search properties' }).fill('nowhere at all');
    await page.getByRole('heading', { name: 'No match' }).waitFor();
    await page.getByRole('textbox', { name: 'Search properties' }).fill('');

    await page.getByRole('link', { name: 'Villa Rosa' }).click();
    await page.getByRole('heading', { name: 'Villa Rosa', level: 1 }).waitFor();
    await page.getByText('Lisbon').waitFor();
    await page.getByText('Pat Property created property Villa Rosa').waitFor();
  });

  it('the global search (Ctrl+K) finds the property and opens it', async () => {
    await page.getByRole('link', { name: 'Contacts' }).click();
    await page.keyboard.press('Control+K');
    await page.getByPlaceholder('Search contacts, companies, opportunities…').fill('villa');
    await page.getByRole('button', { name: /Villa Rosa/ }).click();
    await page.getByRole('heading', { name: 'Villa Rosa', level: 1 }).waitFor();
  });
});
