import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dragTo, launch, newContext, signUpInBrowser, uniqueEmail } from './browser.js';

/** Picks an option of a Mantine select or searchable select by typing and clicking it. */
async function choose(page: Page, label: string, typed: string, option: string | RegExp) {
  const input = page
    .getByRole('textbox', { name: label })
    .or(page.getByLabel(label, { exact: true }))
    .first();
  await input.click();
  await input.fill(typed);
  await page.getByRole('option', { name: option }).first().click();
}

const column = (page: Page, stage: string) => page.locator(`[data-stage="${stage}"]`);
const card = (page: Page, title: string) => page.locator(`[data-card="${title}"]`);

describe('the first journey: sign up, records, the board, closing a deal, the timeline', () => {
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    browser = await launch();
    page = await (await newContext(browser)).newPage();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('signs up and lands in an empty CRM that says what to do next', async () => {
    await signUpInBrowser(page, 'Journey Ltd', 'Jo Journey', uniqueEmail('jo'));
    await expect(page.getByTestId('org-name').textContent()).resolves.toBe('Journey Ltd');
    await page.getByRole('heading', { name: 'No contacts yet' }).waitFor();
  });

  it('creates a company, then a contact at it, and tags the contact', async () => {
    await page.getByRole('link', { name: 'Companies' }).click();
    await page.getByRole('button', { name: 'New company' }).click();
    await page.getByLabel('Name').fill('Globex');
    await page.getByLabel('Domain').fill('globex.test');
    await page.getByRole('button', { name: 'Create company' }).click();
    await page.getByRole('heading', { name: 'Globex', level: 1 }).waitFor();

    await page.getByRole('link', { name: 'Contacts' }).click();
    await page.getByRole('button', { name: 'New contact' }).click();
    await page.getByLabel('First name').fill('Ada');
    await page.getByLabel('Last name').fill('Lovelace');
    await page.getByLabel('E-mail').fill('ada@globex.test');
    await page.getByLabel('Phone').fill('+44 20 7946 0018');
    await choose(page, 'Company', 'Glob', 'Globex');
    await page.getByRole('button', { name: 'Create contact' }).click();
    await page.getByRole('heading', { name: 'Ada Lovelace', level: 1 }).waitFor();
    await page.getByText('+44 20 7946 0018').waitFor(); // shown formatted, stored as E.164

    // Tag it in place, with autocomplete for a new tag.
    await page.getByRole('button', { name: 'Edit Tags' }).click();
    const tags = page.getByRole('combobox', { name: 'Tags' });
    await tags.fill('champion');
    await tags.press('Enter');
    await page.getByRole('button', { name: 'Save Tags' }).click();
    await page.locator('[data-field="tags"]').getByText('champion').waitFor();

    // The list shows the contact with its company and tag.
    await page.getByRole('link', { name: 'Contacts' }).click();
    const row = page.getByTestId('record-table').getByRole('row').filter({ hasText: 'Lovelace' });
    // (the table may first show its cached page, then the refetched one)
    await expect.poll(() => row.textContent()).toMatch(/Globex.*champion/);
  });

  it('creates an opportunity for the contact and drags it across the board, by keyboard and by mouse', async () => {
    await page.getByRole('link', { name: 'Opportunities' }).click();
    await page.getByRole('button', { name: 'New opportunity' }).click();
    await page.getByLabel('Title').fill('Globex renewal');
    await page.getByLabel('Value').fill('5000');
    await choose(page, 'Contact', 'Ada', 'Ada Lovelace');
    await page.getByRole('button', { name: 'Create opportunity' }).click();

    await card(page, 'Globex renewal').waitFor();
    const stages = await page
      .locator('[data-stage]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-stage')!));
    const [first, second, third] = stages;
    expect(await column(page, first!).locator('[data-card]').count()).toBe(1);

    // Keyboard: focus the card, Space to lift, arrow right to the next stage, Space to drop.
    const live = page.locator('[id^="DndLiveRegion"]');
    await page.getByRole('button', { name: 'Move Globex renewal' }).focus();
    await page.keyboard.press('Space');
    // Lifted: picked up, and then over its own stage (the live region keeps the latest line).
    await expect
      .poll(() => live.textContent())
      .toMatch(/^(Picked up Globex renewal|Globex renewal is over stage)/);
    await page.keyboard.press('ArrowRight');
    // Over the next stage (the screen reader hears its name), then drop.
    await expect.poll(() => live.textContent()).toContain(`Globex renewal is over stage ${second}`);
    await page.keyboard.press('Space');
    await column(page, second!).locator('[data-card="Globex renewal"]').waitFor();
    await expect(column(page, second!).getByTestId('stage-count').textContent()).resolves.toBe('1');

    // Mouse: drag it on to the third stage; after a reload the server still has it there.
    await dragTo(page, card(page, 'Globex renewal'), column(page, third!));
    await column(page, third!).locator('[data-card="Globex renewal"]').waitFor();
    await page.reload();
    await column(page, third!).locator('[data-card="Globex renewal"]').waitFor();
    await expect(column(page, third!).getByTestId('stage-sum').textContent()).resolves.toMatch(/5,000/);
  });

  it('closes it won, with the stage history, and the contact timeline tells the story', async () => {
    await card(page, 'Globex renewal').getByRole('link', { name: 'Globex renewal' }).click();
    await page.getByRole('heading', { name: 'Globex renewal', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Close…' }).click();
    await page.getByRole('menuitem', { name: 'Close as won' }).click();
    await expect.poll(() => page.getByTestId('opportunity-status').textContent()).toBe('won');
    await expect
      .poll(async () => page.getByTestId('stage-history').getByRole('row').count())
      .toBeGreaterThanOrEqual(5);

    await page.getByRole('link', { name: 'Ada Lovelace' }).first().click();
    await page.getByRole('heading', { name: 'Ada Lovelace', level: 1 }).waitFor();
    const timeline = page.getByTestId('timeline');
    await timeline.getByText(/closed opportunity Globex renewal as won/).waitFor();
    const story = (await timeline.textContent()) ?? '';
    for (const line of [
      /Jo Journey created contact Ada Lovelace/,
      /linked contact Ada Lovelace to company Globex/,
      /changed the tags of contact Ada Lovelace/i,
      /created opportunity Globex renewal/,
      /moved opportunity Globex renewal from .* to /,
      /closed opportunity Globex renewal as won/,
    ]) {
      expect(story).toMatch(line);
    }
  });

  it('keeps a note, sanitized, and a task that completes with one click', async () => {
    const editor = page.getByRole('textbox', { name: 'New note' });
    await editor.click();
    await page.keyboard.type('Met at the conference. ');
    await page.keyboard.press('Control+b');
    await page.keyboard.type('Wants a discount');
    await page.getByRole('button', { name: 'Add note' }).click();
    const note = page.getByTestId('note').first();
    await note.locator('strong', { hasText: 'Wants a discount' }).waitFor();

    await page.getByRole('textbox', { name: 'New task' }).fill('Send the proposal');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('link', { name: 'Tasks' }).click();
    await page.getByRole('checkbox', { name: 'Complete Send the proposal' }).click();
    await page.getByRole('heading', { name: 'Nothing to do' }).waitFor();
  });
});
