import type { AddressInfo } from 'node:net';
import { inflateSync } from 'node:zlib';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  addMember,
  type Client,
  expectProblem,
  expectStatus,
  newDeal,
  signUp,
  startTestApp,
  type TestApp,
  useOrganization,
} from './kit/index.js';

// Issue 30, scheduled delivery: a report or a dashboard e-mailed daily, weekly or monthly at a time
// in the recipient's time zone, the PDF attached and computed with the recipient's rights; a
// schedule for a removed member is refused, and skipped with a note when the member leaves later.

vi.setConfig({ testTimeout: 120_000, hookTimeout: 300_000 });

/** The text a PDF prints (PDFKit's Flate-compressed content streams, hex-string TJ operations). */
function pdfText(pdf: Buffer): string {
  const lines: string[] = [];
  const raw = pdf.toString('latin1');
  for (const m of raw.matchAll(/stream\r?\n/g)) {
    const from = m.index + m[0].length;
    const to = raw.indexOf('endstream', from);
    let content: string;
    try {
      content = inflateSync(pdf.subarray(from, to)).toString('latin1');
    } catch {
      continue;
    }
    for (const op of content.matchAll(/\[([^\]]*)\]\s*TJ/g))
      lines.push(
        [...op[1]!.matchAll(/<([0-9a-fA-F]*)>/g)]
          .map((h) => Buffer.from(h[1]!, 'hex').toString('latin1'))
          .join(''),
      );
  }
  return lines.join('\n');
}

type Job = { name: string; data: { schedule_id: string; at: string; org_id: string }; startAfter: Date };

/** The queued run of a schedule (the sync driver's queue). */
async function queuedRun(t: TestApp, scheduleId: string): Promise<Job> {
  const jobs = (await t.queued('report.deliver')) as Job[];
  const job = jobs.find((j) => j.data.schedule_id === scheduleId);
  if (!job) throw new Error(`no queued run for ${scheduleId}`);
  return job;
}

/** Runs a schedule's queued job as the worker would. */
async function runQueued(t: TestApp, scheduleId: string) {
  const { runSchedule } = await import('../src/modules/reports/report-schedule.service.js');
  await runSchedule(t.services, (await queuedRun(t, scheduleId)).data);
}

/** A dashboard of two widgets: deals by stage (count) and the value by stage (sum of amount). */
async function salesDashboard(c: Client) {
  const count = expectStatus(
    await c.post('/api/v1/reports', {
      name: 'Deals by stage',
      spec: { object: 'opportunity', group_by: [{ field: 'stage_id' }] },
      sharing: 'organization',
    }),
    201,
  );
  const value = expectStatus(
    await c.post('/api/v1/reports', {
      name: 'Value by stage',
      spec: {
        object: 'opportunity',
        group_by: [{ field: 'stage_id' }],
        measure: { op: 'sum', field: 'amount' },
      },
      sharing: 'organization',
    }),
    201,
  );
  const board = expectStatus(
    await c.post('/api/v1/dashboards', {
      name: 'Weekly sales',
      sharing: 'organization',
      widgets: [
        { id: 'count', report_id: count.id, x: 0, y: 0, w: 6, h: 4 },
        { id: 'value', report_id: value.id, view: 'table', x: 6, y: 0, w: 6, h: 4 },
      ],
    }),
    201,
  );
  return { board, count, value };
}

describe('scheduled delivery into the outbox (no SMTP_URL)', () => {
  const org = useOrganization('Schedules Co', {
    prepare: async ({ admin }) => {
      expectStatus(
        await admin.client.patch('/api/v1/organization/settings', { time_zone: 'Europe/Paris' }),
        200,
      );
    },
  });

  it('schedules a dashboard weekly at 08:00 in the recipient time zone and finds its PDF in the outbox', async () => {
    const c = org.admin.client;
    await newDeal(c, 'Big one', { amount: 12345 });
    const { board } = await salesDashboard(c);
    const made = expectStatus(
      await c.post('/api/v1/report-schedules', {
        dashboard_id: board.id,
        frequency: 'weekly',
        weekday: 1,
        time: '08:00',
        time_zone: 'America/New_York',
        recipient_id: org.admin.userId,
      }),
      201,
    );
    expect(made).toMatchObject({
      frequency: 'weekly',
      weekday: 1,
      time: '08:00',
      time_zone: 'America/New_York',
    });
    expect(made.recipient.email).toBe(org.admin.email);
    // Next Monday, 08:00 in New York.
    const next = new Date(made.next_run_at);
    const local = new Intl.DateTimeFormat('en-US', {
      timeZone: 'America/New_York',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hour12: false,
    }).format(next);
    expect(local).toBe('Mon 08:00');
    expect(next.getTime()).toBeGreaterThan(Date.now());
    expect(next.getTime() - Date.now()).toBeLessThanOrEqual(7 * 86_400_000);
    expect((await queuedRun(org.t, made.id)).startAfter.toISOString()).toBe(made.next_run_at);

    // The run: the PDF goes to the outbox, and the next week's run is queued.
    await runQueued(org.t, made.id);
    const box = expectStatus(await c.get('/api/v1/system-mail'), 200);
    const mail = box.data.find((m: { kind: string }) => m.kind === 'report');
    expect(mail).toMatchObject({ to: org.admin.email, subject: 'Weekly dashboard: Weekly sales' });
    expect(mail.attachments).toMatchObject([
      { filename: 'Weekly-sales.pdf', content_type: 'application/pdf' },
    ]);
    const file = await org.t.app.inject({
      method: 'GET',
      url: `/api/v1/system-mail/${mail.id}/attachments/0`,
      headers: { cookie: c.cookieHeader },
    });
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-type']).toBe('application/pdf');
    const printed = pdfText(file.rawPayload);
    expect(printed).toContain('Weekly sales');
    expect(printed).toContain('Deals by stage');
    expect(printed).toContain('12,345');
    const [after] = expectStatus(await c.get(`/api/v1/report-schedules?dashboard_id=${board.id}`), 200).data;
    expect(after.last_outcome).toBe('sent');
    expect(after.last_note).toContain('Weekly-sales.pdf');
    expect(new Date(after.next_run_at).getTime() - next.getTime()).toBe(7 * 86_400_000);
    // The old run's job, should it run again, finds nothing to do: no second message.
    const { runSchedule } = await import('../src/modules/reports/report-schedule.service.js');
    await runSchedule(org.t.services, {
      org_id: org.admin.orgId,
      schedule_id: made.id,
      at: made.next_run_at,
    });
    const again = expectStatus(await c.get('/api/v1/system-mail'), 200);
    expect(again.data.filter((m: { kind: string }) => m.kind === 'report')).toHaveLength(1);

    // Deleted: gone from the list, and its queued run sends nothing.
    expectStatus(await c.delete(`/api/v1/report-schedules/${made.id}`), 204);
    expect(expectStatus(await c.get(`/api/v1/report-schedules?dashboard_id=${board.id}`), 200).data).toEqual(
      [],
    );
    await runQueued(org.t, made.id);
    expect(
      expectStatus(await c.get('/api/v1/system-mail'), 200).data.filter(
        (m: { kind: string }) => m.kind === 'report',
      ),
    ).toHaveLength(1);
    expectProblem(await c.delete(`/api/v1/report-schedules/${made.id}`), 404);
  });

  it("computes the PDF with the recipient's rights: a hidden field is not sent", async () => {
    const c = org.admin.client;
    await newDeal(c, 'Secret value', { amount: 777777 });
    const { board, value } = await salesDashboard(c);
    expectStatus(
      await c.post('/api/v1/roles', {
        key: 'no_amounts_sched',
        name: 'No amounts',
        objects: { opportunity: { rights: ['read', 'export'], scope: 'all', fields: { amount: 'hidden' } } },
        default_access: { rights: ['read'], scope: 'all' },
      }),
      201,
    );
    const member = await addMember(org.t, c, 'user');
    expectStatus(await c.patch(`/api/v1/members/${member.userId}`, { role: 'no_amounts_sched' }), 204);
    const forMember = expectStatus(
      await c.post('/api/v1/report-schedules', {
        dashboard_id: board.id,
        frequency: 'daily',
        time: '07:30',
        recipient_id: member.userId,
      }),
      201,
    );
    expect(forMember.time_zone).toBe('Europe/Paris');
    const sent = expectStatus(await c.post(`/api/v1/report-schedules/${forMember.id}/send`, {}), 200);
    expect(sent.last_outcome).toBe('sent');
    const box = expectStatus(await c.get('/api/v1/system-mail'), 200);
    const mail = box.data.find(
      (m: { kind: string; to: string }) => m.kind === 'report' && m.to === member.email,
    );
    expect(mail.subject).toBe('Daily dashboard: Weekly sales');
    const file = await org.t.app.inject({
      method: 'GET',
      url: `/api/v1/system-mail/${mail.id}/attachments/0`,
      headers: { cookie: c.cookieHeader },
    });
    const printed = pdfText(file.rawPayload);
    expect(printed).toContain('Deals by stage');
    expect(printed).not.toContain('777,777');
    expect(printed).toContain('invalid_query');
    // A report of that field alone, scheduled for them: skipped, with the reason noted.
    const alone = expectStatus(
      await c.post('/api/v1/report-schedules', {
        report_id: value.id,
        frequency: 'monthly',
        day_of_month: 15,
        time: '09:00',
        recipient_id: member.userId,
      }),
      201,
    );
    expect(alone.day_of_month).toBe(15);
    const skipped = expectStatus(await c.post(`/api/v1/report-schedules/${alone.id}/send`, {}), 200);
    expect(skipped.last_outcome).toBe('skipped');
    expect(skipped.last_note).toContain('Not sent');
    // A member schedules for themselves only, and sees their own schedules.
    expectProblem(
      await member.client.post('/api/v1/report-schedules', {
        dashboard_id: board.id,
        frequency: 'daily',
        time: '07:30',
        recipient_id: org.admin.userId,
      }),
      403,
    );
    const mine = expectStatus(await member.client.get('/api/v1/report-schedules'), 200).data;
    expect(mine.map((s: { id: string }) => s.id).sort()).toEqual([forMember.id, alone.id].sort());
  });

  it('refuses a removed member, bad input, and skips a member removed later with a note', async () => {
    const c = org.admin.client;
    const { board, count } = await salesDashboard(c);
    const leaving = await addMember(org.t, c, 'user');
    const gone = await addMember(org.t, c, 'user');
    expectStatus(await c.delete(`/api/v1/members/${gone.userId}`), 204);
    const base = { dashboard_id: board.id, frequency: 'weekly', time: '08:00' };
    expectProblem(await c.post('/api/v1/report-schedules', { ...base, recipient_id: gone.userId }), 422, {
      code: 'recipient_not_member',
      path: 'body.recipient_id',
    });
    expectProblem(
      await c.post('/api/v1/report-schedules', {
        ...base,
        report_id: count.id,
        recipient_id: leaving.userId,
      }),
      400,
      { code: 'invalid_schedule' },
    );
    expectProblem(
      await c.post('/api/v1/report-schedules', {
        ...base,
        time_zone: 'Mars/Olympus',
        recipient_id: leaving.userId,
      }),
      400,
      { code: 'invalid_time_zone', path: 'body.time_zone' },
    );
    expectProblem(
      await c.post('/api/v1/report-schedules', { ...base, time: '25:00', recipient_id: leaving.userId }),
      400,
    );
    expectProblem(
      await c.post('/api/v1/report-schedules', {
        ...base,
        frequency: 'hourly',
        recipient_id: leaving.userId,
      }),
      400,
    );
    // A private dashboard of the admin's is not sent to a member who cannot see it.
    const own = expectStatus(await c.post('/api/v1/dashboards', { name: 'Mine only' }), 201);
    expectProblem(
      await c.post('/api/v1/report-schedules', {
        ...base,
        dashboard_id: own.id,
        recipient_id: leaving.userId,
      }),
      422,
      { code: 'recipient_cannot_see' },
    );
    const made = expectStatus(
      await c.post('/api/v1/report-schedules', { ...base, recipient_id: leaving.userId }),
      201,
    );
    expectStatus(await c.delete(`/api/v1/members/${leaving.userId}`), 204);
    await runQueued(org.t, made.id);
    const [after] = expectStatus(await c.get(`/api/v1/report-schedules?dashboard_id=${board.id}`), 200).data;
    expect(after).toMatchObject({ recipient: null, last_outcome: 'skipped' });
    expect(after.last_note).toBe('Not sent: the recipient is no longer a member of the organization');
    const box = expectStatus(await c.get('/api/v1/system-mail'), 200);
    expect(
      box.data.some((m: { kind: string; to: string }) => m.kind === 'report' && m.to === leaving.email),
    ).toBe(false);
    // Deleting the dashboard removes its schedules.
    expectStatus(await c.delete(`/api/v1/dashboards/${board.id}`), 204);
    expect(expectStatus(await c.get(`/api/v1/report-schedules?dashboard_id=${board.id}`), 200).data).toEqual(
      [],
    );
  });
});

type Received = { to: string[]; raw: Buffer };

/** A real SMTP server (nodemailer's smtp-server) in this process, keeping what it receives. */
async function startSmtp() {
  const received: Received[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks) });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    received,
    url: `smtp://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('scheduled delivery over SMTP (SMTP_URL)', () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let t: TestApp;
  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({ SMTP_URL: smtp.url, MAIL_FROM: 'Cairn <no-reply@cairn.test>' });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('e-mails a saved report with its PDF attached', async () => {
    const admin = await signUp(t, 'Smtp Schedules');
    await newDeal(admin.client, 'Mailed deal', { amount: 4321 });
    const report = expectStatus(
      await admin.client.post('/api/v1/reports', {
        name: 'Pipeline value',
        spec: {
          object: 'opportunity',
          group_by: [{ field: 'stage_id' }],
          measure: { op: 'sum', field: 'amount' },
        },
      }),
      201,
    );
    const made = expectStatus(
      await admin.client.post('/api/v1/report-schedules', {
        report_id: report.id,
        frequency: 'daily',
        time: '06:00',
        recipient_id: admin.userId,
      }),
      201,
    );
    await runQueued(t, made.id);
    const raw = smtp.received.find(
      (m) => m.to.includes(admin.email) && m.raw.includes('Subject: Daily report'),
    )?.raw;
    expect(raw).toBeDefined();
    const parsed = await simpleParser(raw!);
    expect(parsed.subject).toBe('Daily report: Pipeline value');
    expect(parsed.text).toContain('Attached is "Pipeline value"');
    const [pdf] = parsed.attachments;
    expect(pdf).toMatchObject({ filename: 'Pipeline-value.pdf', contentType: 'application/pdf' });
    expect(pdfText(pdf!.content)).toContain('4,321');
    const [after] = expectStatus(await admin.client.get('/api/v1/report-schedules'), 200).data;
    expect(after.last_outcome).toBe('sent');
  });
});
