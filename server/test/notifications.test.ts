import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  type Client,
  defaultPipeline,
  expectProblem,
  expectStatus,
  newDeal,
  signUp,
  startTestApp,
  type TestApp,
  uniqueEmail,
} from './kit/index.js';

type Admin = Awaited<ReturnType<typeof signUp>>;
type Member = Awaited<ReturnType<typeof addMember>>;
type Note = {
  id: string;
  kind: string;
  title: string;
  record: { object: string; id: string; name: string | null };
  count: number;
  read: boolean;
  actor: { id: string; name: string } | null;
  detail: string | null;
};

let t: TestApp;
let admin: Admin;
let user: Member;
let viewer: Member;
let stranger: Admin;

beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Notify Co');
  user = await addMember(t, admin.client, 'user');
  viewer = await addMember(t, admin.client, 'viewer');
  stranger = await signUp(t, 'Elsewhere');
});
afterAll(() => t?.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The member's notifications (all, latest first), after running the queued consumers. */
async function inbox(client: Client, query = ''): Promise<Note[]> {
  await t.drain();
  return expectStatus<{ data: Note[] }>(await client.get(`/api/v1/notifications?limit=100${query}`), 200)
    .data;
}
const about = (notes: Note[], recordId: string, kind?: string) =>
  notes.filter((n) => n.record.id === recordId && (!kind || n.kind === kind));
const unread = async (client: Client) =>
  expectStatus<{ unread: number }>(await client.get('/api/v1/notifications/unread-count'), 200).unread;

async function newContact(client: Client, first = 'Grace') {
  const email = uniqueEmail(first.toLowerCase().replace(/[^a-z]/g, ''));
  const res = await client.post('/api/v1/contacts', { first_name: first, emails: [{ value: email }] });
  return expectStatus<{ id: string }>(res, 201).id;
}

describe('assigned to me', () => {
  it('notifies the new owner when another member assigns a contact, not the one who assigned it', async () => {
    const contactId = await newContact(admin.client, 'Grace');
    expectStatus(await admin.client.patch(`/api/v1/contacts/${contactId}`, { owner_id: user.userId }), 200);
    const mine = about(await inbox(user.client), contactId);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      kind: 'assigned',
      title: 'Ada Admin assigned you contact Grace',
      record: { object: 'contact', id: contactId, name: 'Grace' },
      actor: { id: admin.userId, name: 'Ada Admin' },
      read: false,
      count: 1,
    });
    expect(about(await inbox(admin.client), contactId)).toEqual([]);
  });

  it('does not notify a member who assigns a record to themselves', async () => {
    const contactId = await newContact(admin.client, 'Selfie');
    expectStatus(await user.client.patch(`/api/v1/contacts/${contactId}`, { owner_id: user.userId }), 200);
    expect(about(await inbox(user.client), contactId)).toEqual([]);
  });

  it('notifies for a bulk assignment and for any registry object with an owner (a company)', async () => {
    const companyRes = await admin.client.post('/api/v1/companies', { name: 'Initech' });
    const companyId = expectStatus<{ id: string }>(companyRes, 201).id;
    const bulk = await admin.client.post('/api/v1/companies/bulk', {
      action: 'assign_owner',
      ids: [companyId],
      owner_id: user.userId,
    });
    expect(bulk.status, bulk.text).toBeLessThan(300);
    const mine = about(await inbox(user.client), companyId);
    expect(mine.map((n) => [n.kind, n.title])).toEqual([
      ['assigned', 'Ada Admin assigned you company Initech'],
    ]);
  });

  it('a bulk assignment of many records makes one notification that counts them', async () => {
    const ids: string[] = [];
    for (const name of ['Bulk A', 'Bulk B', 'Bulk C', 'Bulk D', 'Bulk E']) {
      ids.push(expectStatus<{ id: string }>(await admin.client.post('/api/v1/companies', { name }), 201).id);
    }
    const bulk = await admin.client.post('/api/v1/companies/bulk', {
      action: 'assign_owner',
      ids,
      owner_id: user.userId,
    });
    expect(bulk.status, bulk.text).toBeLessThan(300);
    const mine = (await inbox(user.client)).filter((n) => ids.includes(n.record.id));
    expect(mine.map((n) => [n.kind, n.count])).toEqual([['assigned', 5]]);
    expect(mine[0]!.title).toMatch(/^Ada Admin assigned you company Bulk [A-E] and 4 more$/);
  });

  it('coalesces repeats of the same kind on the same record within 10 minutes, and not after', async () => {
    const contactId = await newContact(admin.client, 'Bounce');
    for (const owner of [user.userId, admin.userId, user.userId]) {
      expectStatus(await admin.client.patch(`/api/v1/contacts/${contactId}`, { owner_id: owner }), 200);
    }
    let mine = about(await inbox(user.client), contactId);
    expect(mine.map((n) => [n.kind, n.count])).toEqual([['assigned', 2]]);

    // Eleven minutes later the next assignment is a notification of its own.
    await t.services.database.raw.query(
      `update notifications set created_at = created_at - interval '11 minutes' where org_id = $1 and record_id = $2`,
      [admin.orgId, contactId],
    );
    expectStatus(await admin.client.patch(`/api/v1/contacts/${contactId}`, { owner_id: admin.userId }), 200);
    expectStatus(await admin.client.patch(`/api/v1/contacts/${contactId}`, { owner_id: user.userId }), 200);
    mine = about(await inbox(user.client), contactId);
    expect(mine.map((n) => n.count)).toEqual([1, 2]);
  });

  it('a read notification is not coalesced into: the next event is a new unread one', async () => {
    const contactId = await newContact(admin.client, 'Reread');
    expectStatus(await admin.client.patch(`/api/v1/contacts/${contactId}`, { owner_id: user.userId }), 200);
    const [first] = about(await inbox(user.client), contactId);
    expectStatus(await user.client.post(`/api/v1/notifications/${first!.id}/read`), 200);
    expectStatus(await admin.client.patch(`/api/v1/contacts/${contactId}`, { owner_id: admin.userId }), 200);
    expectStatus(await admin.client.patch(`/api/v1/contacts/${contactId}`, { owner_id: user.userId }), 200);
    const mine = about(await inbox(user.client), contactId);
    expect(mine.map((n) => n.read)).toEqual([false, true]);
  });
});

describe('settings', () => {
  it('lists every kind with defaults, and an in-app switch turned off suppresses that kind only', async () => {
    const member = await addMember(t, admin.client, 'user');
    const defaults = expectStatus(await member.client.get('/api/v1/notifications/settings'), 200);
    expect(defaults.email_digest_available).toBe(false);
    expect(defaults.data.map((s: { kind: string }) => s.kind)).toEqual([
      'assigned',
      'status_changed',
      'task_assigned',
      'task_due',
      'task_overdue',
      'task_reminder',
      'mention',
      'security_alert',
      'form_submitted',
      'ops_alert',
      'workflow',
      'handoff_waiting',
      'handoff_accepted',
      'handoff_denied',
    ]);
    expect(
      defaults.data.every((s: { in_app: boolean; email_digest: boolean }) => s.in_app && !s.email_digest),
    ).toBe(true);

    const saved = await member.client.put('/api/v1/notifications/settings', {
      data: [{ kind: 'assigned', in_app: false, email_digest: true }],
    });
    const after = expectStatus(saved, 200).data as { kind: string; in_app: boolean; email_digest: boolean }[];
    expect(after.find((s) => s.kind === 'assigned')).toMatchObject({ in_app: false, email_digest: true });
    // A partial change keeps the other flag.
    await member.client.put('/api/v1/notifications/settings', {
      data: [{ kind: 'assigned', email_digest: false }],
    });
    const again = expectStatus(await member.client.get('/api/v1/notifications/settings'), 200).data;
    expect(again.find((s: { kind: string }) => s.kind === 'assigned')).toMatchObject({
      in_app: false,
      email_digest: false,
    });

    const contactId = await newContact(admin.client, 'Muted');
    expectStatus(await admin.client.patch(`/api/v1/contacts/${contactId}`, { owner_id: member.userId }), 200);
    const task = await admin.client.post('/api/v1/tasks', {
      title: 'Still heard',
      assignee_id: member.userId,
    });
    expectStatus(task, 201);
    const mine = await inbox(member.client);
    expect(about(mine, contactId)).toEqual([]);
    expect(about(mine, task.body.id).map((n) => n.kind)).toEqual(['task_assigned']);
  });

  it('refuses an unknown kind, an unknown key and a kind given twice with a 400 naming the field', async () => {
    expectProblem(
      await user.client.put('/api/v1/notifications/settings', { data: [{ kind: 'nope', in_app: true }] }),
      400,
      { path: 'body.data[0].kind' },
    );
    expectProblem(
      await user.client.put('/api/v1/notifications/settings', { data: [{ kind: 'mention', loud: true }] }),
      400,
    );
    expectProblem(
      await user.client.put('/api/v1/notifications/settings', {
        data: [{ kind: 'mention' }, { kind: 'mention', in_app: false }],
      }),
      400,
      { code: 'duplicate_kind', path: 'body.data[1].kind' },
    );
  });
});

describe('mentions in notes', () => {
  it('notifies the mentioned member only (not the author, not other members, not another organization)', async () => {
    const contactId = await newContact(admin.client, 'Ada Lovelace');
    const body =
      `<p>Call her, <span data-mention="${user.userId}" onclick="x()">@A user</span> ` +
      `and <span data-mention="${admin.userId}">@me</span>` +
      ` and <span data-mention="${stranger.userId}">@stranger</span>` +
      ` and <span data-mention="not-an-id">@nobody</span></p>`;
    const note = await admin.client.post('/api/v1/notes', { object: 'contact', id: contactId, body });
    const saved = expectStatus(note, 201);
    // The mention syntax survives the sanitizer; everything else on the span is dropped.
    expect(saved.body_html).toContain(`<span data-mention="${user.userId}">@A user</span>`);
    expect(saved.body_html).not.toContain('onclick');
    expect(saved.body_html).toContain('<span>@nobody</span>');

    const mine = about(await inbox(user.client), contactId);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      kind: 'mention',
      title: 'Ada Admin mentioned you in a note on contact Ada Lovelace',
      record: { object: 'contact', id: contactId },
    });
    expect(mine[0]!.detail).toMatch(/^Call her/);
    expect(about(await inbox(admin.client), contactId)).toEqual([]);
    expect(about(await inbox(viewer.client), contactId)).toEqual([]);
    expect(about(await inbox(stranger.client), contactId)).toEqual([]);
  });

  it('an edit notifies only the members newly mentioned', async () => {
    const contactId = await newContact(admin.client, 'Edited');
    const first = `<p>Hi <span data-mention="${user.userId}">@A user</span></p>`;
    const note = expectStatus(
      await admin.client.post('/api/v1/notes', { object: 'contact', id: contactId, body: first }),
      201,
    );
    await inbox(user.client);
    const second = `${first}<p>and <span data-mention="${viewer.userId}">@A viewer</span></p>`;
    expectStatus(await admin.client.patch(`/api/v1/notes/${note.id}`, { body: second }), 200);
    expect(about(await inbox(user.client), contactId).map((n) => n.count)).toEqual([1]);
    expect(about(await inbox(viewer.client), contactId).map((n) => n.kind)).toEqual(['mention']);
  });
});

describe('tasks', () => {
  it('notifies the assignee of a task another member assigns, on create and on reassignment', async () => {
    const created = expectStatus(
      await admin.client.post('/api/v1/tasks', { title: 'Send the quote', assignee_id: user.userId }),
      201,
    );
    expect(about(await inbox(user.client), created.id).map((n) => n.title)).toEqual([
      'Ada Admin assigned you the task Send the quote',
    ]);
    const own = expectStatus(await user.client.post('/api/v1/tasks', { title: 'My own' }), 201);
    expectStatus(await admin.client.patch(`/api/v1/tasks/${own.id}`, { assignee_id: viewer.userId }), 200);
    expect(about(await inbox(viewer.client), own.id, 'task_assigned')).toHaveLength(1);
    expect(about(await inbox(user.client), own.id)).toEqual([]);
  });

  it('a task reminder that comes due reaches its assignee as a notification', async () => {
    const task = expectStatus(
      await user.client.post('/api/v1/tasks', {
        title: 'Remind me',
        remind_at: new Date(Date.now() + 1200).toISOString(),
      }),
      201,
    );
    expect(about(await inbox(user.client), task.id)).toEqual([]);
    await sleep(Date.parse(task.remind_at) - Date.now() + 50);
    const mine = about(await inbox(user.client), task.id);
    expect(mine.map((n) => [n.kind, n.title, n.actor])).toEqual([
      ['task_reminder', 'Reminder: task Remind me', null],
    ]);
  });

  it('tells the assignee when a task is due today and when it is overdue, once each', async () => {
    const task = expectStatus(
      await user.client.post('/api/v1/tasks', {
        title: 'Due soon',
        due_at: new Date(Date.now() + 1200).toISOString(),
      }),
      201,
    );
    // Its due day (UTC) has begun: "due today" at once; "overdue" waits for the due time.
    expect(about(await inbox(user.client), task.id).map((n) => n.title)).toEqual([
      'Your task Due soon is due today',
    ]);
    await sleep(Date.parse(task.due_at) - Date.now() + 50);
    await t.drain();
    await t.drain();
    expect(about(await inbox(user.client), task.id).map((n) => n.kind)).toEqual(['task_overdue', 'task_due']);
    // A done task is not overdue: its job finds it done.
    const done = expectStatus(
      await user.client.post('/api/v1/tasks', {
        title: 'Done early',
        due_at: new Date(Date.now() + 600).toISOString(),
      }),
      201,
    );
    expectStatus(await user.client.post(`/api/v1/tasks/${done.id}/complete`), 200);
    await sleep(700);
    expect(about(await inbox(user.client), done.id, 'task_overdue')).toEqual([]);
    // A task entered with a due time already past (past work) is not announced as overdue.
    const past = expectStatus(
      await user.client.post('/api/v1/tasks', {
        title: 'Last week',
        due_at: new Date(Date.now() - 7 * 86_400_000).toISOString(),
      }),
      201,
    );
    expect(about(await inbox(user.client), past.id)).toEqual([]);
  });
});

describe('status changed on a record I own', () => {
  it('notifies the owner when another member moves their opportunity to another stage', async () => {
    const deal = await newDeal(user.client, 'Big deal');
    const pipeline = await defaultPipeline(admin.client);
    const target = pipeline.stages.find((s) => s.kind === 'open' && s.id !== deal.stage.id)!;
    expectStatus(
      await admin.client.post(`/api/v1/opportunities/${deal.id}/move`, { stage_id: target.id }),
      200,
    );
    const mine = about(await inbox(user.client), deal.id);
    expect(mine.map((n) => [n.kind, n.title])).toEqual([
      ['status_changed', `Ada Admin moved opportunity Big deal to ${target.name}`],
    ]);
    // The owner's own move does not notify them.
    const back = pipeline.stages.find((s) => s.id === deal.stage.id)!;
    expectStatus(await user.client.post(`/api/v1/opportunities/${deal.id}/move`, { stage_id: back.id }), 200);
    expect(about(await inbox(user.client), deal.id).map((n) => n.count)).toEqual([1]);
    // Closed by another member: the same notification (within 10 minutes) tells the outcome.
    const won = pipeline.stages.find((st) => st.kind === 'won')!;
    expectStatus(await admin.client.post(`/api/v1/opportunities/${deal.id}/close`, { status: 'won' }), 200);
    expect(about(await inbox(user.client), deal.id).map((n) => n.title)).toEqual([
      `Ada Admin moved opportunity Big deal to ${won.name} (2 times)`,
    ]);
  });
});

describe('reading notifications', () => {
  it('counts unread ones, marks one and then all read, and pages with a cursor', async () => {
    const member = await addMember(t, admin.client, 'user');
    const ids = [];
    for (const name of ['One', 'Two', 'Three']) {
      const contactId = await newContact(admin.client, name);
      expectStatus(
        await admin.client.patch(`/api/v1/contacts/${contactId}`, { owner_id: member.userId }),
        200,
      );
      ids.push(contactId);
    }
    await t.drain();
    expect(await unread(member.client)).toBe(3);
    const first = expectStatus(await member.client.get('/api/v1/notifications?limit=2'), 200);
    expect(first.data.map((n: Note) => n.record.name)).toEqual(['Three', 'Two']);
    const second = expectStatus(
      await member.client.get(`/api/v1/notifications?limit=2&cursor=${first.next_cursor}`),
      200,
    );
    expect(second.data.map((n: Note) => n.record.name)).toEqual(['One']);
    expect(second.next_cursor).toBeNull();

    const read = expectStatus(
      await member.client.post(`/api/v1/notifications/${first.data[0].id}/read`),
      200,
    );
    expect(read).toMatchObject({ id: first.data[0].id, read: true });
    expect(await unread(member.client)).toBe(2);
    const unreadOnly = expectStatus(await member.client.get('/api/v1/notifications?unread=true'), 200);
    expect(unreadOnly.data.map((n: Note) => n.record.name)).toEqual(['Two', 'One']);

    expect(expectStatus(await member.client.post('/api/v1/notifications/read-all'), 200)).toEqual({
      updated: 2,
    });
    expect(await unread(member.client)).toBe(0);
    expect(expectStatus(await member.client.post('/api/v1/notifications/read-all'), 200)).toEqual({
      updated: 0,
    });
  });

  it('refuses a cursor it did not give out and a bad id with 400s', async () => {
    expectProblem(await user.client.get('/api/v1/notifications?cursor=bogus'), 400, {
      code: 'invalid_query',
      path: 'querystring.cursor',
    });
    expectProblem(await user.client.post('/api/v1/notifications/not-a-uuid/read'), 400, {
      path: 'params.id',
    });
  });
});

describe('isolation', () => {
  it("another member's notification, and another organization's, are a 404 and never listed", async () => {
    const contactId = await newContact(admin.client, 'Private');
    expectStatus(await admin.client.patch(`/api/v1/contacts/${contactId}`, { owner_id: user.userId }), 200);
    const [theirs] = about(await inbox(user.client), contactId);
    expect(theirs).toBeDefined();
    // The same organization's admin, and another organization's admin, cannot see or touch it.
    for (const other of [admin.client, stranger.client, viewer.client]) {
      expectProblem(await other.post(`/api/v1/notifications/${theirs!.id}/read`), 404, 'not_found');
      expect(about(await inbox(other), contactId)).toEqual([]);
    }
    // read-all of another member leaves it unread.
    expectStatus(await admin.client.post('/api/v1/notifications/read-all'), 200);
    expect(about(await inbox(user.client), contactId)[0]!.read).toBe(false);
    // Positive control: its recipient can.
    expectStatus(await user.client.post(`/api/v1/notifications/${theirs!.id}/read`), 200);
  });

  it('a member of two organizations sees only the current one’s notifications', async () => {
    const contactId = await newContact(admin.client, 'Org one');
    expectStatus(await admin.client.patch(`/api/v1/contacts/${contactId}`, { owner_id: user.userId }), 200);
    await t.drain();
    const before = await unread(user.client);
    expect(before).toBeGreaterThan(0);
    const created = await user.client.post('/api/v1/organizations', { name: 'Second org' });
    expect(created.status, created.text).toBe(201);
    // The new organization is the current one now: none of the first one's notifications show.
    expect(await unread(user.client)).toBe(0);
    expect(await inbox(user.client)).toEqual([]);
  });
});

describe('live unread count (server-sent events)', () => {
  it('answers 406 to a client that does not ask for an event stream', async () => {
    expectProblem(await user.client.get('/api/v1/notifications/stream'), 406, 'not_acceptable');
  });

  it('pushes the unread count at once and again when a notification arrives', async () => {
    const member = await addMember(t, admin.client, 'user');
    const abort = new AbortController();
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/v1/notifications/stream',
      headers: { cookie: member.client.cookieHeader, accept: 'text/event-stream' },
      payloadAsStream: true,
      signal: abort.signal,
    });
    expect(res.statusCode).toBe(200);
    expect(String(res.headers['content-type'])).toMatch(/^text\/event-stream/);
    const stream = res.stream();
    let text = '';
    const events: number[] = [];
    const waitFor = async (n: number) => {
      const deadline = Date.now() + 5000;
      while (events.length < n && Date.now() < deadline) await sleep(20);
      return events;
    };
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      events.splice(
        0,
        events.length,
        ...[...text.matchAll(/event: unread\ndata: (\{.*\})\n\n/g)].map((m) => JSON.parse(m[1]!).unread),
      );
    });
    stream.on('error', () => {});
    expect(await waitFor(1)).toEqual([0]);

    const contactId = await newContact(admin.client, 'Live');
    expectStatus(await admin.client.patch(`/api/v1/contacts/${contactId}`, { owner_id: member.userId }), 200);
    await t.drain();
    expect(await waitFor(2)).toEqual([0, 1]);
    // Reading them, here or in another tab, pushes the new count too.
    expectStatus(await member.client.post('/api/v1/notifications/read-all'), 200);
    expect(await waitFor(3)).toEqual([0, 1, 0]);
    abort.abort();
  });
});
