import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall } from './browser.js';
import { type FakeAi, fakeDraft, startAiJourney } from './fake-ai.js';

describe('the assistant drafts an e-mail on a contact’s page as it writes it', () => {
  let journey: Awaited<ReturnType<typeof startAiJourney>>;
  let page: Page;
  let ai: FakeAi;
  let contactId: string;
  beforeAll(async () => {
    journey = await startAiJourney('Drafting Ltd', 'Dora Drafter');
    ({ page, ai } = journey);
    const contact = await apiCall(page, 'POST', '/api/v1/contacts', {
      first_name: 'Ana',
      last_name: 'Lima',
      emails: [{ value: 'ana.lima@example.org' }],
    });
    expect(contact.status).toBe(201);
    contactId = contact.body.id;
    await journey.turnOn();
    await page.goto(`/contacts/${contactId}`);
  });
  afterAll(() => journey?.close());

  const box = () => page.getByTestId('ai-record-draft');
  const body = () => box().getByLabel('Body');
  const subject = () => box().getByLabel('Subject');
  const stopButton = () => box().getByRole('button', { name: 'Stop', exact: true });
  const draftButton = () => box().getByRole('button', { name: 'Draft', exact: true });

  it('the body grows while it is written, then the subject is filled; the member copies it', async () => {
    await box().getByLabel('Draft an e-mail').fill('Propose a call');
    await draftButton().click();
    const full = fakeDraft.body('Ana');
    // Part of the text on screen while the assistant is still writing (Stop offered).
    await expect
      .poll(
        async () => {
          const text = await body().inputValue();
          return (await stopButton().isVisible()) && text.startsWith('Dear Ana') && text.length < full.length;
        },
        { timeout: 10_000, interval: 50 },
      )
      .toBe(true);
    expect(await subject().inputValue()).toBe('');
    // Then the whole draft, the subject filled from the end of the stream, not left in the body.
    await box().getByRole('button', { name: 'Copy', exact: true }).waitFor();
    expect(await stopButton().count()).toBe(0);
    expect(await body().inputValue()).toBe(full);
    expect(await subject().inputValue()).toBe(fakeDraft.subject('Ana'));
    await box().getByText('A draft: edit it and send it yourself.').waitFor();
    // The member edits it.
    await body().fill(`${full}\n\nDora`);
    expect(await body().inputValue()).toContain('Dora');

    // What left Cairn: a streamed request about this contact, the e-mail address redacted.
    const sent = ai.sent.at(-1);
    expect(sent.stream).toBe(true);
    expect(JSON.stringify(sent.messages)).toContain('Propose a call');
    expect(JSON.stringify(sent.messages)).toContain('Ana');
    const audit = await apiCall(page, 'GET', '/api/v1/audit?action=ai.called');
    expect(audit.body.data[0].details).toMatchObject({
      feature: 'draft_email',
      template: 'draft_message.v1',
      outcome: 'ok',
    });
    expect(audit.body.data[0].target).toMatchObject({ type: 'contact', id: contactId });
  });

  it('Stop cuts the provider off and keeps what was written', async () => {
    const cutBefore = ai.cut;
    await box().getByLabel('Draft an e-mail').fill('Write at length');
    await draftButton().click();
    await expect.poll(() => body().inputValue(), { timeout: 10_000 }).toMatch(/^Dear Ana/);
    await stopButton().click();
    await draftButton().waitFor();
    await box().getByText('Stopped: edit what it wrote, or draft again.').waitFor();
    const kept = await body().inputValue();
    expect(kept.startsWith('Dear Ana')).toBe(true);
    await expect.poll(() => ai.cut, { timeout: 10_000 }).toBe(cutBefore + 1);
    // Nothing more arrives after the stop.
    await page.waitForTimeout(300);
    expect(await body().inputValue()).toBe(kept);
    await expect
      .poll(
        async () =>
          (await apiCall(page, 'GET', '/api/v1/audit?action=ai.called')).body.data[0].details.outcome,
        { timeout: 10_000 },
      )
      .toBe('cancelled');
  });

  it('from a template: the template goes to the assistant, its subject filled for the contact', async () => {
    const template = await apiCall(page, 'POST', '/api/v1/message-templates', {
      name: 'Proposal follow-up',
      kind: 'email',
      subject: 'Our proposal for {{first_name}}',
      body: 'Hello {{first_name}}, here is the proposal we discussed.',
    });
    expect(template.status, JSON.stringify(template.body)).toBe(201);
    await box().getByLabel('From a template').click();
    await page.getByRole('option', { name: 'Proposal follow-up' }).click();
    await box().getByLabel('Draft an e-mail').fill('');
    await draftButton().click();
    await box().getByRole('button', { name: 'Copy', exact: true }).waitFor();
    // The template's own subject, its variable filled, not one the model wrote.
    expect(await subject().inputValue()).toBe('Our proposal for Ana');
    expect(await body().inputValue()).toBe(fakeDraft.body('Ana'));
    // The model was given the template (its variables filled) to adapt.
    const sent = JSON.stringify(ai.sent.at(-1).messages);
    expect(sent).toContain('here is the proposal we discussed');
    const audit = await apiCall(page, 'GET', '/api/v1/audit?action=ai.called');
    expect(audit.body.data[0].details).toMatchObject({ feature: 'draft_email', outcome: 'ok' });
  });

  it('a provider that breaks off mid-answer: the error under the draft, the text so far kept', async () => {
    await box().getByLabel('Draft an e-mail').fill('break');
    await draftButton().click();
    const alert = box().getByRole('alert').filter({ hasText: 'The draft stopped' });
    await alert.waitFor();
    const kept = await body().inputValue();
    expect(kept.startsWith('Dear Ana')).toBe(true);
    expect(kept.length).toBeLessThan(fakeDraft.body('Ana').length);
    await draftButton().waitFor();
  });
});
