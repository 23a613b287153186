import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../src/db/tenant.js';
import { describeEvent } from '../src/modules/timeline/timeline.service.js';
import { events } from '../src/platform/events/event.schema.js';
import { eventCatalogue, eventDefinition } from '../src/platform/events/event-catalogue.js';
import { type Client, signUp, startTestApp, type TestApp } from './harness.js';

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;

beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Catalogue Co');
});
afterAll(() => t?.close());

/** POSTs/PATCHes and fails loudly unless the answer is a 2xx. */
async function ok(res: Promise<{ status: number; text: string; body: any }>) {
  const answer = await res;
  if (answer.status >= 300) throw new Error(`${answer.status} ${answer.text}`);
  return answer.body;
}

/** A day of work in the CRM, touching every module that emits events. */
async function aDayOfWork(c: Client) {
  const company = await ok(c.post('/api/v1/companies', { name: 'Initech' }));
  const contact = await ok(
    c.post('/api/v1/contacts', {
      first_name: 'Peter',
      last_name: 'Gibbons',
      emails: [{ value: 'peter@initech.example' }],
      companies: [{ id: company.id }],
      lead_status: 'new',
    }),
  );
  const twin = await ok(c.post('/api/v1/contacts', { first_name: 'Pete', last_name: 'Gibbons' }));
  await ok(c.patch(`/api/v1/contacts/${contact.id}`, { last_name: 'Gibbons Jr', tags: ['tps'] }));
  await ok(c.post('/api/v1/contacts/bulk', { ids: [contact.id, twin.id], action: 'add_tags', tags: ['q3'] }));
  await ok(c.post('/api/v1/contacts/bulk', { ids: [twin.id], action: 'archive' }));
  await ok(c.post('/api/v1/contacts/bulk', { ids: [twin.id], action: 'restore' }));
  await ok(c.post('/api/v1/contacts/merge', { survivor_id: contact.id, merged_ids: [twin.id], values: {} }));
  const pipeline = (await ok(c.get('/api/v1/pipelines'))).data[0];
  const deal = await ok(
    c.post('/api/v1/opportunities', {
      title: 'Printer upgrade',
      contact_id: contact.id,
      company_id: company.id,
    }),
  );
  await ok(c.patch(`/api/v1/opportunities/${deal.id}`, { amount: 1200 }));
  await ok(c.post(`/api/v1/opportunities/${deal.id}/move`, { stage_id: pipeline.stages[1].id }));
  await ok(c.post(`/api/v1/opportunities/${deal.id}/close`, { status: 'lost', reason: 'Budget' }));
  await ok(c.post(`/api/v1/opportunities/${deal.id}/reopen`, {}));
  await ok(c.post(`/api/v1/opportunities/${deal.id}/archive`));
  await ok(c.post(`/api/v1/opportunities/${deal.id}/restore`));
  const task = await ok(
    c.post('/api/v1/tasks', { title: 'Fix the TPS reports', link: { object: 'contact', id: contact.id } }),
  );
  await ok(c.patch(`/api/v1/tasks/${task.id}`, { priority: 'high' }));
  await ok(c.post(`/api/v1/tasks/${task.id}/complete`));
  const note = await ok(c.post('/api/v1/notes', { object: 'company', id: company.id, body: '<p>Weird</p>' }));
  await ok(c.patch(`/api/v1/notes/${note.id}`, { body: '<p>Very weird</p>' }));
  const tag = (await ok(c.get('/api/v1/tags'))).data.find((x: { name: string }) => x.name === 'q3');
  await ok(c.patch(`/api/v1/tags/${tag.id}`, { name: 'Q3 push' }));
  await ok(c.post('/api/v1/companies/bulk', { ids: [company.id], action: 'archive' }));
  await ok(c.post('/api/v1/objects/contact/fields', { label: 'Stapler', type: 'text' }));
  return { contact, company };
}

describe('the event catalogue', () => {
  it('holds every event a day of work emits, with data of its shape and words of its own', async () => {
    await aDayOfWork(admin.client);
    const rows = await withTenant(
      t.services.database,
      { orgId: admin.orgId, actor: { type: 'system', id: null } },
      ({ tx }) => tx.select().from(events).where(eq(events.orgId, admin.orgId)),
    );
    const types = new Set(rows.map((r) => r.type));
    // The workflow reaches the modules it should (a guard against a test that checks nothing).
    for (const type of [
      'contact.merged',
      'company.archived',
      'opportunity.closed',
      'tag.renamed',
      'note.updated',
    ])
      expect(types).toContain(type);
    for (const row of rows) {
      const definition = eventDefinition(row.type);
      expect(definition, `${row.type} is not in the event catalogue`).toBeDefined();
      const parsed = definition!.data.safeParse(row.data);
      expect(parsed.success, `${row.type}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
      const words = describeEvent(
        { type: row.type, subjectObject: row.subjectObject, data: row.data as never },
        'Ada',
      );
      expect(words, row.type).toMatch(/^Ada /);
      expect(words, row.type).not.toContain(row.type.replaceAll('_', ' '));
    }
  });

  it('refuses, in tests, to emit a type it does not hold or data of another shape', async () => {
    const { emitEvent } = await import('../src/platform/events/events.js');
    const ctx = { orgId: admin.orgId, actor: { type: 'system' as const, id: null } };
    const emit = (event: unknown) =>
      withTenant(t.services.database, ctx, (scope) => emitEvent(scope, t.services.jobs, event as never));
    await expect(
      emit({ type: 'contact.teleported', subject: { object: 'contact', id: ctx.orgId } }),
    ).rejects.toThrow(/not in the event catalogue/);
    await expect(
      emit({
        type: 'opportunity.moved',
        subject: { object: 'opportunity', id: ctx.orgId },
        data: { name: 'x' },
      }),
    ).rejects.toThrow(/opportunity\.moved: data\.from_stage/);
  });

  it('gives every catalogued type a summary, and documents each in the OpenAPI document', async () => {
    const catalogue = eventCatalogue();
    expect(catalogue.length).toBeGreaterThan(50);
    const doc = (await t.client().get('/api/openapi.json')).body;
    for (const [type, definition] of catalogue) {
      expect(definition.summary.length, type).toBeGreaterThan(10);
      expect(typeof definition.describe, type).toBe('function');
      const documented = doc.webhooks?.[type]?.post;
      expect(documented?.summary, `${type} in the OpenAPI webhooks`).toBe(definition.summary);
      const schema = documented.requestBody.content['application/json'].schema;
      expect(schema.properties.type.const, type).toBe(type);
      expect(schema.properties.data.type, type).toBe('object');
    }
  });
});

describe('emit sites', () => {
  const src = path.join(import.meta.dirname, '../src');
  const files = (readdirSync(src, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => ({ file: f, text: readFileSync(path.join(src, f), 'utf8') }));

  it('name only catalogued types', () => {
    const emitting = files.filter(
      (f) => /\bemitEvents?\b|NewEvent\b/.test(f.text) && !f.file.startsWith('platform/events'),
    );
    expect(emitting.length).toBeGreaterThan(10);
    const unknown = emitting.flatMap(({ file, text }) =>
      [...text.matchAll(/\btype: '([a-z_]+\.[a-z_]+)'/g)]
        .map((m) => m[1]!)
        .filter((type) => !eventDefinition(type))
        .map((type) => `${file}: ${type}`),
    );
    expect(unknown).toEqual([]);
  });

  it('write events only through emitEvent / emitEvents', () => {
    const direct = files
      .filter(({ file }) => !file.startsWith('platform/events/'))
      .filter(({ text }) => /insert\(events\)|insert into events\b/.test(text))
      .map(({ file }) => file);
    expect(direct).toEqual([]);
  });
});
