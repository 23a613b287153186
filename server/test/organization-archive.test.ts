import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../src/db/client.js';
import { TASK_REMINDER_QUEUE } from '../src/modules/tasks/task-reminder.service.js';
import {
  exportOrganization,
  OrganizationArchiveError,
  purgeOrganization,
  restoreOrganization,
} from '../src/platform/backup/organization-archive.js';
import { fileStoreOf } from '../src/platform/files/file-store.js';
import { cairn, freshCliEnv } from './kit/cli.js';
import {
  addMember,
  type Client,
  downloadFile,
  expectProblem,
  expectStatus,
  PASSWORD,
  signUp,
  startTestApp,
  type TestApp,
  uploadFile,
} from './kit/index.js';

// One organization on its own (issue 26): exported with its files, deleted with every row and
// file, and restored alone, into the same install or another one, with every table verified.
vi.setConfig({ testTimeout: 240_000 });

const PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
);

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

/** An organization with a company, contacts linked to it, a deal, a note and a file. */
async function populate(orgName: string) {
  const admin = await signUp(t, orgName);
  const c = admin.client;
  const company = expectStatus(
    await c.post('/api/v1/companies', { name: `${orgName} Ltd`, domain: 'acme.example' }),
    201,
  );
  const contacts = [];
  for (const name of ['Ana', 'Ben', 'Cleo'])
    contacts.push(
      expectStatus(
        await c.post('/api/v1/contacts', {
          first_name: name,
          last_name: orgName,
          emails: [{ value: `${name.toLowerCase()}@${orgName.toLowerCase()}.example` }],
          tags: ['vip'],
          companies: [{ id: company.id, primary: true }],
        }),
        201,
      ),
    );
  expectStatus(
    await c.post('/api/v1/opportunities', { title: 'Big deal', amount: 12345.67, currency: 'EUR' }),
    201,
  );
  expectStatus(
    await c.post('/api/v1/notes', { object: 'contact', id: contacts[0].id, body: '<p>Met at the fair</p>' }),
    201,
  );
  // A reminder due tomorrow: its job waits in the queue.
  expectStatus(
    await c.post('/api/v1/tasks', {
      title: 'Call back',
      link: { object: 'contact', id: contacts[0].id },
      remind_at: new Date(Date.now() + 86_400_000).toISOString(),
    }),
    201,
  );
  const file = await uploadFile(
    t,
    c,
    { object: 'contact', id: contacts[0].id },
    'proposal.pdf',
    PDF,
    'application/pdf',
  );
  expect(file.status, file.text).toBe(201);
  await t.drain();
  return { ...admin, contacts, fileId: file.body.id as string };
}

const listNames = async (c: Client) =>
  (expectStatus(await c.get('/api/v1/contacts?sort=first_name'), 200).data as { first_name: string }[]).map(
    (r) => r.first_name,
  );

describe('one organization on its own', () => {
  it('is exported, deleted with every row and file, and restored as it was, the other organization untouched', async () => {
    const a = await populate('Archived');
    const b = await populate('Bystander');
    const dir = mkdtempSync(path.join(tmpdir(), 'cairn-org-'));
    const file = path.join(dir, 'archived.tar.gz');
    const store = fileStoreOf(t.services.config);
    const manifest = await exportOrganization(t.services.database, a.orgId, file, {
      credentials: true,
      fileStore: store,
    });
    expect(manifest.organization.id).toBe(a.orgId);
    expect(manifest.files).toBe(1);
    expect(manifest.tables.find((x) => x.table === 'contacts')?.rows).toBe(3);
    const before = { a: await listNames(a.client), deal: await a.client.get('/api/v1/opportunities') };

    const purged = await purgeOrganization(t.services.database, a.orgId, store, t.services.jobs);
    expect(purged.files).toBe(1);
    expect(purged.rows).toBeGreaterThan(10);
    // Gone: its admin has no organization left, and nothing of it remains in any table.
    expect((await a.client.get('/api/v1/contacts')).status).toBeGreaterThanOrEqual(400);
    const left = await t.services.database.withConnection((conn) =>
      conn.query<{ n: number }>(
        `select (select count(*) from contacts where org_id = $1)::int + (select count(*) from files where org_id = $1)::int
              + (select count(*) from events where org_id = $1)::int + (select count(*) from organizations where id = $1)::int as n`,
        [a.orgId],
      ),
    );
    expect(left.rows[0]!.n).toBe(0);
    expect(await listNames(b.client)).toEqual(['Ana', 'Ben', 'Cleo']);
    // Its reminder will not run for an organization that is gone; the other one's still waits.
    expect(purged.jobs).toBeGreaterThanOrEqual(1);
    const waiting = (await t.queued(TASK_REMINDER_QUEUE)).map(
      (job) => (job.data as { org_id: string }).org_id,
    );
    expect(waiting).not.toContain(a.orgId);
    expect(waiting).toContain(b.orgId);

    const report = await restoreOrganization(t.services.database, file, { fileStore: store });
    expect(report.organization.id).toBe(a.orgId);
    expect(report.files).toBe(1);
    // Its admin signs in again and finds every record, the exact amount and the file's bytes.
    const again = t.client();
    expectStatus(await again.post('/api/auth/sign-in/email', { email: a.email, password: PASSWORD }), 200);
    expect(await listNames(again)).toEqual(before.a);
    const deals = expectStatus(await again.get('/api/v1/opportunities'), 200).data;
    expect(deals).toEqual(before.deal.body.data);
    expect(Number(deals[0].amount)).toBe(12345.67);
    const downloaded = await downloadFile(t, again, a.fileId);
    expect(downloaded.status).toBe(200);
    expect(Buffer.compare(downloaded.raw, PDF)).toBe(0);
    expect(await listNames(b.client)).toEqual(['Ana', 'Ben', 'Cleo']);

    // A second restore over it is refused, and changes nothing.
    await expect(restoreOrganization(t.services.database, file, { fileStore: store })).rejects.toMatchObject({
      code: 'organization_exists',
    });
    // Something that is not an archive is refused as such.
    const junk = path.join(dir, 'junk.tar.gz');
    writeFileSync(junk, 'not a tarball');
    await expect(restoreOrganization(t.services.database, junk, { fileStore: store })).rejects.toBeInstanceOf(
      OrganizationArchiveError,
    );
    expect(await listNames(again)).toEqual(before.a);
  });

  it('moves to another install with `cairn org export` and `cairn org restore`, members and all', async () => {
    const env = await freshCliEnv('cairn-org');
    const created = await cairn(
      ['create-org', '--name', 'Movers', '--admin-email', 'ops@movers.test'],
      env,
      180_000,
    );
    expect(created.code, created.stderr).toBe(0);
    const file = path.join(env.dataDir, 'movers.tar.gz');
    const exported = await cairn(
      ['org', 'export', 'Movers', '--file', file, '--with-credentials'],
      env,
      180_000,
    );
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toContain('1 users with their passwords');

    // A purge needs the slug retyped.
    const refused = await cairn(['org', 'purge', 'Movers'], env, 180_000);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--confirm');

    const other = await freshCliEnv('cairn-org2');
    const migrated = await cairn(['migrate'], other, 180_000);
    expect(migrated.code, migrated.stderr).toBe(0);
    const restored = await cairn(['org', 'restore', file], other, 180_000);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain('Verified');
    const db = await openDatabase({ databaseUrl: other.DATABASE_URL || undefined, dataDir: other.DATA_DIR! });
    try {
      const { rows } = await db.raw.query<{ email: string; has_password: boolean; org: string }>(
        `select u.email, exists (select 1 from accounts a where a.user_id = u.id and a.password is not null) as has_password,
                o.name as org
           from members m join users u on u.id = m.user_id join organizations o on o.id = m.organization_id`,
      );
      expect(rows).toEqual([{ email: 'ops@movers.test', has_password: true, org: 'Movers' }]);
    } finally {
      await db.close();
    }
  });

  it('is deleted by an admin who retypes its name, after a grace period during which it can be canceled', async () => {
    const a = await populate('Leaving');
    const { client: member } = await addMember(t, a.client, 'user');
    expect((await member.post('/api/v1/organization/deletion', { confirm: 'Leaving' })).status).toBe(403);
    expectProblem(await a.client.post('/api/v1/organization/deletion', { confirm: 'leaving' }), 400, {
      code: 'confirmation_mismatch',
      path: 'body.confirm',
    });
    const scheduled = expectStatus(
      await a.client.post('/api/v1/organization/deletion', { confirm: 'Leaving' }),
      200,
    );
    const days = (Date.parse(scheduled.deletion_scheduled_for) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);
    expect(expectStatus(await member.get('/api/v1/organization/deletion'), 200)).toEqual(scheduled);
    // Canceled: the job queued for that date finds nothing to do, and nothing is lost.
    expect(expectStatus(await a.client.delete('/api/v1/organization/deletion'), 200)).toEqual({
      deletion_scheduled_for: null,
    });
    await t.drain({ delayed: true });
    expect(await listNames(a.client)).toEqual(['Ana', 'Ben', 'Cleo']);
    const audit = expectStatus(await a.client.get('/api/v1/audit'), 200).data as { action: string }[];
    expect(audit.map((e) => e.action)).toEqual(
      expect.arrayContaining(['organization.deletion_scheduled', 'organization.deletion_canceled']),
    );

    // With no grace period the worker deletes it, rows and files, as soon as it is asked.
    const quick = await startTestApp({ ORG_DELETION_GRACE_DAYS: '0' });
    try {
      const admin = await signUp(quick, 'Gone Soon');
      expectStatus(await admin.client.post('/api/v1/contacts', { first_name: 'Zed' }), 201);
      await quick.drain({ delayed: true });
      expectStatus(await admin.client.post('/api/v1/organization/deletion', { confirm: 'Gone Soon' }), 200);
      await quick.drain({ delayed: true });
      const { rows } = await quick.services.database.raw.query<{ n: number }>(
        'select (select count(*) from organizations where id = $1)::int + (select count(*) from contacts where org_id = $1)::int as n',
        [admin.orgId],
      );
      expect(rows[0]!.n).toBe(0);
    } finally {
      await quick.close();
    }
  });
});
