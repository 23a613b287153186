import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, launch, newContext, pick, signUpInBrowser, uniqueEmail } from './browser.js';

describe('a quote from deal to the customer’s acceptance on a phone', () => {
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    browser = await launch();
    page = await (await newContext(browser)).newPage();
    await signUpInBrowser(page, 'Quoting Co', 'Quinn Quoter', uniqueEmail('quinn'));
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('adds two products from the price list, sends the quote, and the customer accepts it on a 390 px screen', async () => {
    const list = await apiCall(page, 'POST', '/api/v1/price-lists', { name: 'Europe', currency: 'EUR' });
    expect(list.status).toBe(201);
    for (const [sku, name, price, tax] of [
      ['ANV-1', 'Anvil', '120', '20'],
      ['ROPE-9', 'Rope', '15.50', '7'],
    ]) {
      const p = await apiCall(page, 'POST', '/api/v1/products', { sku, name, tax_rate: tax });
      expect(p.status).toBe(201);
      const priced = await apiCall(page, 'POST', `/api/v1/price-lists/${list.body.id}/prices`, {
        product_id: p.body.id,
        unit_price: price,
      });
      expect(priced.status).toBe(201);
    }
    const contact = await apiCall(page, 'POST', '/api/v1/contacts', {
      first_name: 'Wile',
      last_name: 'Coyote',
      emails: [{ value: 'wile@acme.example' }],
    });
    const deal = await apiCall(page, 'POST', '/api/v1/opportunities', {
      title: 'Desert supplies',
      currency: 'EUR',
      contact_id: contact.body.id,
    });

    await page.goto(`/opportunities/${deal.body.id}`);
    await page.getByRole('button', { name: 'New quote' }).click();
    await page.waitForURL('**/quotes/*');
    await pick(page, 'Line 1 product', /Anvil/);
    await page.getByLabel('Line 1 quantity').fill('2');
    await page.getByLabel('Line 1 quantity').press('Enter'); // a new line, focused
    await pick(page, 'Line 2 product', /Rope/);
    await page.getByLabel('Line 2 quantity').fill('4');
    // 2 x 120 + 20 % = 288.00; 4 x 15.50 + 7 % = 66.34
    await expect
      .poll(() => page.getByTestId('quote-total').textContent(), { timeout: 10_000 })
      .toBe('354.34 EUR');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    // The customer's link, or the reason the quote was not sent (shown to the user).
    await page.getByTestId('public-link').or(page.getByText('Not sent')).first().waitFor();
    const refused = page.getByRole('alert').filter({ hasText: 'Not sent' });
    if (await refused.count()) throw new Error(`The quote was not sent: ${await refused.textContent()}`);
    const link = await page.getByTestId('public-link').textContent();
    expect(link).toMatch(/\/api\/v1\/public\/quotes\//);

    const phone = await (await newContext(browser, { width: 390, height: 844 })).newPage();
    await phone.goto(new URL(link!).pathname);
    await phone.getByText('€354.34').first().waitFor();
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await phone.getByLabel('Type your full name to accept').fill('Wile E. Coyote');
    await phone.getByRole('button', { name: 'Accept quote' }).click();
    await phone.getByText('Accepted by Wile E. Coyote').waitFor();

    await page.reload();
    await page.getByText('By Wile E. Coyote').waitFor();
  });
});
