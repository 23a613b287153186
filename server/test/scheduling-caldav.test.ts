import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, expectProblem, expectStatus, signUp, startTestApp, type TestApp } from './kit/index.js';

// CalDAV sync (issue 33) against a real Radicale: a member connects a calendar, its busy times
// block slots, bookings are written to it, and events moved or deleted there come back on a poll.

async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let radicale: ChildProcess | undefined;
let dir: string;
let base: string;
const auth = `Basic ${Buffer.from('ada:secret').toString('base64')}`;

async function dav(method: string, url: string, body?: string, headers: Record<string, string> = {}) {
  return fetch(url, { method, headers: { authorization: auth, ...headers }, ...(body ? { body } : {}) });
}

async function startRadicale() {
  dir = mkdtempSync(path.join(tmpdir(), 'cairn-radicale-'));
  const port = await freePort();
  writeFileSync(path.join(dir, 'users'), 'ada:secret\n');
  writeFileSync(
    path.join(dir, 'config'),
    [
      '[server]',
      `hosts = 127.0.0.1:${port}`,
      '[auth]',
      'type = htpasswd',
      `htpasswd_filename = ${path.join(dir, 'users')}`,
      'htpasswd_encryption = plain',
      '[storage]',
      `filesystem_folder = ${path.join(dir, 'collections')}`,
      '[rights]',
      'type = owner_only',
      '[logging]',
      'level = warning',
    ].join('\n'),
  );
  radicale = spawn('/usr/bin/radicale', ['--config', path.join(dir, 'config')], { stdio: 'ignore' });
  base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`${base}/.web/`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('radicale did not start');
}

const vevent = (uid: string, start: DateTime, end: DateTime, extra = '') =>
  [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//test//EN',
    'BEGIN:VEVENT',
    `UID:${uid}`,
    'DTSTAMP:20261201T000000Z',
    `DTSTART;TZID=Europe/Berlin:${start.toFormat("yyyyMMdd'T'HHmmss")}`,
    `DTEND;TZID=Europe/Berlin:${end.toFormat("yyyyMMdd'T'HHmmss")}`,
    'SUMMARY:Dentist',
    ...(extra ? [extra] : []),
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');

describe('CalDAV calendars', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof signUp>>;
  let member: Awaited<ReturnType<typeof addMember>>;
  // A day ten days on, in Berlin: within the poll's horizon, whatever today is.
  const day = DateTime.now().setZone('Europe/Berlin').plus({ days: 10 }).startOf('day');
  const local = (h: number) => day.set({ hour: h });
  const z = (d: DateTime) => d.toUTC().toISO({ suppressMilliseconds: false })!;

  beforeAll(async () => {
    await startRadicale();
    expect((await dav('MKCALENDAR', `${base}/ada/work/`)).status).toBe(201);
    t = await startTestApp({ OUTBOUND_ALLOWED_HOSTS: '127.0.0.1' });
    admin = await signUp(t, 'Cal Co');
    member = await addMember(t, admin.client, 'user');
    const all = Object.fromEntries(
      ['1', '2', '3', '4', '5', '6', '7'].map((d) => [d, [{ start: '09:00', end: '13:00' }]]),
    );
    expectStatus(
      await member.client.put('/api/v1/me/availability', { time_zone: 'Europe/Berlin', weekly: all }),
      200,
    );
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    radicale?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a server that is down or is not CalDAV', async () => {
    const down = await freePort();
    expectProblem(
      await member.client.put('/api/v1/me/calendar', {
        server_url: `http://127.0.0.1:${down}/`,
        username: 'a',
        password: 'b',
      }),
      422,
      'calendar_unreachable',
    );
    const garbage = http.createServer((_req, res) => res.end('<html>hello</html>'));
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
    const { port } = garbage.address() as AddressInfo;
    const res = await member.client.put('/api/v1/me/calendar', {
      server_url: `http://127.0.0.1:${port}/`,
      username: 'a',
      password: 'b',
    });
    expect([422]).toContain(res.status);
    expect(['calendar_unreachable', 'no_calendar']).toContain((res.body as { code: string }).code);
    garbage.close();
    expectStatus(await member.client.get('/api/v1/me/calendar'), 200);
    expect((await member.client.get('/api/v1/me/calendar')).body.connected).toBe(false);
  });

  it('blocks busy times, writes bookings, and brings back moves and deletions', async () => {
    // A dentist appointment at 09:00-10:00 local, already in the calendar.
    expect(
      (
        await dav('PUT', `${base}/ada/work/dentist.ics`, vevent('dentist-1', local(9), local(10)), {
          'content-type': 'text/calendar',
        })
      ).status,
    ).toBe(201);
    const connected = expectStatus(
      await member.client.put('/api/v1/me/calendar', {
        server_url: `${base}/`,
        username: 'ada',
        password: 'secret',
      }),
      200,
    );
    expect(connected.connected).toBe(true);
    expect(connected.calendar_url).toMatch(/\/ada\/work\/$/);
    expect(connected.last_error).toBeNull();
    expect(connected.busy).toContainEqual({ start: z(local(9)), end: z(local(10)) });
    // The password is sealed at rest.
    const { rows } = await t.services.database.raw.query<{ password_sealed: string }>(
      'select password_sealed from calendar_connections where org_id = $1',
      [admin.orgId],
    );
    expect(rows[0]!.password_sealed).toMatch(/^v1\./);
    expect(rows[0]!.password_sealed).not.toContain('secret');

    const type = expectStatus(
      await admin.client.post('/api/v1/meeting-types', {
        name: 'Consult',
        duration_minutes: 60,
        assignment: 'single',
        host_ids: [member.userId],
      }),
      201,
    );
    const slots = expectStatus(
      await t
        .client()
        .get(
          `/api/v1/public/booking/${type.token}/slots?time_zone=Europe/Berlin&from=${encodeURIComponent(z(day))}&days=1`,
        ),
      200,
    );
    const starts = slots.days.flatMap((d: { slots: { start: string }[] }) => d.slots.map((s) => s.start));
    expect(starts).toEqual([z(local(10)), z(local(11)), z(local(12))]);
    expectProblem(
      await t.client().post(`/api/v1/public/booking/${type.token}`, {
        start: z(local(9)),
        name: 'B',
        email: 'b@example.com',
      }),
      409,
      'slot_taken',
    );

    // A booking lands in the calendar.
    const booked = expectStatus(
      await t.client().post(`/api/v1/public/booking/${type.token}`, {
        start: z(local(10)),
        name: 'Bo Booker',
        email: 'bo@example.com',
      }),
      201,
    );
    const eventUrl = `${base}/ada/work/${booked.id}.ics`;
    const stored = await dav('GET', eventUrl);
    expect(stored.status).toBe(200);
    const ics = await stored.text();
    expect(ics).toContain(`UID:${booked.id}@cairn`);
    expect(ics).not.toContain('METHOD:');

    // Moved there to 12:00: the poll moves the booking.
    expect(
      (
        await dav('PUT', eventUrl, vevent(`${booked.id}@cairn`, local(12), local(13)), {
          'content-type': 'text/calendar',
        })
      ).status,
    ).toBeLessThan(300);
    const polled = expectStatus(await member.client.post('/api/v1/me/calendar/sync', {}), 200);
    expect(polled.moved).toEqual([booked.id]);
    let mine = expectStatus(await member.client.get('/api/v1/bookings'), 200).data;
    expect(mine.find((b: { id: string }) => b.id === booked.id).start).toBe(
      new Date(z(local(12))).toISOString(),
    );
    // 10:00 is free again, 12:00 is not.
    const after = expectStatus(
      await t
        .client()
        .get(
          `/api/v1/public/booking/${type.token}/slots?time_zone=Europe/Berlin&from=${encodeURIComponent(z(day))}&days=1`,
        ),
      200,
    );
    expect(after.days.flatMap((d: { slots: { start: string }[] }) => d.slots.map((s) => s.start))).toEqual([
      z(local(10)),
      z(local(11)),
    ]);

    // Deleted there: the poll cancels the booking.
    expect((await dav('DELETE', eventUrl)).status).toBeLessThan(300);
    const again = expectStatus(await member.client.post('/api/v1/me/calendar/sync', {}), 200);
    expect(again.cancelled).toEqual([booked.id]);
    mine = expectStatus(await member.client.get('/api/v1/bookings'), 200).data;
    expect(mine.find((b: { id: string }) => b.id === booked.id).status).toBe('cancelled');

    // Cancelled in Cairn: the event goes from the calendar.
    const second = expectStatus(
      await t.client().post(`/api/v1/public/booking/${type.token}`, {
        start: z(local(11)),
        name: 'Cy',
        email: 'cy@example.com',
      }),
      201,
    );
    expect((await dav('GET', `${base}/ada/work/${second.id}.ics`)).status).toBe(200);
    expectStatus(await member.client.post(`/api/v1/bookings/${second.id}/cancel`, {}), 200);
    expect((await dav('GET', `${base}/ada/work/${second.id}.ics`)).status).toBe(404);

    // The poll job runs and queues the next poll.
    await t.drain();
    expect((await t.queued('scheduling.calendar-poll')).length).toBeGreaterThan(0);

    // The server goes down: the poll keeps the busy times and reports the error.
    radicale?.kill();
    await new Promise((r) => setTimeout(r, 300));
    const down = expectStatus(await member.client.post('/api/v1/me/calendar/sync', {}), 200);
    expect(down.last_error).toMatch(/Calendar not read/);
    expect(down.busy).toContainEqual({ start: z(local(9)), end: z(local(10)) });
    expectStatus(await member.client.delete('/api/v1/me/calendar'), 204);
    expectProblem(await member.client.delete('/api/v1/me/calendar'), 404);
  });
});
