import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, launch, newContext, pick, signUpInBrowser, uniqueEmail } from './browser.js';

describe('a quote from deal to the customer’s acceptance on a phone', () => {
  let browser: Browser;
  let page: Page;
  let dealId: string;
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

    dealId = deal.body.id;
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

  it('turns the accepted quote into an order: stock is reserved, the deal is won with its value, delivery takes the stock out', async () => {
    // Stock first: a warehouse and ten anvils counted in, from the Stock page.
    await page.goto('/stock');
    await page.getByLabel('New warehouse').fill('Main depot');
    await page.getByRole('button', { name: 'Add warehouse' }).click();
    await page.getByText('Main depot').first().waitFor();
    await pick(page, 'Warehouse', 'Main depot');
    await pick(page, 'Product', /Anvil/);
    await page.getByLabel('Change').fill('+10');
    await page.getByLabel('Reason').fill('Counted at opening');
    await page.getByRole('button', { name: 'Adjust' }).click();
    const anvils = page.getByRole('table', { name: 'Stock levels' }).getByRole('row', { name: /Anvil/ });
    await expect.poll(() => anvils.textContent()).toMatch(/Main depot\s*10(\.0+)?\s*0(\.0+)?\s*10/);

    // The organization's books are in its own currency: a euro deal closes at the day's rate.
    expect(
      (
        await apiCall(page, 'PUT', '/api/v1/exchange-rates', {
          currency: 'EUR',
          valid_on: '2020-01-01',
          rate: '1.1',
        })
      ).status,
    ).toBe(200);
    // No rope in stock yet: the order is refused, and the user is told why.
    await page.goto(`/opportunities/${dealId}`);
    await page.getByRole('button', { name: 'Order', exact: true }).click();
    await page.getByText(/Not enough Rope in Main depot/).waitFor();
    await page.goto('/stock');
    await pick(page, 'Warehouse', 'Main depot');
    await pick(page, 'Product', /Rope/);
    await page.getByLabel('Change').fill('+10');
    await page.getByLabel('Reason').fill('Counted at opening');
    await page.getByRole('button', { name: 'Adjust' }).click();
    await page.getByRole('table', { name: 'Stock levels' }).getByRole('row', { name: /Rope/ }).waitFor();

    await page.goto(`/opportunities/${dealId}`);
    await page.getByRole('button', { name: 'Order', exact: true }).click();
    await page.waitForURL('**/orders');
    const row = page.getByRole('table', { name: 'Orders' }).getByRole('row', { name: /Desert supplies/ });
    await row.getByRole('button').click();
    await page.getByRole('table', { name: 'Order lines' }).waitFor();
    await page.getByText('354.34 EUR').first().waitFor();

    // The deal closed won with the order's total.
    const won = await apiCall(page, 'GET', `/api/v1/opportunities/${dealId}`);
    const order = (await apiCall(page, 'GET', '/api/v1/orders')).body.data[0];
    expect(order).toMatchObject({ total: '354.34', currency: 'EUR' });
    expect(won.body.status).toBe('won');
    expect(Number(won.body.amount)).toBe(Number(order.org_total));
    // Two anvils are held for the order.
    await page.goto('/stock');
    await expect.poll(() => anvils.textContent()).toMatch(/10(\.0+)?\s*2(\.0+)?\s*8/);

    await page.goto('/orders');
    await row.getByRole('button').click();
    await page.getByRole('button', { name: 'Deliver everything' }).click();
    await page.getByText('fulfilled', { exact: true }).first().waitFor();
    await page.goto('/stock');
    await expect.poll(() => anvils.textContent()).toMatch(/8(\.0+)?\s*0(\.0+)?\s*8/);
  });
});
