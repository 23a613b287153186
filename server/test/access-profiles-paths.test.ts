import { describe, expect, it } from 'vitest';
import {
  addMember,
  type Client,
  expectProblem,
  expectStatus,
  uploadCsv,
  useOrganization,
} from './kit/index.js';

// Issue 22, the paths a custom role's field rights reach beyond the record routes: an import's
// mapping (a column may fill only a field the role writes), `GET /me` (the role's name and
// rights) and the global search's subtitles (never a field the role cannot read).

const org = useOrganization('Access paths');
const SECRET_EMAIL = 'zebulon.secret@hidden.test';

let clerk: { client: Client; userId: string };

async function clerkOnce() {
  if (clerk) return clerk;
  expectStatus(
    await org.admin.client.post('/api/v1/roles', {
      key: 'clerk',
      name: 'Clerk',
      description: 'Keys in contacts; no e-mail addresses, phone numbers read-only',
      objects: {
        contact: {
          rights: ['create', 'read', 'update', 'import'],
          scope: 'all',
          fields: { email: 'hidden', phone: 'read' },
        },
      },
      default_access: { rights: ['read'], scope: 'all' },
    }),
    201,
  );
  const member = await addMember(org.t, org.admin.client, 'user');
  expectStatus(await org.admin.client.patch(`/api/v1/members/${member.userId}`, { role: 'clerk' }), 204);
  clerk = member;
  return clerk;
}

const CSV = 'First name,Last name,Phone,Email\nAda,Lovelace,+44 20 7946 0018,ada@engine.test\n';

describe('an import mapping is held to the field write rights of its importer', () => {
  it('suggests no read-only or hidden field; mapping a column to one is 403 naming it', async () => {
    const { client } = await clerkOnce();
    const up = await uploadCsv(org.t, client, 'contact', 'people.csv', CSV);
    expect(up.status, up.text).toBe(201);
    const targets = up.body.mapping.map((m: { target: string | null }) => m.target);
    expect(targets).toEqual(['first_name', 'last_name', null, null]);
    const job = expectProblem(
      await client.patch(`/api/v1/imports/${up.body.id}`, { mapping: [{ index: 2, target: 'phone' }] }),
      403,
      'field_not_writable',
    );
    expect(job.path).toBe('body.mapping[0].target');
    expect(String((job as { detail?: string }).detail)).toMatch(/Phone/);
    expectProblem(
      await client.patch(`/api/v1/imports/${up.body.id}`, { mapping: [{ index: 3, target: 'email' }] }),
      403,
      'field_not_writable',
    );
    // The writable columns import.
    expectStatus(await client.get(`/api/v1/imports/${up.body.id}/preview`), 200);
  });

  it('refuses at preview and at start a mapping (made by an admin) into a field the role cannot write', async () => {
    const { client } = await clerkOnce();
    const up = await uploadCsv(org.t, org.admin.client, 'contact', 'admin.csv', CSV);
    expect(up.status, up.text).toBe(201);
    expect(up.body.mapping.map((m: { target: string | null }) => m.target)).toContain('phone');
    const preview = expectProblem(
      await client.get(`/api/v1/imports/${up.body.id}/preview`),
      403,
      'field_not_writable',
    );
    expect(preview.path).toBe('mapping[2].target');
    const start = expectProblem(
      await client.post(`/api/v1/imports/${up.body.id}/start`),
      403,
      'field_not_writable',
    );
    expect(start.path).toBe('mapping[2].target');
    expect(expectStatus(await client.get(`/api/v1/imports/${up.body.id}`), 200).status).toBe('draft');
    // The admin's own role writes every field: the same import runs for them.
    expectStatus(await org.admin.client.get(`/api/v1/imports/${up.body.id}/preview`), 200);
  });
});

describe('GET /me', () => {
  it("shows a member's custom role: its name and rights, beside the built-in role it narrows", async () => {
    const { client } = await clerkOnce();
    const me = expectStatus(await client.get('/api/v1/me'), 200);
    expect(me.role).toBe('user');
    expect(me.custom_role).toEqual({
      key: 'clerk',
      name: 'Clerk',
      description: 'Keys in contacts; no e-mail addresses, phone numbers read-only',
      objects: {
        contact: {
          rights: ['create', 'read', 'update', 'import'],
          scope: 'all',
          fields: { email: 'hidden', phone: 'read' },
        },
      },
      default_access: { rights: ['read'], scope: 'all', fields: {} },
    });
    expect(expectStatus(await org.admin.client.get('/api/v1/me'), 200).custom_role).toBeNull();
  });
});

describe('the global search', () => {
  it('never shows in a subtitle a field the role cannot read', async () => {
    const { client } = await clerkOnce();
    const company = expectStatus(
      await org.admin.client.post('/api/v1/companies', { name: 'Quarkworks', domain: 'quark.test' }),
      201,
    );
    expectStatus(
      await org.admin.client.post('/api/v1/contacts', {
        first_name: 'Zebulon',
        last_name: 'Quark',
        emails: [{ value: SECRET_EMAIL }],
        companies: [{ id: company.id, primary: true }],
      }),
      201,
    );
    const hitOf = async (c: Client) => {
      const found = expectStatus(await c.get('/api/v1/search?q=Zebulon'), 200);
      return (found.data ?? found).find((h: { object: string }) => h.object === 'contact');
    };
    const adminHit = await hitOf(org.admin.client);
    expect(adminHit.subtitle).toContain(SECRET_EMAIL);
    const clerkHit = await hitOf(client);
    // Named by its id: a contact's name falls back to its e-mail, which the role cannot read.
    expect(clerkHit.title).not.toContain(SECRET_EMAIL);
    expect(clerkHit.subtitle ?? '').not.toContain(SECRET_EMAIL);
    expect(clerkHit.subtitle).toBe('Quarkworks');
    expect(JSON.stringify(expectStatus(await client.get('/api/v1/search?q=Zebulon'), 200))).not.toContain(
      SECRET_EMAIL,
    );
  });
});
