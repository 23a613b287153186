import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, launch, newContext, pick, signUpInBrowser, uniqueEmail } from './browser.js';

describe('lead capture: an admin builds a form, a visitor sends it, a contact appears', () => {
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    browser = await launch();
    page = await (await newContext(browser)).newPage();
    await signUpInBrowser(page, 'Leads Ltd', 'Lea Leads', uniqueEmail('lea'));
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('builds a contact form in the settings; a visitor sends its hosted page; the contact is in the list', async () => {
    await page.goto('/settings?tab=forms');
    await page.getByRole('button', { name: 'New form' }).click();
    const dialog = page.getByRole('dialog', { name: 'New form' });
    await dialog.getByRole('textbox', { name: 'Name' }).first().fill('Contact us');
    await dialog.getByRole('checkbox', { name: 'Ask for E-mail' }).check();
    await dialog.getByRole('checkbox', { name: 'E-mail is required' }).check();
    await dialog.getByRole('checkbox', { name: 'Ask for First name' }).check();
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('button', { name: 'Copy embed snippet' }).waitFor();

    const forms = await apiCall(page, 'GET', '/api/v1/forms');
    const form = forms.body.data[0];
    const visitor = await (await newContext(browser)).newPage();
    const refused: string[] = [];
    visitor.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text());
    });
    await visitor.goto(`${new URL(form.page_url).pathname}?utm_source=e2e`);
    const email = uniqueEmail('vera');
    await visitor.getByLabel('First name').fill('Vera');
    await visitor.getByLabel('E-mail').fill(email);
    const send = visitor.getByRole('button', { name: 'Send' });
    // The page solves its proof of work, and refuses a form sent faster than a person types.
    await expect.poll(() => send.isEnabled(), { timeout: 20_000 }).toBe(true);
    await visitor.waitForTimeout(3_200);
    await send.click();
    await visitor.getByText('Thank you: we received your message.').waitFor();
    expect(refused).toEqual([]);

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Contacts' }).click();
    await page.getByRole('link', { name: 'Vera' }).first().waitFor();
    await page.getByText(email).waitFor();
  });

  it('offers chosen records of a many-to-many field: the builder picks them by name, the visitor picks one, the case links it', async () => {
    // A "case" object whose "clinics" field links many clinics (as an admin sets up in the objects' settings).
    for (const [key, singular, plural] of [
      ['clinic', 'Clinic', 'Clinics'],
      ['case', 'Case', 'Cases'],
    ])
      expect(
        (
          await apiCall(page, 'POST', '/api/v1/objects', {
            key,
            label_singular: singular,
            label_plural: plural,
          })
        ).status,
      ).toBe(201);
    for (const name of ['North Clinic', 'South Clinic', 'Private Clinic'])
      expect((await apiCall(page, 'POST', '/api/v1/records/clinic', { custom: { name } })).status).toBe(201);
    const clinicsField = {
      label: 'Clinics',
      key: 'clinics',
      type: 'relation',
      relation: { object: 'clinic', many: true },
    };
    expect((await apiCall(page, 'POST', '/api/v1/objects/case/fields', clinicsField)).status).toBe(201);
    // A select whose choices are stored as codes: the submissions list must show their labels.
    const journeyField = {
      label: 'Journey stage',
      key: 'journey',
      type: 'select',
      options: [
        { value: 'js_01', label: 'Just starting' },
        { value: 'js_02', label: 'Ready to match' },
      ],
    };
    expect((await apiCall(page, 'POST', '/api/v1/objects/case/fields', journeyField)).status).toBe(201);

    await page.goto('/settings?tab=forms');
    await page.getByRole('button', { name: 'New form' }).click();
    const dialog = page.getByRole('dialog', { name: 'New form' });
    await dialog.getByRole('textbox', { name: 'Name' }).first().fill('Find your clinic');
    await pick(page, 'Creates', 'Cases');
    await dialog.getByRole('checkbox', { name: 'Ask for Clinics' }).check();
    await dialog.getByRole('checkbox', { name: 'Ask for Journey stage' }).check();
    const picker = dialog.getByRole('combobox', { name: 'Add a choice for Clinics' });
    for (const name of ['North', 'South', 'Private']) {
      await picker.fill(name);
      await page.getByRole('option', { name: `${name} Clinic` }).click();
    }
    const choices = dialog.getByRole('list', { name: 'Choices of Clinics' });
    await expect
      .poll(() => choices.getByRole('listitem').allTextContents())
      .toEqual(['North Clinic', 'South Clinic', 'Private Clinic']);
    // A choice archived meanwhile: the server's 422 shows beside the field; the admin removes it.
    const clinics = await apiCall(page, 'GET', '/api/v1/records/clinic?limit=10');
    const privateClinic = clinics.body.data.find((r: any) => r.custom.name === 'Private Clinic');
    expect((await apiCall(page, 'POST', `/api/v1/records/clinic/${privateClinic.id}/archive`)).status).toBe(
      200,
    );
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await dialog.getByText('No clinic with this id (Private Clinic)').waitFor();
    await dialog.getByRole('button', { name: 'Remove Private Clinic' }).click();
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    // The list says what the form creates by the object's name.
    await page
      .getByRole('row')
      .filter({ hasText: 'Find your clinic' })
      .getByRole('cell', { name: 'Case', exact: true })
      .waitFor();

    // Editing the saved form shows its choices by name.
    await page.getByRole('button', { name: 'Edit Find your clinic' }).click();
    const editing = page.getByRole('dialog', { name: 'Edit form' });
    await expect
      .poll(() =>
        editing.getByRole('list', { name: 'Choices of Clinics' }).getByRole('listitem').allTextContents(),
      )
      .toEqual(['North Clinic', 'South Clinic']);
    await page.keyboard.press('Escape');
    await editing.waitFor({ state: 'detached' });

    const form = (await apiCall(page, 'GET', '/api/v1/forms')).body.data.find(
      (f: any) => f.name === 'Find your clinic',
    );
    const visitor = await (await newContext(browser)).newPage();
    await visitor.goto(new URL(form.page_url).pathname);
    await visitor.getByLabel('Name').fill('Grace Parent');
    const offered = visitor.getByLabel('Clinics');
    expect(await offered.locator('option').allTextContents()).toEqual(['North Clinic', 'South Clinic']);
    await offered.selectOption({ label: 'North Clinic' });
    await visitor.getByLabel('Journey stage').selectOption({ label: 'Ready to match' });
    const send = visitor.getByRole('button', { name: 'Send' });
    await expect.poll(() => send.isEnabled(), { timeout: 20_000 }).toBe(true);
    await visitor.waitForTimeout(3_200);
    await send.click();
    await visitor.getByText('Thank you: we received your message.').waitFor();

    // The submission's new case is linked to the clinic the visitor picked, and to it only.
    await page
      .getByRole('row', { name: /Find your clinic/ })
      .getByRole('button', { name: 'Submissions' })
      .click();
    // The submission shows each answer under its field's label, the choice by its label (not its
    // stored code), and names the new case.
    const submissions = page.getByRole('table', { name: 'Submissions' });
    const row = submissions.getByRole('row').filter({ hasText: 'Grace Parent' });
    await row.getByText('Journey stage:').waitFor();
    await expect.poll(() => row.textContent()).toContain('Journey stage: Ready to match');
    expect(await row.textContent()).toContain('Clinics: North Clinic');
    expect(await row.textContent()).not.toContain('js_02');
    expect(await row.textContent()).toContain('New record');
    await page.getByText('Submissions of Find your clinic (1)').waitFor();
    expect(await page.getByRole('link', { name: 'Download CSV' }).getAttribute('href')).toBe(
      `/api/v1/forms/${form.id}/submissions/export`,
    );
    await row.getByRole('link', { name: 'Grace Parent' }).click();
    const linked = page.getByTestId(/^links-/);
    await linked.getByRole('link', { name: 'North Clinic' }).waitFor();
    expect(await linked.getByRole('link').allTextContents()).toEqual(['North Clinic']);
  });
});
