import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../src/db/tenant.js';
import { emitEvent } from '../src/platform/events/events.js';
import { nextWindowOpening } from '../src/platform/time/sending-window.js';
import {
  type Client,
  expectProblem,
  expectStatus,
  signUp,
  startTestApp,
  type TestApp,
  uniqueEmail,
} from './kit/index.js';

/**
 * Workflow triggers that are not a record's own change (issue 24): a form submitted, an inbound
 * message, a date field reached (a custom object's), and the business-hours wait in the
 * contact's time zone.
 */
let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;

beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Trigger Co');
});
afterAll(() => t?.close());

async function createActive(client: Client, body: Record<string, unknown>) {
  const created = expectStatus<{ id: string }>(await client.post('/api/v1/workflows', body), 201);
  expectStatus(await client.post(`/api/v1/workflows/${created.id}/activate`, {}), 200);
  return created.id;
}
const runsOf = async (client: Client, id: string) =>
  expectStatus<{ data: { id: string; status: string; record_id: string }[] }>(
    await client.get(`/api/v1/workflow-runs?workflow_id=${id}`),
    200,
  ).data;
const newContact = async (client: Client, first: string, extra: Record<string, unknown> = {}) =>
  expectStatus<{ id: string }>(
    await client.post('/api/v1/contacts', {
      first_name: first,
      emails: [{ value: uniqueEmail(first.toLowerCase()) }],
      ...extra,
    }),
    201,
  ).id;
/** Records an event as the module that owns it does (in a tenant transaction, dispatched). */
const emit = (event: Parameters<typeof emitEvent>[2]) =>
  withTenant(t.services.database, { orgId: admin.orgId, actor: { type: 'system', id: null } }, (scope) =>
    emitEvent(scope, t.services.jobs, event),
  );

describe('workflow triggers', () => {
  it('starts on a form submitted (one form or any) and on an inbound message of a channel kind', async () => {
    const c = admin.client;
    const formId = expectStatus<{ id: string }>(
      await c.post('/api/v1/forms', {
        name: 'Contact us',
        object: 'contact',
        fields: [{ key: 'first_name' }, { key: 'email', required: true }],
      }),
      201,
    ).id;
    // Another organization's form (or none at all) cannot be listened to.
    expectProblem(
      await c.post('/api/v1/workflows', {
        name: 'Nobody’s form',
        object: 'contact',
        definition: {
          trigger: { type: 'form_submitted', form_id: '0190d6a0-0000-7000-8000-000000000001' },
          start: null,
          steps: [],
        },
      }),
      422,
      { code: 'reference_not_found', path: 'body.definition.trigger.form_id' },
    );
    const onForm = await createActive(c, {
      name: 'Form follow-up',
      object: 'contact',
      definition: {
        trigger: { type: 'form_submitted', form_id: formId },
        start: 'tag',
        steps: [{ id: 'tag', type: 'add_tag', tag: 'form-lead' }],
      },
    });
    const onSms = await createActive(c, {
      name: 'Texted back',
      object: 'contact',
      definition: {
        trigger: { type: 'message_received', channel_kind: 'sms' },
        start: 'tag',
        steps: [{ id: 'tag', type: 'add_tag', tag: 'texted' }],
      },
    });
    const ann = await newContact(c, 'Ann');
    const bob = await newContact(c, 'Bob');
    const form = (id: string, form_id: string) =>
      emit({
        type: 'form.submitted',
        subject: { object: 'contact', id },
        data: {
          name: null,
          form_id,
          form_name: 'Contact us',
          form_version: 1,
          submission_id: '0190d6a0-0000-7000-8000-0000000000aa',
          created: false,
          channel: 'page',
          values: {},
          source: {},
        },
      });
    const message = (id: string, kind: 'sms' | 'email') =>
      emit({
        type: 'message.received',
        subject: { object: 'contact', id },
        data: {
          name: null,
          conversation_id: '0190d6a0-0000-7000-8000-0000000000bb',
          message_id: '0190d6a0-0000-7000-8000-0000000000cc',
          channel_id: '0190d6a0-0000-7000-8000-0000000000dd',
          channel_kind: kind,
          subject: null,
          preview: 'Yes please',
        },
      });
    await form(ann, formId);
    await form(bob, '0190d6a0-0000-7000-8000-000000000002'); // another form
    await message(bob, 'sms');
    await message(ann, 'email'); // another kind of channel
    await t.drain();
    expect((await runsOf(c, onForm)).map((r) => [r.record_id, r.status])).toEqual([[ann, 'completed']]);
    expect((await runsOf(c, onSms)).map((r) => [r.record_id, r.status])).toEqual([[bob, 'completed']]);
    const tagsOf = async (id: string) =>
      expectStatus<{ tags: string[] }>(await c.get(`/api/v1/contacts/${id}`), 200).tags;
    expect(await tagsOf(ann)).toEqual(['form-lead']);
    expect(await tagsOf(bob)).toEqual(['texted']);
  });

  it('starts when a custom object’s date field is 3 days away, once, and refuses a field that is not a date', async () => {
    const c = admin.client;
    expectStatus(
      await c.post('/api/v1/objects', { key: 'lease', label_singular: 'Lease', label_plural: 'Leases' }),
      201,
    );
    expectStatus(
      await c.post('/api/v1/objects/lease/fields', { key: 'ends_on', label: 'Ends on', type: 'date' }),
      201,
    );
    const definition = (field: string) => ({
      trigger: { type: 'date_reached', field, offset: { amount: 3, unit: 'days' }, direction: 'before' },
      start: 'tag',
      reenrollment: 'never',
      steps: [{ id: 'tag', type: 'add_tag', tag: 'renewal-due' }],
    });
    expectProblem(
      await c.post('/api/v1/workflows', { name: 'Bad', object: 'lease', definition: definition('name') }),
      422,
      'invalid_workflow',
    );
    const id = await createActive(c, {
      name: 'Renewals',
      object: 'lease',
      definition: definition('ends_on'),
    });
    const [job] = (await t.queued('workflow.fire')).filter(
      (j) => (j.data as { workflow_id: string }).workflow_id === id,
    );
    const data = job!.data as { org_id: string; workflow_id: string; at: string; since?: string };
    // The scan job comes every quarter hour; this one is made to cover the day before its time.
    const at = new Date(data.at);
    const day = (days: number) => new Date(at.getTime() + days * 86_400_000).toISOString().slice(0, 10);
    const due = expectStatus<{ id: string }>(
      await c.post('/api/v1/records/lease', { custom: { name: 'Due', ends_on: day(3) } }),
      201,
    ).id;
    expectStatus(await c.post('/api/v1/records/lease', { custom: { name: 'Later', ends_on: day(10) } }), 201);
    const { fireSchedule } = await import('../src/modules/workflows/workflow-schedule.service.js');
    await fireSchedule(t.services, { ...data, since: new Date(at.getTime() - 86_400_000).toISOString() });
    await t.drain();
    expect((await runsOf(c, id)).map((r) => [r.record_id, r.status])).toEqual([[due, 'completed']]);
    const next = (await t.queued('workflow.fire')).filter(
      (j) => (j.data as { workflow_id: string }).workflow_id === id && j.data !== data,
    );
    // The next scan starts where this one ended.
    expect(next.some((j) => (j.data as { since?: string }).since === data.at)).toBe(true);
  });

  it('waits for business hours in the contact’s own time zone', async () => {
    const c = admin.client;
    expectStatus(
      await c.post('/api/v1/objects/contact/fields', { key: 'time_zone', label: 'Time zone', type: 'text' }),
      201,
    );
    // A window that is closed now in Tokyo: it opens two hours from now, local.
    const tokyoHour = Number(
      new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Tokyo', hour: '2-digit', hourCycle: 'h23' }).format(
        new Date(),
      ),
    );
    const pad = (n: number) => String(n).padStart(2, '0');
    const window = {
      days: [1, 2, 3, 4, 5, 6, 7],
      start: `${pad((tokyoHour + 2) % 24)}:00`,
      end: `${pad((tokyoHour + 2) % 24)}:59`,
    };
    const id = await createActive(c, {
      name: 'Office hours',
      object: 'contact',
      definition: {
        trigger: { type: 'tag_added', tag: 'call-me' },
        start: 'hours',
        steps: [
          { id: 'hours', type: 'wait', business_hours: window, timezone: 'UTC', next: ['tag'] },
          { id: 'tag', type: 'add_tag', tag: 'called' },
        ],
      },
    });
    const kenji = await newContact(c, 'Kenji', { custom: { time_zone: 'Asia/Tokyo' } });
    expectStatus(await c.patch(`/api/v1/contacts/${kenji}`, { tags: ['call-me'] }), 200);
    await t.drain();
    const [run] = await runsOf(c, id);
    const detail = expectStatus<{
      status: string;
      steps: { step_id: string; status: string; output: { until?: string } }[];
    }>(await c.get(`/api/v1/workflow-runs/${run!.id}`), 200);
    expect(detail.status).toBe('waiting');
    const expected = nextWindowOpening(new Date(), 'Asia/Tokyo', window)!;
    const until = new Date(detail.steps[0]!.output.until!);
    expect(Math.abs(until.getTime() - expected.getTime())).toBeLessThan(60_000);
    // A wait whose window is closed is refused when it opens after it closes.
    expectProblem(
      await c.post('/api/v1/workflows', {
        name: 'Backwards',
        object: 'contact',
        definition: {
          trigger: { type: 'manual' },
          start: 'hours',
          steps: [{ id: 'hours', type: 'wait', business_hours: { start: '17:00', end: '09:00' } }],
        },
      }),
      422,
      'invalid_workflow',
    );
  });
});
