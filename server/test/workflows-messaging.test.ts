import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, expectStatus, signUp, startTestApp, type TestApp } from './kit/index.js';

// Workflows' send_sms (through the inbox's Twilio channel) and send_email (through the system mail
// layer: test apps have no SMTP_URL, so the organization's outbox), both respecting suppression and
// consent, and enroll_in_sequence / remove_from_sequence (through the sequences' enrollment)
// (issue 24), against a local server speaking Twilio's REST format.

async function startTwilio() {
  const sent: URLSearchParams[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      res.setHeader('content-type', 'application/json');
      if (!req.url?.endsWith('/Messages.json')) return res.writeHead(200).end(JSON.stringify({ sid: 'AC1' }));
      sent.push(form);
      res.writeHead(201).end(
        JSON.stringify({
          sid: `SM${String(sent.length).padStart(32, '0')}`,
          status: 'queued',
          to: form.get('To'),
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    sent,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

type Run = {
  id: string;
  status: string;
  steps: { step_id: string; status: string; output: any; error: string | null }[];
};

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let tw: Awaited<ReturnType<typeof startTwilio>>;
let sms: string;
let sequence: string;

beforeAll(async () => {
  tw = await startTwilio();
  t = await startTestApp();
  admin = await signUp(t, 'Texting Co');
  sms = expectStatus<{ id: string }>(
    await admin.client.post('/api/v1/channels', {
      kind: 'sms',
      name: 'Line',
      address: '+1 202 883 1111',
      twilio: { account_sid: 'AC0123456789abcdef0123456789abcdef', auth_token: 'tok-1', api_base: tw.url },
    }),
    201,
  ).id;
  sequence = expectStatus<{ id: string }>(
    await admin.client.post('/api/v1/sequences', {
      name: 'Nurture',
      // A wait first, so an enrolled contact stays active while the test looks.
      steps: [
        { type: 'WAIT', days: 3 },
        { type: 'CALL', script: 'Ask {{contact.first_name}} how it goes' },
      ],
    }),
    201,
  ).id;
}, 300_000);
afterAll(async () => {
  await t?.close();
  await tw?.close();
});

async function newContact(first: string, phone: string) {
  return expectStatus<{ id: string }>(
    await admin.client.post('/api/v1/contacts', { first_name: first, phones: [{ number: phone }] }),
    201,
  ).id;
}

async function runOn(definition: Record<string, unknown>, ids: string[]) {
  const c = admin.client;
  const created = expectStatus<{ id: string }>(
    await c.post('/api/v1/workflows', { name: `Flow ${Math.random()}`, object: 'contact', definition }),
    201,
  );
  expectStatus(await c.post(`/api/v1/workflows/${created.id}/activate`, {}), 200);
  const started = expectStatus<{ data: { record_id: string; run_id: string }[] }>(
    await c.post(`/api/v1/workflows/${created.id}/runs`, { record_ids: ids }),
    200,
  ).data;
  await t.drain();
  await t.drain();
  const runs = new Map<string, Run>();
  for (const s of started)
    runs.set(s.record_id, expectStatus<Run>(await c.get(`/api/v1/workflow-runs/${s.run_id}`), 200));
  return runs;
}

const enrollmentsOf = async (contactId: string) =>
  expectStatus<{ data: { contact: { id: string }; status: string; exit_reason: string | null }[] }>(
    await admin.client.get(`/api/v1/sequences/${sequence}/enrollments`),
    200,
  ).data.filter((e) => e.contact.id === contactId);

describe('send_sms and the sequence actions', () => {
  it('texts the contact on the SMS channel, skips a suppressed number, and enrolls then removes from a sequence', async () => {
    const c = admin.client;
    const ana = await newContact('Ana', '+1 202 555 0101');
    const stopped = await newContact('Stop', '+1 202 555 0102');
    expectStatus(
      await c.post('/api/v1/suppressions', {
        channel_kind: 'sms',
        address: '+12025550102',
        reason: 'sms_stop',
      }),
      201,
    );
    const runs = await runOn(
      {
        trigger: { type: 'manual' },
        start: 'text',
        steps: [
          {
            id: 'text',
            type: 'send_sms',
            channel_id: sms,
            body: 'Hi {{record.first_name}}!',
            next: ['nurture'],
          },
          { id: 'nurture', type: 'enroll_in_sequence', sequence_id: sequence },
        ],
      },
      [ana, stopped],
    );
    const anaRun = runs.get(ana)!;
    expect(anaRun.status, JSON.stringify(anaRun.steps)).toBe('completed');
    expect(anaRun.steps[0]!.output).toMatchObject({ to: '+12025550101', text: 'Hi Ana!' });
    expect(tw.sent.map((f) => [f.get('To'), f.get('Body')])).toEqual([['+12025550101', 'Hi Ana!']]);
    const stopRun = runs.get(stopped)!;
    expect(stopRun.status).toBe('completed');
    expect(stopRun.steps[0]!.output.skipped).toMatch(/^suppressed/);
    expect(anaRun.steps[1]!.output).toMatchObject({ sequence_name: 'Nurture', enrolled: true });
    expect((await enrollmentsOf(ana)).map((e) => e.status)).toEqual(['active']);

    const removed = await runOn(
      {
        trigger: { type: 'manual' },
        start: 'out',
        steps: [{ id: 'out', type: 'remove_from_sequence', sequence_id: sequence }],
      },
      [ana],
    );
    expect(removed.get(ana)!.steps[0]!.output).toMatchObject({ removed: 1 });
    expect((await enrollmentsOf(ana)).map((e) => [e.status, e.exit_reason])).toEqual([['exited', 'removed']]);
  });

  it('e-mails a contact, and skips a suppressed address, a suppressed domain and a contact who withdrew e-mail consent', async () => {
    const c = admin.client;
    const mailed = async (first: string, email: string) =>
      expectStatus<{ id: string }>(
        await c.post('/api/v1/contacts', { first_name: first, emails: [{ value: email }] }),
        201,
      ).id;
    const tag = Date.now().toString(36);
    const addresses = {
      ok: `ok-${tag}@example.com`,
      bounced: `bounced-${tag}@example.com`,
      blocked: `someone@blocked-${tag}.example`,
      withdrawn: `gone-${tag}@example.com`,
    };
    const ok = await mailed('Olga', addresses.ok);
    const bounced = await mailed('Bo', addresses.bounced);
    const blocked = await mailed('Blake', addresses.blocked);
    const withdrawn = await mailed('Gwen', addresses.withdrawn);
    expectStatus(
      await c.post('/api/v1/suppressions', {
        channel_kind: 'email',
        address: addresses.bounced,
        reason: 'bounced',
      }),
      201,
    );
    expectStatus(
      await c.post('/api/v1/suppressions', { channel_kind: 'domain', address: `blocked-${tag}.example` }),
      201,
    );
    // Granted, then withdrawn: the latest entry counts.
    for (const status of ['granted', 'withdrawn'])
      expectStatus(
        await c.post('/api/v1/consents', {
          contact_id: withdrawn,
          channel: 'email',
          purpose: 'marketing',
          status,
          source: 'a call',
        }),
        201,
      );
    const definition = {
      trigger: { type: 'manual' },
      start: 'mail',
      steps: [
        {
          id: 'mail',
          type: 'send_email',
          subject: 'Hello {{record.first_name}}',
          body: 'Hi!',
          next: ['done'],
        },
        { id: 'done', type: 'add_tag', tag: 'mailed' },
      ],
    };

    // A test run says it would skip, and why, and sends nothing.
    const created = expectStatus<{ id: string }>(
      await c.post('/api/v1/workflows', { name: 'Dry mail', object: 'contact', definition }),
      201,
    );
    const dry = expectStatus<{ steps: { step_id: string; output: any }[] }>(
      await c.post(`/api/v1/workflows/${created.id}/test-run`, { record_id: bounced }),
      200,
    );
    expect(dry.steps[0]!.output).toMatchObject({
      skipped: 'suppressed (bounced)',
      would: `skip the e-mail to ${addresses.bounced}: suppressed (bounced)`,
    });

    const runs = await runOn(definition, [ok, bounced, blocked, withdrawn]);
    const outputs = [ok, bounced, blocked, withdrawn].map((id) => {
      const run = runs.get(id)!;
      // Skipped is not failed: the run goes on to the next step.
      expect(run.status, JSON.stringify(run.steps)).toBe('completed');
      expect(run.steps.map((s) => [s.step_id, s.status])).toEqual([
        ['mail', 'completed'],
        ['done', 'completed'],
      ]);
      return run.steps[0]!.output;
    });
    expect(outputs[0]).toEqual({ to: addresses.ok, subject: 'Hello Olga' });
    expect(outputs[1]).toMatchObject({ skipped: 'suppressed (bounced)' });
    expect(outputs[2]).toMatchObject({ skipped: 'suppressed (manual)' });
    expect(outputs[3]).toMatchObject({ to: addresses.withdrawn, skipped: 'consent withdrawn' });

    // Only Olga's e-mail is in the organization's outbox, once.
    const outbox = expectStatus<{ data: { kind: string; to: string; subject: string; text: string }[] }>(
      await c.get('/api/v1/system-mail'),
      200,
    ).data.filter((m) => m.kind === 'workflow');
    expect(outbox.map((m) => [m.to, m.subject, m.text])).toEqual([[addresses.ok, 'Hello Olga', 'Hi!']]);
  });

  it('refuses an unknown channel or sequence, or a non-SMS channel, when the workflow is saved', async () => {
    const c = admin.client;
    const other = '01900000-0000-7000-8000-000000000000';
    const save = (steps: unknown[]) =>
      c.post('/api/v1/workflows', {
        name: 'Bad refs',
        object: 'contact',
        definition: { trigger: { type: 'manual' }, start: 'a', steps },
      });
    expectProblem(await save([{ id: 'a', type: 'send_sms', channel_id: other, body: 'x' }]), 422, {
      code: 'reference_not_found',
      path: 'body.definition.steps[0].channel_id',
    });
    expectProblem(await save([{ id: 'a', type: 'enroll_in_sequence', sequence_id: other }]), 422, {
      code: 'reference_not_found',
      path: 'body.definition.steps[0].sequence_id',
    });
    expectProblem(
      await save([{ id: 'a', type: 'send_sms', channel_id: sms, body: 'Hi {{record.shoe}}' }]),
      422,
      {
        code: 'unknown_template_variable',
        path: 'body.definition.steps[0].body',
      },
    );
  });
});
