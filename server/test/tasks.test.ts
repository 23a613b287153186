import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dueWindows } from '../src/modules/tasks/due-window.util.js';
import { deliverReminder, TASK_REMINDER_QUEUE } from '../src/modules/tasks/task-reminder.service.js';
import { addMember, signUp, startTestApp, type TestApp, uniqueEmail } from './harness.js';

type Admin = Awaited<ReturnType<typeof signUp>>;
type Member = Awaited<ReturnType<typeof addMember>>;
let t: TestApp;
let admin: Admin;
let user: Member;
let viewer: Member;
let stranger: Admin;
let contactId: string;

beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Tasks Co');
  user = await addMember(t, admin.client, 'user');
  viewer = await addMember(t, admin.client, 'viewer');
  stranger = await signUp(t, 'Elsewhere');
  const contact = await admin.client.post('/api/v1/contacts', {
    first_name: 'Grace',
    emails: [{ value: uniqueEmail('grace') }],
  });
  contactId = contact.body.id;
});
afterAll(() => t?.close());

const DAY = 86_400_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const titles = (tasks: { title: string }[]) => tasks.map((x) => x.title);

describe('task lifecycle', () => {
  it('creates, reads, updates, completes, reopens and archives a task', async () => {
    const created = await user.client.post('/api/v1/tasks', {
      title: '  Call Grace  ',
      description: 'About the renewal',
      due_date: '2031-02-03',
      priority: 'high',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      title: 'Call Grace',
      due_at: '2031-02-03T00:00:00.000Z',
      due_date: '2031-02-03',
      all_day: true,
      priority: 'high',
      status: 'open',
      assignee_id: user.userId,
      link: null,
    });
    const id = created.body.id;
    expect((await viewer.client.get(`/api/v1/tasks/${id}`)).body.title).toBe('Call Grace');

    const patched = await user.client.patch(`/api/v1/tasks/${id}`, {
      due_at: '2031-02-03T09:30:00+02:00',
      assignee_id: admin.userId,
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      due_at: '2031-02-03T07:30:00.000Z',
      due_date: null,
      all_day: false,
      assignee_id: admin.userId,
    });

    const done = await user.client.post(`/api/v1/tasks/${id}/complete`);
    expect(done.body).toMatchObject({ status: 'done', completed_by: user.userId });
    expect(done.body.completed_at).not.toBeNull();
    const reopened = await user.client.post(`/api/v1/tasks/${id}/reopen`);
    expect(reopened.body).toMatchObject({ status: 'open', completed_at: null, completed_by: null });

    const archived = await user.client.delete(`/api/v1/tasks/${id}`);
    expect(archived.status).toBe(200);
    expect(archived.body.archived_at).not.toBeNull();
    const edit = await user.client.patch(`/api/v1/tasks/${id}`, { title: 'Too late' });
    expect(edit.status).toBe(409);
    expect(edit.body.code).toBe('archived');
    expect((await user.client.post(`/api/v1/tasks/${id}/restore`)).body.archived_at).toBeNull();
  });

  it('lets a viewer read but not write', async () => {
    const task = await admin.client.post('/api/v1/tasks', { title: 'Read me' });
    expect((await viewer.client.get(`/api/v1/tasks/${task.body.id}`)).status).toBe(200);
    for (const res of [
      await viewer.client.post('/api/v1/tasks', { title: 'Nope' }),
      await viewer.client.patch(`/api/v1/tasks/${task.body.id}`, { title: 'Nope' }),
      await viewer.client.post(`/api/v1/tasks/${task.body.id}/complete`),
      await viewer.client.delete(`/api/v1/tasks/${task.body.id}`),
    ]) {
      expect(res.status).toBe(403);
    }
  });

  it('validates input, naming the field: assignee, link, due, priority, unknown fields', async () => {
    const foreignContact = await stranger.client.post('/api/v1/contacts', {
      first_name: 'Not',
      emails: [{ value: uniqueEmail('not') }],
    });
    const cases: [unknown, number, string][] = [
      [{ title: 'x', assignee_id: stranger.userId }, 422, 'body.assignee_id'],
      [{ title: 'x', link: { object: 'contact', id: foreignContact.body.id } }, 422, 'body.link.id'],
      [{ title: 'x', link: { object: 'company', id: contactId } }, 422, 'body.link.id'],
      [{ title: 'x', link: { object: 'deal', id: contactId } }, 400, 'body.link.object'],
      [{ title: 'x', due_at: '2031-01-01T10:00:00Z', due_date: '2031-01-01' }, 400, 'body.due_date'],
      [{ title: 'x', due_at: 'tomorrow' }, 400, 'body.due_at'],
      [{ title: 'x', priority: 'asap' }, 400, 'body.priority'],
      [{ title: ' ' }, 400, 'body.title'],
      [{ title: 'x'.repeat(201) }, 400, 'body.title'],
      [{ title: 'x', description: 'y'.repeat(5001) }, 400, 'body.description'],
      [{ title: 'x', status: 'done' }, 400, 'body.status'],
    ];
    for (const [body, status, path] of cases) {
      const res = await admin.client.post('/api/v1/tasks', body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.path, JSON.stringify(body)).toBe(path);
    }
    const task = await admin.client.post('/api/v1/tasks', { title: 'Valid' });
    const bad = await admin.client.patch(`/api/v1/tasks/${task.body.id}`, { assignee_id: stranger.userId });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ code: 'reference_not_found', path: 'body.assignee_id' });
  });

  it("answers 404 for another tenant's task, and leaves it unchanged", async () => {
    const task = await admin.client.post('/api/v1/tasks', { title: 'Private' });
    const id = task.body.id;
    expect((await stranger.client.get(`/api/v1/tasks/${id}`)).status).toBe(404);
    expect((await stranger.client.patch(`/api/v1/tasks/${id}`, { title: 'Mine' })).status).toBe(404);
    expect((await stranger.client.patch(`/api/v1/tasks/${id}`, {})).status).toBe(404);
    expect((await stranger.client.post(`/api/v1/tasks/${id}/restore`)).status).toBe(404);
    expect((await stranger.client.post(`/api/v1/tasks/${id}/reopen`)).status).toBe(404);
    expect((await stranger.client.post(`/api/v1/tasks/${id}/complete`)).status).toBe(404);
    expect((await stranger.client.delete(`/api/v1/tasks/${id}`)).status).toBe(404);
    expect((await admin.client.get(`/api/v1/tasks/${id}`)).body).toMatchObject({
      title: 'Private',
      status: 'open',
      archived_at: null,
    });
  });

  it("shows a linked task's life on the contact's timeline", async () => {
    const task = await admin.client.post('/api/v1/tasks', {
      title: 'Send Grace the proposal',
      link: { object: 'contact', id: contactId },
    });
    expect(task.body.link).toEqual({ object: 'contact', id: contactId });
    await admin.client.post(`/api/v1/tasks/${task.body.id}/complete`);
    const timeline = await admin.client.get(`/api/v1/contacts/${contactId}/timeline`);
    const entries = timeline.body.data.filter(
      (e: { subject: { id: string } }) => e.subject.id === task.body.id,
    );
    expect(entries.map((e: { type: string }) => e.type)).toEqual(['task.completed', 'task.created']);
    expect(entries[1].description).toBe('Ada Admin created task Send Grace the proposal');
  });
});

describe('task list', () => {
  it('filters by assignee=me, q, due range, status and link, and pages with a cursor', async () => {
    const boss = await signUp(t, 'List Co');
    const mate = await addMember(t, boss.client, 'user');
    const contact = await boss.client.post('/api/v1/contacts', {
      first_name: 'Lin',
      emails: [{ value: uniqueEmail('lin') }],
    });
    const make = (body: Record<string, unknown>) => boss.client.post('/api/v1/tasks', body);
    await make({ title: 'A mine early', due_at: '2032-01-01T10:00:00Z' });
    await make({ title: 'B mine 100%_off', due_date: '2032-01-02', description: 'discount' });
    await make({ title: 'C theirs', due_at: '2032-01-03T10:00:00Z', assignee_id: mate.userId });
    await make({
      title: 'D nobody undated',
      assignee_id: null,
      link: { object: 'contact', id: contact.body.id },
    });
    const doneTask = await make({ title: 'E done', due_at: '2032-01-01T12:00:00Z' });
    await boss.client.post(`/api/v1/tasks/${doneTask.body.id}/complete`);
    const list = async (query: string) => {
      const res = await boss.client.get(`/api/v1/tasks?${query}`);
      expect(res.status, query).toBe(200);
      return titles(res.body.data);
    };
    expect(await list('')).toEqual(['A mine early', 'B mine 100%_off', 'C theirs', 'D nobody undated']);
    expect(await list('assignee=me')).toEqual(['A mine early', 'B mine 100%_off']);
    expect(await mate.client.get('/api/v1/tasks?assignee=me').then((r) => titles(r.body.data))).toEqual([
      'C theirs',
    ]);
    expect(await list(`assignee=${mate.userId}`)).toEqual(['C theirs']);
    expect(await list('q=100%25_')).toEqual(['B mine 100%_off']);
    expect(await list('q=%25')).toEqual(['B mine 100%_off']);
    expect(await list('q=DISCOUNT')).toEqual(['B mine 100%_off']);
    expect(await list('q=mine%20early')).toEqual(['A mine early']);
    expect(await list('due_from=2032-01-02&due_to=2032-01-03')).toEqual(['B mine 100%_off', 'C theirs']);
    expect(await list('due_to=2032-01-01T10:00:00Z')).toEqual(['A mine early']);
    expect(await list('status=done')).toEqual(['E done']);
    expect(await list('status=all&due_to=2032-01-01')).toEqual(['A mine early', 'E done']);
    expect(await list(`linked_object=contact&linked_id=${contact.body.id}`)).toEqual(['D nobody undated']);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: { title: string }[]; next_cursor: string | null } } = await boss.client.get(
        `/api/v1/tasks?status=all&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...titles(page.body.data));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(['A mine early', 'E done', 'B mine 100%_off', 'C theirs', 'D nobody undated']);

    for (const [query, path] of [
      ['cursor=garbage', 'querystring.cursor'],
      [`linked_id=${contact.body.id}`, 'querystring.linked_object'],
      ['status=later', 'querystring.status'],
      ['limit=500', 'querystring.limit'],
      ['assignee=someone', 'querystring.assignee'],
      ['due_from=yesterday', 'querystring.due_from'],
    ]) {
      const res = await boss.client.get(`/api/v1/tasks?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.path, query).toBe(path);
    }
  });
});

describe('tasks in the query language', () => {
  it('filters and sorts GET /tasks with the filter tree and sort of every list, with the task parameters', async () => {
    const boss = await signUp(t, 'Query Co');
    const make = (body: Record<string, unknown>) => boss.client.post('/api/v1/tasks', body);
    await make({ title: 'Call Ada', priority: 'high', due_at: '2033-03-01T09:00:00Z' });
    await make({ title: 'Write Bob', priority: 'low', due_at: '2033-03-02T09:00:00Z' });
    await make({ title: 'Plan C', priority: 'urgent' });
    await make({ title: 'Visit Dee', priority: 'high', due_at: '2033-03-03T09:00:00Z' });
    const list = async (query: Record<string, string>) => {
      const res = await boss.client.get(`/api/v1/tasks?${new URLSearchParams(query)}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return titles(res.body.data);
    };
    const high = JSON.stringify({ field: 'priority', op: 'in', value: ['high', 'urgent'] });
    expect(await list({ filter: high })).toEqual(['Call Ada', 'Visit Dee', 'Plan C']);
    expect(await list({ filter: high, sort: '-due_at' })).toEqual(['Plan C', 'Visit Dee', 'Call Ada']);
    expect(await list({ filter: high, q: 'visit' })).toEqual(['Visit Dee']);
    expect(await list({ sort: 'title:desc', due_to: '2033-03-02' })).toEqual(['Write Bob', 'Call Ada']);
    const dated = JSON.stringify({ field: 'due_at', op: 'gte', value: '2033-03-02T00:00:00Z' });
    expect(await list({ filter: dated })).toEqual(['Write Bob', 'Visit Dee']);

    // Pages in the requested sort, with the cursor of that sort.
    const seen: string[] = [];
    let cursor = '';
    do {
      const res = await boss.client.get(
        `/api/v1/tasks?${new URLSearchParams({ sort: 'title', limit: '3', ...(cursor ? { cursor } : {}) })}`,
      );
      seen.push(...titles(res.body.data));
      cursor = res.body.next_cursor ?? '';
    } while (cursor);
    expect(seen).toEqual(['Call Ada', 'Plan C', 'Visit Dee', 'Write Bob']);

    for (const [query, path] of [
      [{ filter: JSON.stringify({ field: 'nope', op: 'eq', value: 1 }) }, 'filter.field'],
      [{ filter: '{not json' }, 'filter'],
      [{ sort: 'nope' }, 'sort[0].field'],
    ] as const) {
      const res = await boss.client.get(`/api/v1/tasks?${new URLSearchParams(query)}`);
      expect(res.status, JSON.stringify(query)).toBe(400);
      expect(res.body).toMatchObject({ code: 'invalid_query', path });
    }
  });
});

describe('task groups', () => {
  it('counts days in a time zone, across a DST change, with Monday-started weeks', () => {
    // 23:30 UTC on Saturday 30 March 2024 is 00:30 on Sunday 31 March in Paris, the day CEST begins.
    const w = dueWindows(new Date('2024-03-30T23:30:00Z'), 'Europe/Paris');
    expect(w.days).toEqual({
      today: '2024-03-31',
      tomorrow: '2024-04-01',
      dayAfter: '2024-04-02',
      nextWeek: '2024-04-02',
    });
    expect(w.tomorrow.toISOString()).toBe('2024-03-31T22:00:00.000Z');
    const wednesday = dueWindows(new Date('2024-04-03T12:00:00Z'), 'America/New_York');
    expect(wednesday.nextWeek.toISOString()).toBe('2024-04-08T04:00:00.000Z');
  });

  it('groups open tasks as overdue, today, tomorrow, this week, later and undated', async () => {
    const boss = await signUp(t, 'Groups Co');
    const mate = await addMember(t, boss.client, 'user');
    const untilMidnight = DAY - (Date.now() % DAY);
    if (untilMidnight < 60_000) await sleep(untilMidnight + 1000);
    const now = Date.now();
    const todayStart = now - (now % DAY);
    const isoWeekday = ((new Date(todayStart).getUTCDay() + 6) % 7) + 1;
    const at = (ms: number) => new Date(ms).toISOString();
    const make = (title: string, fields: Record<string, unknown> = {}) =>
      boss.client.post('/api/v1/tasks', { title, ...fields }).then((r) => r.body);
    await make('overdue timed', { due_at: at(now - 2 * 3600_000) });
    await make('overdue all-day', { due_date: utcDay(todayStart - DAY) });
    await make('today all-day', { due_date: utcDay(todayStart) });
    await make('today timed', { due_at: at(now + Math.min(3600_000, (todayStart + DAY - now) / 2)) });
    await make('tomorrow timed', { due_at: at(todayStart + DAY + 12 * 3600_000) });
    await make('after tomorrow', { due_at: at(todayStart + 2 * DAY + 3600_000) });
    await make('next month', { due_at: at(now + 30 * DAY) });
    await make('someday');
    await make('theirs today', { due_date: utcDay(todayStart), assignee_id: mate.userId });
    const done = await make('done yesterday', { due_date: utcDay(todayStart - DAY) });
    await boss.client.post(`/api/v1/tasks/${done.id}/complete`);
    const gone = await make('archived', { due_date: utcDay(todayStart) });
    await boss.client.delete(`/api/v1/tasks/${gone.id}`);

    const res = await boss.client.get('/api/v1/tasks/groups?assignee=me');
    expect(res.status).toBe(200);
    const afterTomorrowInWeek = isoWeekday <= 5; // Monday..Friday: the day after tomorrow is this week
    expect({
      overdue: titles(res.body.overdue),
      today: titles(res.body.today),
      tomorrow: titles(res.body.tomorrow),
      this_week: titles(res.body.this_week),
      later: titles(res.body.later),
      no_date: titles(res.body.no_date),
    }).toEqual({
      overdue: ['overdue all-day', 'overdue timed'],
      today: ['today all-day', 'today timed'],
      tomorrow: ['tomorrow timed'],
      this_week: afterTomorrowInWeek ? ['after tomorrow'] : [],
      later: afterTomorrowInWeek ? ['next month'] : ['after tomorrow', 'next month'],
      no_date: ['someday'],
    });
    const everyone = await boss.client.get('/api/v1/tasks/groups?tz=UTC');
    expect(titles(everyone.body.today).sort()).toEqual(['theirs today', 'today all-day', 'today timed']);
    expect(titles(everyone.body.today).at(-1)).toBe('today timed');

    const bad = await boss.client.get('/api/v1/tasks/groups?tz=Mars/Olympus_Mons');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'invalid_time_zone', path: 'querystring.tz' });
    expect((await boss.client.get('/api/v1/tasks/groups?tz=Asia/Kolkata')).status).toBe(200);
  });
});

describe('task reminders', () => {
  const remindersOf = async (taskId: string) => {
    const timeline = await admin.client.get(`/api/v1/contacts/${contactId}/timeline?limit=200`);
    return timeline.body.data.filter(
      (e: { type: string; subject: { id: string } }) =>
        e.type === 'task.reminder_due' && e.subject.id === taskId,
    );
  };

  it('reminds once at remind_at, even when the job is delivered again', async () => {
    const task = await admin.client.post('/api/v1/tasks', {
      title: 'Follow up with Grace',
      assignee_id: user.userId,
      link: { object: 'contact', id: contactId },
      remind_at: new Date(Date.now() + 1500).toISOString(),
    });
    expect(task.body.reminder_sent_at).toBeNull();
    // Its job waits for remind_at.
    const waiting = (await t.queued(TASK_REMINDER_QUEUE)).filter(
      (job) => (job.data as { task_id: string }).task_id === task.body.id,
    );
    expect(waiting.map((job) => job.startAfter)).toEqual([new Date(task.body.remind_at)]);
    await sleep(Date.parse(task.body.remind_at) - Date.now() + 50);
    await t.drain();
    const sentAt = (await admin.client.get(`/api/v1/tasks/${task.body.id}`)).body.reminder_sent_at;
    expect(sentAt).toBeTypeOf('string');
    expect(Date.parse(sentAt)).toBeGreaterThanOrEqual(Date.parse(task.body.remind_at));
    const reminders = await remindersOf(task.body.id);
    expect(reminders).toHaveLength(1);
    expect(reminders[0].data).toEqual({ name: 'Follow up with Grace', assignee_id: user.userId });

    // A worker restart hands the same job out again: it must not remind twice.
    const job = { org_id: admin.orgId, task_id: task.body.id, remind_at: task.body.remind_at };
    await t.services.jobs.send(null, TASK_REMINDER_QUEUE, job);
    expect(await deliverReminder(t.services, job)).toBe(false);
    await t.drain();
    expect(await remindersOf(task.body.id)).toHaveLength(1);
  });

  it('a moved reminder fires at its new time only; a done task is not reminded', async () => {
    const start = Date.now();
    const soon = () => new Date(start + 300).toISOString();
    const moved = await admin.client.post('/api/v1/tasks', {
      title: 'Moved reminder',
      link: { object: 'contact', id: contactId },
      remind_at: soon(),
    });
    const later = new Date(start + 3_600_000).toISOString();
    await admin.client.patch(`/api/v1/tasks/${moved.body.id}`, { remind_at: later });
    const finished = await admin.client.post('/api/v1/tasks', {
      title: 'Finished first',
      link: { object: 'contact', id: contactId },
      remind_at: soon(),
    });
    await admin.client.post(`/api/v1/tasks/${finished.body.id}/complete`);
    // The jobs of the first time run (and do nothing); the moved one waits for its new time.
    await sleep(start + 400 - Date.now());
    await t.drain();
    expect((await admin.client.get(`/api/v1/tasks/${moved.body.id}`)).body.reminder_sent_at).toBeNull();
    const waiting = (await t.queued(TASK_REMINDER_QUEUE)).filter(
      (job) => (job.data as { task_id: string }).task_id === moved.body.id,
    );
    expect(waiting.map((job) => job.startAfter)).toEqual([new Date(later)]);
    // Its time come (drained as if it had), it reminds.
    await t.drain({ delayed: true });
    expect((await admin.client.get(`/api/v1/tasks/${moved.body.id}`)).body.reminder_sent_at).toBeTypeOf(
      'string',
    );
    expect(await remindersOf(moved.body.id)).toHaveLength(1);
    expect(await remindersOf(finished.body.id)).toHaveLength(0);
    expect((await admin.client.get(`/api/v1/tasks/${finished.body.id}`)).body.reminder_sent_at).toBeNull();
  });

  it('a reminder whose time has passed shows the open task as due now to its assignee, until it is done', async () => {
    const boss = await signUp(t, 'Reminders Co');
    const mate = await addMember(t, boss.client, 'user');
    const at = (ms: number) => new Date(Date.now() + ms).toISOString();
    const make = (title: string, fields: Record<string, unknown>) =>
      boss.client.post('/api/v1/tasks', { title, ...fields }).then((r) => r.body);
    const past = await make('Call back Grace', { remind_at: at(-60_000), due_at: at(3 * DAY) });
    const future = await make('Renewal next month', { remind_at: at(30 * DAY) });
    const done = await make('Already called', { remind_at: at(-60_000) });
    await boss.client.post(`/api/v1/tasks/${done.id}/complete`);
    await make('No reminder', {});
    await make('Mate reminded', { remind_at: at(-60_000), assignee_id: mate.userId });

    const groups = await boss.client.get('/api/v1/tasks/groups?assignee=me');
    expect(groups.status).toBe(200);
    expect(titles(groups.body.due_now)).toEqual(['Call back Grace']);
    // It stays in the group of its due date too (in 3 days: this week or later, by the weekday).
    expect([...titles(groups.body.this_week), ...titles(groups.body.later)]).toContain('Call back Grace');

    const mine = await boss.client.get('/api/v1/tasks?assignee=me&status=all');
    const dueOf = Object.fromEntries(
      mine.body.data.map((x: { title: string; reminder_due: boolean }) => [x.title, x.reminder_due]),
    );
    expect(dueOf).toEqual({
      'Call back Grace': true,
      'Renewal next month': false,
      'Already called': false,
      'No reminder': false,
    });
    const dueNow = await boss.client.get('/api/v1/tasks?assignee=me&reminder_due=true');
    expect(titles(dueNow.body.data)).toEqual(['Call back Grace']);
    const notDue = await boss.client.get('/api/v1/tasks?assignee=me&reminder_due=false');
    expect(titles(notDue.body.data).sort()).toEqual(['No reminder', 'Renewal next month']);
    expect((await boss.client.get('/api/v1/tasks?reminder_due=banana')).status).toBe(400);

    // The assignee sees theirs; done, it is no longer due.
    expect(titles((await mate.client.get('/api/v1/tasks/groups?assignee=me')).body.due_now)).toEqual([
      'Mate reminded',
    ]);
    await boss.client.post(`/api/v1/tasks/${past.id}/complete`);
    expect((await boss.client.get('/api/v1/tasks/groups?assignee=me')).body.due_now).toEqual([]);
    expect((await boss.client.get(`/api/v1/tasks/${future.id}`)).body.reminder_due).toBe(false);
  });
});
