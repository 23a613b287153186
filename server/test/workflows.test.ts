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
type Run = {
  id: string;
  status: string;
  error: string | null;
  workflow_name: string;
  steps: {
    step_id: string;
    type: string;
    status: string;
    output: any;
    error: string | null;
    attempts: number;
  }[];
  trigger: { type: string; event?: { type: string } };
};

let t: TestApp;
let admin: Admin;
let stranger: Admin;

beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Flow Co');
  stranger = await signUp(t, 'Elsewhere');
});
afterAll(() => t?.close());

async function newContact(client: Client, first: string, extra: Record<string, unknown> = {}) {
  const email = uniqueEmail(first.toLowerCase());
  const res = await client.post('/api/v1/contacts', {
    first_name: first,
    emails: [{ value: email }],
    ...extra,
  });
  return { id: expectStatus<{ id: string }>(res, 201).id, email };
}

async function createActive(client: Client, body: Record<string, unknown>) {
  const created = expectStatus<{ id: string; lock_version: number }>(
    await client.post('/api/v1/workflows', body),
    201,
  );
  const active = expectStatus<{ status: string; lock_version: number }>(
    await client.post(`/api/v1/workflows/${created.id}/activate`, {}),
    200,
  );
  expect(active.status).toBe('active');
  return created.id;
}

const runsOf = async (client: Client, query: string) =>
  expectStatus<{ data: { id: string; status: string; record_id: string }[] }>(
    await client.get(`/api/v1/workflow-runs?${query}`),
    200,
  ).data;
const runOf = async (client: Client, id: string) =>
  expectStatus<Run>(await client.get(`/api/v1/workflow-runs/${id}`), 200);
const mailTo = async (client: Client, to: string) =>
  expectStatus<{ data: { to: string; subject: string; text: string; kind: string }[] }>(
    await client.get('/api/v1/system-mail'),
    200,
  ).data.filter((m) => m.to === to);

/** "When a contact gets the tag lead, wait a day; if they replied, create a task, else send the welcome e-mail." */
const leadFollowUp = (name: string, tag = 'lead') => ({
  name,
  object: 'contact',
  definition: {
    trigger: { type: 'tag_added', tag },
    start: 'wait',
    reenrollment: 'after_completion',
    steps: [
      { id: 'wait', type: 'wait', duration: { amount: 1, unit: 'days' }, next: ['replied'] },
      {
        id: 'replied',
        type: 'if_else',
        condition: { field: 'tags', op: 'hasAny', value: ['replied'] },
        if_true: ['task'],
        if_false: ['email'],
      },
      { id: 'task', type: 'create_task', title: 'Call {{record.first_name}} back', due_in_days: 1 },
      {
        id: 'email',
        type: 'send_email',
        subject: 'Welcome, {{record.first_name}}',
        body: 'Hello {{record.first_name}}, thanks for your interest. ({{workflow.name}})',
      },
    ],
  },
});

describe('a workflow from trigger to effect (the issue’s "done means")', () => {
  it('tags a contact lead, waits a day, then e-mails the one who did not reply and makes a task for the one who did', async () => {
    const c = admin.client;
    const workflowId = await createActive(c, leadFollowUp('Lead follow-up'));
    const quiet = await newContact(c, 'Quinn');
    const talker = await newContact(c, 'Tara', { tags: ['replied'] });
    for (const contact of [quiet, talker])
      expectStatus(
        await c.patch(`/api/v1/contacts/${contact.id}`, {
          tags: ['lead', ...(contact === talker ? ['replied'] : [])],
        }),
        200,
      );
    await t.drain();

    // Both runs wait a day.
    const waiting = await runsOf(c, `workflow_id=${workflowId}`);
    expect(waiting.map((r) => r.status)).toEqual(['waiting', 'waiting']);
    const first = await runOf(c, waiting.find((r) => r.record_id === quiet.id)!.id);
    expect(first.trigger.type).toBe('tag_added');
    expect(first.trigger.event?.type).toBe('contact.updated');
    expect(first.steps).toMatchObject([{ step_id: 'wait', status: 'waiting' }]);
    expect(await mailTo(c, quiet.email)).toEqual([]);

    // The day passes.
    await t.drain({ delayed: true });
    const done = await runsOf(c, `workflow_id=${workflowId}`);
    expect(done.map((r) => r.status)).toEqual(['completed', 'completed']);

    const mails = await mailTo(c, quiet.email);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ kind: 'workflow', subject: 'Welcome, Quinn' });
    expect(mails[0]!.text).toContain('Hello Quinn');
    expect(await mailTo(c, talker.email)).toEqual([]);

    const tasks = expectStatus<{ data: { title: string; link: { id: string } | null }[] }>(
      await c.get('/api/v1/tasks?status=all&limit=200'),
      200,
    ).data.filter((task) => task.link?.id === talker.id);
    expect(tasks.map((task) => task.title)).toEqual(['Call Tara back']);

    const quietRun = await runOf(c, done.find((r) => r.record_id === quiet.id)!.id);
    expect(quietRun.steps.map((s) => [s.step_id, s.status])).toEqual([
      ['wait', 'completed'],
      ['replied', 'completed'],
      ['email', 'completed'],
    ]);
    expect(quietRun.steps[1]!.output).toEqual({ condition: false });

    // The record's timeline shows the workflow as the actor of what it did.
    const timeline = expectStatus<{ data: { description: string; actor: { type: string; name: string } }[] }>(
      await c.get(`/api/v1/contacts/${quiet.id}/timeline`),
      200,
    ).data;
    const words = timeline.map((e) => e.description);
    expect(words).toContain(
      `The workflow “Lead follow-up” e-mailed “Welcome, Quinn” to contact Quinn (${quiet.email})`,
    );
    expect(words).toContain('The workflow “Lead follow-up” started on contact Quinn');
    expect(words).toContain('The workflow “Lead follow-up” finished on contact Quinn');
    const taskEntry = expectStatus<{
      data: { type: string; description: string; actor: { type: string; name: string } }[];
    }>(await c.get(`/api/v1/contacts/${talker.id}/timeline`), 200).data.find(
      (e) => e.type === 'task.created',
    );
    expect(taskEntry?.description).toBe('Workflow “Lead follow-up” created task Call Tara back');
    expect(taskEntry?.actor).toMatchObject({ type: 'workflow', name: 'Workflow “Lead follow-up”' });

    // A run is never duplicated by the drain: the tag is already there, nothing starts again.
    await t.drain({ delayed: true });
    expect(await mailTo(c, quiet.email)).toHaveLength(1);
  });

  it('a test run says what would happen on a record without doing it', async () => {
    const c = admin.client;
    const created = expectStatus<{ id: string }>(await c.post('/api/v1/workflows', leadFollowUp('Dry')), 201);
    const contact = await newContact(c, 'Dora');
    const result = expectStatus<{
      trigger_matches: boolean;
      steps: { step_id: string; status: string; output: any }[];
    }>(await c.post(`/api/v1/workflows/${created.id}/test-run`, { record_id: contact.id }), 200);
    expect(result.steps.map((s) => s.step_id)).toEqual(['wait', 'replied', 'email']);
    expect(result.steps[2]!.output).toMatchObject({ subject: 'Welcome, Dora', to: contact.email });
    await t.drain({ delayed: true });
    expect(await mailTo(c, contact.email)).toEqual([]);
    expect(await runsOf(c, `workflow_id=${created.id}`)).toEqual([]);
  });
});

describe('failures, replay and cancel', () => {
  it('records a failing step visibly; after the admin fixes the step, a replay finishes the run once', async () => {
    const c = admin.client;
    const id = await createActive(c, {
      name: 'Qualify',
      object: 'contact',
      definition: {
        trigger: { type: 'tag_added', tag: 'qualify' },
        start: 'tag',
        steps: [
          { id: 'tag', type: 'add_tag', tag: 'in-review', next: ['status'] },
          {
            id: 'status',
            type: 'update_field',
            field: 'lead_status',
            value: 'no-such-status',
            next: ['mail'],
          },
          { id: 'mail', type: 'send_email', subject: 'We are on it', body: 'Hi {{record.first_name}}' },
        ],
      },
    });
    const contact = await newContact(c, 'Fay');
    expectStatus(await c.patch(`/api/v1/contacts/${contact.id}`, { tags: ['qualify'] }), 200);
    await t.drain({ delayed: true });
    const [failed] = await runsOf(c, `workflow_id=${id}&status=failed`);
    const run = await runOf(c, failed!.id);
    expect(run.status).toBe('failed');
    expect(run.steps.map((s) => [s.step_id, s.status])).toEqual([
      ['tag', 'completed'],
      ['status', 'failed'],
    ]);
    expect(run.steps[1]!.error).toMatch(/lead_status/);
    expect(run.error).toBe(run.steps[1]!.error);

    // Replaying the same version fails the same way; the tag is not added twice.
    expectStatus(await c.post(`/api/v1/workflow-runs/${run.id}/replay`, {}), 200);
    await t.drain({ delayed: true });
    expect((await runOf(c, run.id)).status).toBe('failed');

    // The admin fixes the step (a new version: the workflow is active) and replays on it.
    const current = expectStatus<{ lock_version: number; version: number; definition: any }>(
      await c.get(`/api/v1/workflows/${id}`),
      200,
    );
    const fixed = structuredClone(current.definition);
    fixed.steps[1].value = 'qualified';
    const saved = expectStatus<{ version: number }>(
      await c.put(`/api/v1/workflows/${id}`, { lock_version: current.lock_version, definition: fixed }),
      200,
    );
    expect(saved.version).toBe(current.version + 1);
    const replayed = expectStatus<Run>(
      await c.post(`/api/v1/workflow-runs/${run.id}/replay`, { version: 'latest' }),
      200,
    );
    expect(replayed.status).toBe('running');
    await t.drain({ delayed: true });
    const finished = await runOf(c, run.id);
    expect(finished.status).toBe('completed');
    expect(finished.steps.map((s) => [s.step_id, s.status, s.attempts])).toEqual([
      ['tag', 'completed', 0],
      ['status', 'completed', 2],
      ['mail', 'completed', 0],
    ]);
    const after = expectStatus<{ tags: string[]; lead_status: string }>(
      await c.get(`/api/v1/contacts/${contact.id}`),
      200,
    );
    expect(after.tags.filter((tag) => tag === 'in-review')).toHaveLength(1);
    expect(after.lead_status).toBe('qualified');
    expect(await mailTo(c, contact.email)).toHaveLength(1);

    // A completed run is not replayed.
    expectProblem(await c.post(`/api/v1/workflow-runs/${run.id}/replay`, {}), 409, 'not_failed');
  });

  it('cancels a waiting run: its wait ends with nothing done', async () => {
    const c = admin.client;
    const id = await createActive(c, leadFollowUp('Cancellable', 'cancel-me'));
    const contact = await newContact(c, 'Cody');
    expectStatus(await c.patch(`/api/v1/contacts/${contact.id}`, { tags: ['cancel-me'] }), 200);
    await t.drain();
    const [run] = await runsOf(c, `workflow_id=${id}`);
    expect(run!.status).toBe('waiting');
    const cancelled = expectStatus<Run>(await c.post(`/api/v1/workflow-runs/${run!.id}/cancel`, {}), 200);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.steps[0]!.status).toBe('cancelled');
    await t.drain({ delayed: true });
    expect((await runOf(c, run!.id)).status).toBe('cancelled');
    expect(await mailTo(c, contact.email)).toEqual([]);
    expectProblem(await c.post(`/api/v1/workflow-runs/${run!.id}/cancel`, {}), 409, 'not_open');
  });

  it('a step whose worker dies before the commit is run again once, and a job delivered twice does nothing the second time', async () => {
    const c = admin.client;
    const me = (await c.get('/api/v1/me')).body.user.id as string;
    const id = await createActive(c, {
      name: 'Twice',
      object: 'contact',
      definition: {
        trigger: { type: 'tag_added', tag: 'twice' },
        start: 'task',
        steps: [
          { id: 'task', type: 'create_task', title: 'Once for {{record.first_name}}', next: ['note'] },
          { id: 'note', type: 'notify', user: 'owner', message: 'Have a look', next: ['mail'] },
          { id: 'mail', type: 'send_email', subject: 'Once only', body: 'Hi' },
        ],
      },
    });
    const contact = await newContact(c, 'Otto', { owner_id: me });
    const { runStep } = await import('../src/modules/workflows/workflow-runner.service.js');
    const { services } = t;
    const send = services.jobs.send.bind(services.jobs);
    let dying = false;
    let deaths = 0;
    // The "process" dies at its first write to the queue inside the step's transaction: after the
    // step's effect, before the commit (a lost connection, which the queue retries).
    services.jobs.send = async (conn, name, data, options) => {
      if (dying) {
        dying = false;
        deaths++;
        throw Object.assign(new Error('the worker was killed'), { code: '57P01' });
      }
      return send(conn, name, data, options);
    };
    const tried = new Set<string>();
    services.jobs.define<Parameters<typeof runStep>[1]>(
      { name: 'workflow.step', retryLimit: 8 },
      async ({ data }) => {
        const key = JSON.stringify(data);
        if (!tried.has(key)) {
          tried.add(key);
          dying = true;
        }
        await runStep(services, data);
        dying = false;
        await runStep(services, data); // delivered again
      },
    );
    try {
      expectStatus(await c.patch(`/api/v1/contacts/${contact.id}`, { tags: ['twice'] }), 200);
      await t.drain({ delayed: true });
    } finally {
      services.jobs.send = send;
      services.jobs.define<Parameters<typeof runStep>[1]>(
        { name: 'workflow.step', retryLimit: 8 },
        ({ data }) => runStep(services, data),
      );
    }
    // The three steps run in one job (no wait between them), a level per transaction: the first
    // level dies before its commit, and the job delivered again runs all three once.
    expect(deaths).toBeGreaterThanOrEqual(1);
    const [run] = await runsOf(c, `workflow_id=${id}`);
    const detail = await runOf(c, run!.id);
    expect(detail.status).toBe('completed');
    expect(detail.steps.map((s) => [s.step_id, s.status])).toEqual([
      ['task', 'completed'],
      ['note', 'completed'],
      ['mail', 'completed'],
    ]);
    const tasks = expectStatus<{ data: { title: string; link: { id: string } | null }[] }>(
      await c.get('/api/v1/tasks?status=all&limit=200'),
      200,
    ).data.filter((task) => task.link?.id === contact.id);
    expect(tasks.map((task) => task.title)).toEqual(['Once for Otto']);
    expect(await mailTo(c, contact.email)).toHaveLength(1);
    const notes = expectStatus<{ data: { kind: string; record: { id: string } }[] }>(
      await c.get('/api/v1/notifications?limit=100'),
      200,
    ).data.filter((n) => n.kind === 'workflow' && n.record.id === contact.id);
    expect(notes).toHaveLength(1);
  });
});

describe('triggers on every object, and the loop guard', () => {
  it('runs on a custom object’s records, with field conditions, and updates its fields', async () => {
    const c = admin.client;
    expectStatus(
      await c.post('/api/v1/objects', {
        key: 'surrogacy_case',
        label_singular: 'Case',
        label_plural: 'Cases',
      }),
      201,
    );
    expectStatus(
      await c.post('/api/v1/objects/surrogacy_case/fields', {
        key: 'stage',
        label: 'Stage',
        type: 'select',
        options: [
          { value: 'intake', label: 'Intake' },
          { value: 'matching', label: 'Matching' },
        ],
      }),
      201,
    );
    const id = await createActive(c, {
      name: 'Intake cases',
      object: 'surrogacy_case',
      definition: {
        trigger: { type: 'record_created', conditions: { field: 'stage', op: 'eq', value: 'intake' } },
        start: 'move',
        steps: [
          { id: 'move', type: 'update_field', field: 'stage', value: 'matching', next: ['tag'] },
          { id: 'tag', type: 'add_tag', tag: 'auto-matched' },
        ],
      },
    });
    const intake = expectStatus<{ id: string }>(
      await c.post('/api/v1/records/surrogacy_case', { custom: { name: 'Case A', stage: 'intake' } }),
      201,
    );
    expectStatus<{ id: string }>(
      await c.post('/api/v1/records/surrogacy_case', { custom: { name: 'Case B', stage: 'matching' } }),
      201,
    );
    await t.drain({ delayed: true });
    const runs = await runsOf(c, `workflow_id=${id}`);
    expect(runs.map((r) => [r.record_id, r.status])).toEqual([[intake.id, 'completed']]);
    const record = expectStatus<{ tags: string[]; custom: { stage: string } }>(
      await c.get(`/api/v1/records/surrogacy_case/${intake.id}`),
      200,
    );
    expect(record.custom.stage).toBe('matching');
    expect(record.tags).toEqual(['auto-matched']);
  });

  it('starts on opportunity won', async () => {
    const c = admin.client;
    const pipeline = await defaultPipeline(c);
    const won = await createActive(c, {
      name: 'Celebrate',
      object: 'opportunity',
      definition: {
        trigger: { type: 'opportunity_won' },
        start: 'tag',
        steps: [{ id: 'tag', type: 'add_tag', tag: 'celebrated' }],
      },
    });
    const deal = await newDeal(c, 'Big deal');
    const wonStage = pipeline.stages.find((s) => s.kind === 'won')!;
    expectStatus(await c.post(`/api/v1/opportunities/${deal.id}/move`, { stage_id: wonStage.id }), 200);
    await t.drain({ delayed: true });
    expect((await runsOf(c, `workflow_id=${won}`)).map((r) => r.status)).toEqual(['completed']);
    const after = expectStatus<{ tags: string[] }>(await c.get(`/api/v1/opportunities/${deal.id}`), 200);
    expect(after.tags).toEqual(['celebrated']);
  });

  it('stops two workflows that start each other (loop guard: a chain of runs ends at depth 3)', async () => {
    const c = admin.client;
    const flip = (name: string, from: string, to: string) =>
      createActive(c, {
        name,
        object: 'contact',
        definition: {
          trigger: { type: 'tag_added', tag: from },
          start: 'off',
          reenrollment: 'always',
          steps: [
            { id: 'off', type: 'remove_tag', tag: from, next: ['on'] },
            { id: 'on', type: 'add_tag', tag: to },
          ],
        },
      });
    const ping = await flip('Ping', 'ping', 'pong');
    const pong = await flip('Pong', 'pong', 'ping');
    const contact = await newContact(c, 'Polly');
    expectStatus(await c.patch(`/api/v1/contacts/${contact.id}`, { tags: ['ping'] }), 200);
    await t.drain({ delayed: true });
    expect((await runsOf(c, `workflow_id=${ping}`)).map((r) => r.status)).toEqual(['completed', 'completed']);
    expect((await runsOf(c, `workflow_id=${pong}`)).map((r) => r.status)).toEqual(['completed', 'completed']);
    const after = expectStatus<{ tags: string[] }>(await c.get(`/api/v1/contacts/${contact.id}`), 200);
    expect(after.tags).toEqual(['ping']);
  });

  it('fires a schedule on the records matching its conditions, and sets the next time', async () => {
    const c = admin.client;
    const id = await createActive(c, {
      name: 'Morning sweep',
      object: 'contact',
      definition: {
        trigger: {
          type: 'schedule',
          cron: '0 9 * * *',
          timezone: 'Europe/Paris',
          conditions: { field: 'tags', op: 'hasAny', value: ['sweep'] },
        },
        start: 'tag',
        reenrollment: 'always',
        steps: [{ id: 'tag', type: 'add_tag', tag: 'swept' }],
      },
    });
    const wanted = await newContact(c, 'Sam', { tags: ['sweep'] });
    await newContact(c, 'Sid');
    const workflow = expectStatus<{ next_fire_at: string }>(await c.get(`/api/v1/workflows/${id}`), 200);
    expect(new Date(workflow.next_fire_at).getUTCMinutes()).toBe(0);
    const [job] = (await t.queued('workflow.fire')).filter(
      (j) => (j.data as { workflow_id: string }).workflow_id === id,
    );
    expect(job!.startAfter.toISOString()).toBe(new Date(workflow.next_fire_at).toISOString());
    const { fireSchedule } = await import('../src/modules/workflows/workflow-schedule.service.js');
    await fireSchedule(t.services, job!.data as Parameters<typeof fireSchedule>[1]);
    // Paused, so the next firing (queued by this one) finds nothing to do when a drain runs it.
    expectStatus(await c.post(`/api/v1/workflows/${id}/pause`, {}), 200);
    await t.drain({ delayed: true });
    const runs = await runsOf(c, `workflow_id=${id}`);
    expect(runs.map((r) => [r.record_id, r.status])).toEqual([[wanted.id, 'completed']]);
  });

  it('starts by hand on a bulk selection, keeping the re-enrollment rule', async () => {
    const c = admin.client;
    const id = await createActive(c, {
      name: 'By hand',
      object: 'contact',
      definition: {
        trigger: { type: 'manual' },
        start: 'tag',
        reenrollment: 'never',
        steps: [{ id: 'tag', type: 'add_tag', tag: 'handpicked' }],
      },
    });
    const [a, b] = [await newContact(c, 'Hana'), await newContact(c, 'Hugo')];
    const started = expectStatus<{ data: { record_id: string; status: string }[] }>(
      await c.post(`/api/v1/workflows/${id}/runs`, { record_ids: [a.id, b.id] }),
      200,
    );
    expect(started.data.map((s) => s.status)).toEqual(['started', 'started']);
    await t.drain();
    const again = expectStatus<{ data: { status: string; reason: string | null }[] }>(
      await c.post(`/api/v1/workflows/${id}/runs`, { record_ids: [a.id] }),
      200,
    );
    expect(again.data).toEqual([expect.objectContaining({ status: 'skipped', reason: 'reenrollment' })]);
  });
});

describe('bad input: a clear 4xx, never a 5xx', () => {
  const base = (definition: Record<string, unknown>, object = 'contact') => ({
    name: 'Bad',
    object,
    definition,
  });
  const trigger = { type: 'record_created' };

  it('refuses unknown fields, unknown template variables, self-triggering workflows and bad graphs', async () => {
    const c = admin.client;
    expectProblem(
      await c.post(
        '/api/v1/workflows',
        base({
          trigger,
          start: 'a',
          steps: [{ id: 'a', type: 'update_field', field: 'shoe_size', value: 'x' }],
        }),
      ),
      422,
      { code: 'invalid_workflow', path: 'body.definition.steps[0].field' },
    );
    expectProblem(
      await c.post(
        '/api/v1/workflows',
        base({
          trigger,
          start: 'a',
          steps: [{ id: 'a', type: 'send_email', subject: 'Hi {{record.nickname}}', body: 'x' }],
        }),
      ),
      422,
      { code: 'unknown_template_variable', path: 'body.definition.steps[0].subject' },
    );
    expectProblem(
      await c.post(
        '/api/v1/workflows',
        base({
          trigger: { type: 'record_updated', fields: ['lead_status'] },
          start: 'a',
          steps: [{ id: 'a', type: 'update_field', field: 'lead_status', value: 'new' }],
        }),
      ),
      422,
      { code: 'self_triggering', path: 'body.definition.trigger' },
    );
    expectProblem(
      await c.post(
        '/api/v1/workflows',
        base({
          trigger,
          start: 'a',
          steps: [{ id: 'a', type: 'create_record', object: 'contact', values: { first_name: 'Clone' } }],
        }),
      ),
      422,
      { code: 'self_triggering', path: 'body.definition.steps[0].object' },
    );
    expectProblem(
      await c.post(
        '/api/v1/workflows',
        base({
          trigger: { type: 'record_created', conditions: { field: 'password_hash', op: 'eq', value: 'x' } },
          start: null,
          steps: [],
        }),
      ),
      400,
      { code: 'invalid_query', path: 'body.definition.trigger.conditions.field' },
    );
    expectProblem(
      await c.post(
        '/api/v1/workflows',
        base({
          trigger,
          start: 'a',
          steps: [
            { id: 'a', type: 'add_tag', tag: 'x', next: ['b'] },
            { id: 'b', type: 'add_tag', tag: 'y', next: ['a'] },
          ],
        }),
      ),
      422,
      { code: 'invalid_workflow' },
    );
    expectProblem(
      await c.post(
        '/api/v1/workflows',
        base({ trigger: { type: 'opportunity_won' }, start: null, steps: [] }),
      ),
      422,
      { code: 'invalid_workflow', path: 'body.definition.trigger.type' },
    );
    expectProblem(
      await c.post(
        '/api/v1/workflows',
        base({ trigger: { type: 'schedule', cron: 'every day at nine' }, start: null, steps: [] }),
      ),
      422,
      { path: 'body.definition.trigger.cron' },
    );
    expectProblem(
      await c.post('/api/v1/workflows', base({ trigger, start: null, steps: [] }, 'no_such_object')),
      422,
      'unknown_object',
    );
    expectProblem(
      await c.post('/api/v1/workflows', base({ trigger: { type: 'teleport' }, start: null, steps: [] })),
      400,
    );
    // A draft with no steps saves, but does not activate.
    const draft = expectStatus<{ id: string }>(
      await c.post('/api/v1/workflows', base({ trigger, start: null, steps: [] })),
      201,
    );
    expectProblem(await c.post(`/api/v1/workflows/${draft.id}/activate`, {}), 422, {
      path: 'body.definition.start',
    });
  });

  it('answers 409 to the second of two admins saving the same version', async () => {
    const c = admin.client;
    const other = await addMember(t, c, 'admin');
    const created = expectStatus<{ id: string; lock_version: number; definition: any }>(
      await c.post('/api/v1/workflows', leadFollowUp('Contested')),
      201,
    );
    const [first, second] = await Promise.all([
      c.put(`/api/v1/workflows/${created.id}`, { lock_version: created.lock_version, name: 'Mine' }),
      other.client.put(`/api/v1/workflows/${created.id}`, {
        lock_version: created.lock_version,
        name: 'Theirs',
      }),
    ]);
    const statuses = [first.status, second.status].sort();
    expect(statuses).toEqual([200, 409]);
    const loser = first.status === 409 ? first : second;
    expectProblem(loser, 409, { code: 'stale_version', path: 'body.lock_version' });
  });

  it('keeps members to reading, and another tenant’s workflows and runs are 404', async () => {
    const c = admin.client;
    const member = await addMember(t, c, 'user');
    expectProblem(await member.client.post('/api/v1/workflows', leadFollowUp('Nope')), 403);
    const id = await createActive(c, leadFollowUp('Private', 'private'));
    expectStatus(await member.client.get(`/api/v1/workflows/${id}`), 200);
    expectProblem(await stranger.client.get(`/api/v1/workflows/${id}`), 404);
    expectProblem(await stranger.client.put(`/api/v1/workflows/${id}`, { lock_version: 1, name: 'x' }), 404);
    expectProblem(await stranger.client.post(`/api/v1/workflows/${id}/pause`, {}), 404);
    const [run] = await runsOf(c, 'limit=1');
    expectProblem(await stranger.client.get(`/api/v1/workflow-runs/${run!.id}`), 404);
    expectProblem(await stranger.client.post(`/api/v1/workflow-runs/${run!.id}/cancel`, {}), 404);
    expect(await runsOf(stranger.client, `workflow_id=${id}`)).toEqual([]);
  });
});
