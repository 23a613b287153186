import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type HostAvailability,
  hostSlots,
  pageSlots,
  slotsForVisitor,
} from '../src/modules/scheduling/slots.js';
import { addMember, expectProblem, expectStatus, signUp, startTestApp, type TestApp } from './kit/index.js';

// Scheduling (issue 33): availability, meeting types, public booking pages, slots across the 2027
// daylight-saving changes, bookings that create or find the contact, log a meeting, send
// invitations, and never double book.

const at = (s: string) => new Date(s).getTime();
const utc = (ms: number) => new Date(ms).toISOString();
const NOW = at('2026-12-06T12:00:00Z');

const host = (over: Partial<HostAvailability> = {}): HostAvailability => ({
  userId: 'u1',
  timeZone: 'Europe/Berlin',
  weekly: Object.fromEntries(
    ['1', '2', '3', '4', '5', '6', '7'].map((d) => [d, [{ start: '09:00', end: '17:00' }]]),
  ),
  overrides: [],
  bufferBeforeMinutes: 0,
  bufferAfterMinutes: 0,
  minNoticeMinutes: 0,
  maxPerDay: null,
  booked: [],
  busy: [],
  ...over,
});

describe('slots', () => {
  it('keeps working hours in the local time across the 2027 European spring change', () => {
    const h = host();
    const before = hostSlots(h, 60, 60, at('2027-03-27T00:00:00Z'), at('2027-03-28T00:00:00Z'), NOW);
    const after = hostSlots(h, 60, 60, at('2027-03-28T00:00:00Z'), at('2027-03-29T00:00:00Z'), NOW);
    expect(utc(before[0]!)).toBe('2027-03-27T08:00:00.000Z'); // 09:00 CET
    expect(utc(after[0]!)).toBe('2027-03-28T07:00:00.000Z'); // 09:00 CEST
    expect(before).toHaveLength(8);
    expect(after).toHaveLength(8);
    // And back in the autumn: 09:00 CET again on 31 October 2027.
    const autumn = hostSlots(h, 60, 60, at('2027-10-31T00:00:00Z'), at('2027-11-01T00:00:00Z'), NOW);
    expect(utc(autumn[0]!)).toBe('2027-10-31T08:00:00.000Z');
    const saturday = hostSlots(h, 60, 60, at('2027-10-30T00:00:00Z'), at('2027-10-31T00:00:00Z'), NOW);
    expect(utc(saturday[0]!)).toBe('2027-10-30T07:00:00.000Z');
  });

  it('counts real time in a span across the change (New York, 14 March and 7 November 2027)', () => {
    const night = { '7': [{ start: '01:00', end: '04:00' }] };
    const h = host({ timeZone: 'America/New_York', weekly: night });
    // 01:00 EST to 04:00 EDT is two hours: 02:00 does not exist that night.
    const spring = hostSlots(h, 60, 60, at('2027-03-14T00:00:00Z'), at('2027-03-15T12:00:00Z'), NOW);
    expect(spring.map(utc)).toEqual(['2027-03-14T06:00:00.000Z', '2027-03-14T07:00:00.000Z']);
    // 01:00 EDT to 04:00 EST is four hours: 01:00 comes twice.
    const autumn = hostSlots(h, 60, 60, at('2027-11-07T00:00:00Z'), at('2027-11-08T00:00:00Z'), NOW);
    expect(autumn.map(utc)).toEqual([
      '2027-11-07T05:00:00.000Z',
      '2027-11-07T06:00:00.000Z',
      '2027-11-07T07:00:00.000Z',
      '2027-11-07T08:00:00.000Z',
    ]);
  });

  it('applies buffers, notice, the daily cap and date overrides', () => {
    const day = [at('2027-04-05T00:00:00Z'), at('2027-04-06T00:00:00Z')] as const; // a Monday
    const booked = [{ start: at('2027-04-05T10:00:00Z'), end: at('2027-04-05T11:00:00Z') }]; // 12:00 CEST
    const free = hostSlots(
      host({ booked, bufferBeforeMinutes: 15, bufferAfterMinutes: 15 }),
      60,
      60,
      ...day,
      NOW,
    );
    // 11:00 and 13:00 local touch the booking once buffered.
    expect(free.map(utc)).not.toContain('2027-04-05T09:00:00.000Z');
    expect(free.map(utc)).not.toContain('2027-04-05T11:00:00.000Z');
    expect(free.map(utc)).toContain('2027-04-05T08:00:00.000Z');
    expect(hostSlots(host({ booked, maxPerDay: 1 }), 60, 60, ...day, NOW)).toEqual([]);
    const notice = hostSlots(host({ minNoticeMinutes: 120 }), 60, 60, ...day, at('2027-04-05T07:00:00Z'));
    expect(utc(notice[0]!)).toBe('2027-04-05T09:00:00.000Z');
    const off = host({ overrides: [{ date: '2027-04-05', spans: [] }] });
    expect(hostSlots(off, 60, 60, ...day, NOW)).toEqual([]);
    const late = host({ overrides: [{ date: '2027-04-05', spans: [{ start: '20:00', end: '22:00' }] }] });
    expect(hostSlots(late, 60, 60, ...day, NOW).map(utc)).toEqual([
      '2027-04-05T18:00:00.000Z',
      '2027-04-05T19:00:00.000Z',
    ]);
  });

  it('offers a team page any host is free for, a collective one only when all are', () => {
    const a = host({ userId: 'a', weekly: { '1': [{ start: '09:00', end: '12:00' }] } });
    const b = host({ userId: 'b', weekly: { '1': [{ start: '11:00', end: '14:00' }] } });
    const range = [at('2027-04-05T00:00:00Z'), at('2027-04-06T00:00:00Z')] as const;
    const rr = pageSlots('round_robin', [a, b], 60, 60, ...range, NOW);
    expect(rr.size).toBe(5);
    const together = pageSlots('collective', [a, b], 60, 60, ...range, NOW);
    expect([...together.keys()].map(utc)).toEqual(['2027-04-05T09:00:00.000Z']);
  });

  it("groups slots by the visitor's dates in their zone", () => {
    const days = slotsForVisitor([at('2027-03-28T15:30:00Z')], 30, 'Asia/Tokyo');
    expect(days).toEqual([
      {
        date: '2027-03-29',
        slots: [
          {
            start: '2027-03-28T15:30:00.000Z',
            end: '2027-03-28T16:00:00.000Z',
            local_start: '2027-03-29T00:30:00+09:00',
          },
        ],
      },
    ]);
  });
});

describe('booking pages', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof signUp>>;
  let member: Awaited<ReturnType<typeof addMember>>;
  let stranger: Awaited<ReturnType<typeof signUp>>;
  const hours = {
    time_zone: 'Europe/Berlin',
    weekly: { '1': [{ start: '09:00', end: '12:00' }], '2': [{ start: '09:00', end: '12:00' }] },
    overrides: [],
  };

  beforeAll(async () => {
    t = await startTestApp();
    admin = await signUp(t, 'Demo Co');
    member = await addMember(t, admin.client, 'user');
    stranger = await signUp(t, 'Elsewhere');
    expectStatus(await admin.client.put('/api/v1/me/availability', hours), 200);
    expectStatus(await member.client.put('/api/v1/me/availability', hours), 200);
  }, 60_000);
  afterAll(() => t?.close());

  const pub = () => t.client();

  it("keeps a member's availability and refuses bad hours", async () => {
    const mine = expectStatus(await member.client.get('/api/v1/me/availability'), 200);
    expect(mine.time_zone).toBe('Europe/Berlin');
    expect(mine.weekly['1']).toEqual([{ start: '09:00', end: '12:00' }]);
    expectProblem(
      await member.client.put('/api/v1/me/availability', { ...hours, time_zone: 'Mars/Olympus' }),
      400,
    );
    expectProblem(
      await member.client.put('/api/v1/me/availability', {
        ...hours,
        weekly: {
          '1': [
            { start: '09:00', end: '12:00' },
            { start: '11:00', end: '13:00' },
          ],
        },
      }),
      400,
      'overlapping_spans',
    );
    expectProblem(
      await member.client.put('/api/v1/me/availability', {
        ...hours,
        weekly: { '1': [{ start: '12:00', end: '09:00' }] },
      }),
      400,
    );
  });

  it('books a round-robin demo: contact, timeline meeting, invitations, least recent host first, 409 when full', async () => {
    const type = expectStatus(
      await admin.client.post('/api/v1/meeting-types', {
        name: 'Demo',
        duration_minutes: 60,
        video_url: 'https://meet.example/demo',
        questions: [{ key: 'company', label: 'Your company', required: true }],
        assignment: 'round_robin',
        host_ids: [admin.userId, member.userId],
      }),
      201,
    );
    expect(type.booking_url).toMatch(/\/book\//);
    const page = expectStatus(await pub().get(`/api/v1/public/booking/${type.token}`), 200);
    expect(page.hosts).toHaveLength(2);
    const slots = expectStatus(
      await pub().get(
        `/api/v1/public/booking/${type.token}/slots?time_zone=America/New_York&from=2027-04-05T00:00:00Z&days=1`,
      ),
      200,
    );
    // 09:00-12:00 in Berlin (CEST) is 03:00-06:00 in New York (EDT).
    expect(slots.days[0].slots.map((s: { local_start: string }) => s.local_start)).toEqual([
      '2027-04-05T03:00:00-04:00',
      '2027-04-05T04:00:00-04:00',
      '2027-04-05T05:00:00-04:00',
    ]);
    const start = '2027-04-05T07:00:00Z';
    const body = {
      start,
      name: 'Grace Hopper',
      email: 'grace@navy.example',
      time_zone: 'America/New_York',
      answers: { company: 'Navy' },
    };
    expectProblem(
      await pub().post(`/api/v1/public/booking/${type.token}`, { ...body, answers: {} }),
      400,
      'required',
    );
    const first = expectStatus(await pub().post(`/api/v1/public/booking/${type.token}`, body), 201);
    expect(first.local_start).toBe('2027-04-05T03:00:00-04:00');
    const second = expectStatus(
      await pub().post(`/api/v1/public/booking/${type.token}`, { ...body, email: 'GRACE@navy.example' }),
      201,
    );
    expect(second.hosts).not.toEqual(first.hosts);
    const full = expectProblem(
      await pub().post(`/api/v1/public/booking/${type.token}`, body),
      409,
      'slot_taken',
    ) as {
      slots: { days: { slots: { start: string }[] }[] };
    };
    expect(full.slots.days.flatMap((d) => d.slots).map((s) => s.start)).not.toContain(
      '2027-04-05T07:00:00.000Z',
    );

    // One contact for the same e-mail, with the meetings on its timeline.
    const bookings = expectStatus(
      await admin.client.get('/api/v1/bookings?mine=false&from=2027-01-01T00:00:00Z'),
      200,
    ).data;
    const ours = bookings.filter((b: { start: string }) => b.start === '2027-04-05T07:00:00.000Z');
    expect(ours).toHaveLength(2);
    expect(new Set(ours.map((b: { contact_id: string }) => b.contact_id)).size).toBe(1);
    expect(new Set(ours.flatMap((b: { host_ids: string[] }) => b.host_ids))).toEqual(
      new Set([admin.userId, member.userId]),
    );
    const contact = expectStatus(await admin.client.get(`/api/v1/contacts/${ours[0].contact_id}`), 200);
    expect(contact.first_name).toBe('Grace');
    const notes = expectStatus(
      await admin.client.get(`/api/v1/notes?object=contact&id=${ours[0].contact_id}`),
      200,
    ).data;
    expect(notes.filter((n: { kind: string }) => n.kind === 'meeting')).toHaveLength(2);

    // Invitations to both sides, with an iCalendar REQUEST.
    const outbox = expectStatus(await admin.client.get('/api/v1/system-mail'), 200).data;
    const mails = outbox.filter((m: { kind: string }) => m.kind === 'booking');
    expect(mails.map((m: { to: string }) => m.to)).toEqual(
      expect.arrayContaining(['grace@navy.example', admin.email, member.email]),
    );
    const visitorMail = mails.find((m: { to: string }) => m.to === 'grace@navy.example');
    expect(visitorMail.text).toContain('/book/manage/');
    expect(visitorMail.attachments[0].content_type).toMatch(/^text\/calendar/);
    const { rows } = await t.services.database.raw.query<{ attachments: { base64: string }[] }>(
      'select attachments from system_mail where org_id = $1 and id = $2',
      [admin.orgId, visitorMail.id],
    );
    const ics = Buffer.from(rows[0]!.attachments[0]!.base64, 'base64').toString();
    expect(ics).toContain('BEGIN:VCALENDAR');
    expect(ics).toContain('METHOD:REQUEST');
    expect(ics).toMatch(/DTSTART:20270405T070000Z/);
  });

  it('never double books under concurrent requests, and frees the time on cancel', async () => {
    const type = expectStatus(
      await admin.client.post('/api/v1/meeting-types', {
        name: 'Intro',
        duration_minutes: 30,
        location: 'Office',
        assignment: 'single',
        host_ids: [member.userId],
      }),
      201,
    );
    const start = '2027-04-06T08:00:00Z';
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        pub().post(`/api/v1/public/booking/${type.token}`, {
          start,
          name: `Visitor ${i}`,
          email: `v${i}@example.com`,
        }),
      ),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    // An overlapping start of another type of the same host is refused too.
    const overlap = expectStatus(
      await admin.client.post('/api/v1/meeting-types', {
        name: 'Long',
        duration_minutes: 60,
        slot_step_minutes: 15,
        assignment: 'single',
        host_ids: [member.userId],
      }),
      201,
    );
    expectProblem(
      await pub().post(`/api/v1/public/booking/${overlap.token}`, {
        start: '2027-04-06T07:45:00Z',
        name: 'X',
        email: 'x@example.com',
      }),
      409,
      'slot_taken',
    );
    const won = answers.find((a) => a.status === 201)!.body as { manage_url: string };
    const token = won.manage_url.split('/').at(-1)!;
    expect(expectStatus(await pub().get(`/api/v1/public/bookings/${token}`), 200).status).toBe('confirmed');
    // Reschedule to 08:30, then cancel: 08:00 and 08:30 are free again.
    const moved = expectStatus(
      await pub().post(`/api/v1/public/bookings/${token}/reschedule`, { start: '2027-04-06T08:30:00Z' }),
      200,
    );
    expect(moved.start).toBe('2027-04-06T08:30:00.000Z');
    expectStatus(
      await pub().post(`/api/v1/public/booking/${type.token}`, {
        start,
        name: 'Late',
        email: 'late@example.com',
      }),
      201,
    );
    expectStatus(await pub().post(`/api/v1/public/bookings/${token}/cancel`, {}), 200);
    expectProblem(await pub().post(`/api/v1/public/bookings/${token}/cancel`, {}), 409, 'invalid_state');
    expectStatus(
      await pub().post(`/api/v1/public/booking/${type.token}`, {
        start: '2027-04-06T08:30:00Z',
        name: 'Next',
        email: 'next@example.com',
      }),
      201,
    );
  });

  it('refuses the past, times outside hours, unknown pages and other tenants', async () => {
    const type = expectStatus(
      await admin.client.post('/api/v1/meeting-types', {
        name: 'Call',
        duration_minutes: 30,
        assignment: 'collective',
        host_ids: [admin.userId, member.userId],
      }),
      201,
    );
    const book = (start: string) =>
      pub().post(`/api/v1/public/booking/${type.token}`, { start, name: 'A', email: 'a@example.com' });
    expectProblem(await book('2020-01-06T08:00:00Z'), 422, 'slot_in_past');
    expectProblem(await book('2027-04-05T15:00:00Z'), 422, 'outside_hours');
    expectProblem(await book('2027-04-05T08:10:00Z'), 422, 'outside_hours');
    // 1:30 in Berlin on the spring-forward night is not a working time (nor a real one).
    expectProblem(await book('2027-03-28T00:30:00Z'), 422, 'outside_hours');
    expectProblem(await pub().get('/api/v1/public/booking/nope'), 404);
    expectProblem(await pub().get(`/api/v1/public/booking/${type.token.slice(0, -2)}xx`), 404);
    expectProblem(await stranger.client.get(`/api/v1/meeting-types/${type.id}`), 404);
    expectProblem(
      await admin.client.post('/api/v1/meeting-types', {
        name: 'X',
        duration_minutes: 30,
        assignment: 'single',
        host_ids: [stranger.userId],
      }),
      422,
      'not_a_member',
    );
    expectProblem(
      await member.client.post('/api/v1/meeting-types', {
        name: 'X',
        duration_minutes: 30,
        assignment: 'single',
        host_ids: [member.userId],
      }),
      403,
    );
    expectStatus(await admin.client.delete(`/api/v1/meeting-types/${type.id}`), 204);
    expectProblem(await pub().get(`/api/v1/public/booking/${type.token}`), 404);
  });
});
