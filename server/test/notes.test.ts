import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, sharedPath, signUp, startTestApp, type TestApp, uniqueEmail } from './kit/index.js';

type Admin = Awaited<ReturnType<typeof signUp>>;
type Member = Awaited<ReturnType<typeof addMember>>;
let t: TestApp;
let admin: Admin;
let author: Member;
let colleague: Member;
let viewer: Member;
let stranger: Admin;
let contactId: string;

beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Notes Co');
  author = await addMember(t, admin.client, 'user');
  colleague = await addMember(t, admin.client, 'user');
  viewer = await addMember(t, admin.client, 'viewer');
  stranger = await signUp(t, 'Elsewhere');
  const contact = await admin.client.post('/api/v1/contacts', {
    first_name: 'Ada',
    last_name: 'Lovelace',
    emails: [{ value: uniqueEmail('ada') }],
  });
  contactId = contact.body.id;
});
afterAll(() => t?.close());

const onContact = (body: string) => ({ object: 'contact', id: contactId, body });

/** XSS payload lists (PayloadsAllTheThings), one payload a line: the HTML ones, a few hundred. */
function attackPayloads(count: number): string[] {
  const dir = sharedPath('security/payloadsallthethings/xss/');
  const lines = readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .flatMap((f) => readFileSync(`${dir}${f}`, 'utf8').split('\n'))
    .filter((line) => line.includes('<') && line.trim() !== '');
  const unique = [...new Set(lines)];
  const step = Math.max(1, Math.floor(unique.length / count));
  return unique.filter((_, i) => i % step === 0).slice(0, count);
}

const ALLOWED_TAG =
  /^<\/?(p|br|strong|em|ul|ol|li|blockquote|code|a|span)( href="[^"<>]*")?( rel="noopener noreferrer nofollow" target="_blank")?( data-mention="[0-9a-f-]{36}")? ?\/?>$/;

/** What a stored note's HTML may hold: allowlisted tags, no handlers, no script URLs. */
function expectSafe(html: string, payload: string) {
  expect(html, payload).not.toMatch(/<script/i);
  expect(html, payload).not.toMatch(/<[^>]*\son\w+\s*=/i);
  expect(html, payload).not.toMatch(/href\s*=\s*["']?\s*(javascript|data|vbscript):/i);
  const tags = html.match(/<[^>]*>/g) ?? [];
  // Every "<" opens a tag: text is escaped, so nothing in it can become markup.
  expect(tags.length, payload).toBe(html.split('<').length - 1);
  for (const tag of tags) expect(tag, payload).toMatch(ALLOWED_TAG);
  for (const [, href] of html.matchAll(/href="([^"]*)"/g)) {
    expect(href!.replace(/&amp;/g, '&'), payload).toMatch(/^(https?:\/\/|mailto:)/i);
  }
}

describe('note sanitization', () => {
  it('stores hundreds of real XSS payloads without anything executable, never failing with 5xx', async () => {
    const payloads = [
      ...attackPayloads(320),
      '<a href="JaVaScRiPt:alert(1)">x</a>',
      '<a href="java&#x09;script:alert(1)">x</a>',
      '<a href="  javascript:alert(1)">x</a>',
      '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
      '<a href="//evil.example/x">x</a>',
      '<a href="https://ok.example" target="_self" rel="opener" onclick="alert(1)">ok</a>',
      '<p style="background:url(javascript:alert(1))" class="x">styled</p>',
    ];
    expect(payloads.length).toBeGreaterThan(300);
    for (const payload of payloads) {
      // As sent, the payload may clean up to nothing; behind a paragraph it is always stored.
      const bare = await author.client.post('/api/v1/notes', onContact(payload));
      expect(bare.status, `${bare.status} ${payload}`).toBeLessThan(500);
      if (bare.status === 201) expectSafe(bare.body.body_html, payload);
      else expect(bare.body, payload).toMatchObject({ status: 400, code: 'empty_note', path: 'body.body' });
      const wrapped = await author.client.post('/api/v1/notes', onContact(`<p>Before</p>${payload}`));
      expect(wrapped.status, `${wrapped.status} ${payload}`).toBe(201);
      expectSafe(wrapped.body.body_html, payload);
      expect(wrapped.body.body_html.startsWith('<p>Before</p>'), payload).toBe(true);
    }
  }, 180_000);

  it('keeps the allowed markup, adding rel and target to links, and derives plain text', async () => {
    const res = await author.client.post(
      '/api/v1/notes',
      onContact(
        '<p><strong>Hi</strong> <a href="https://x.example">x</a></p><ul><li>one &amp; two</li><li><em>3 &lt; 4</em></li></ul><script>alert(1)</script><style>p{}</style>',
      ),
    );
    expect(res.status).toBe(201);
    expect(res.body.body_html).toBe(
      '<p><strong>Hi</strong> <a href="https://x.example" rel="noopener noreferrer nofollow" target="_blank">x</a></p>' +
        '<ul><li>one &amp; two</li><li><em>3 &lt; 4</em></li></ul>',
    );
    expect(res.body.body_text).toBe('Hi x\none & two\n3 < 4');
    expect(res.body).toMatchObject({
      record: { object: 'contact', id: contactId },
      author_id: author.userId,
    });
    const mail = await author.client.post(
      '/api/v1/notes',
      onContact('<a href="mailto:ada@example.com">mail</a>'),
    );
    expect(mail.body.body_html).toContain('href="mailto:ada@example.com"');
  });

  it('rejects a note that is empty once cleaned, too long, or on a record that does not exist', async () => {
    const foreign = await stranger.client.post('/api/v1/companies', { name: 'Foreign Ltd' });
    const cases: [unknown, number, string, string][] = [
      [onContact('<script>alert(1)</script><img src=x onerror=alert(1)>'), 400, 'empty_note', 'body.body'],
      [onContact('<p>   </p>'), 400, 'empty_note', 'body.body'],
      [onContact('x'.repeat(20_001)), 400, 'note_too_long', 'body.body'],
      [onContact('x'.repeat(100_001)), 400, 'validation_failed', 'body.body'],
      [{ object: 'company', id: foreign.body.id, body: 'hi' }, 422, 'reference_not_found', 'body.id'],
      [{ object: 'company', id: contactId, body: 'hi' }, 422, 'reference_not_found', 'body.id'],
      [{ object: 'task', id: contactId, body: 'hi' }, 400, 'validation_failed', 'body.object'],
      [{ ...onContact('hi'), pinned: true }, 400, 'validation_failed', 'body.pinned'],
    ];
    for (const [body, status, code, path] of cases) {
      const res = await author.client.post('/api/v1/notes', body);
      expect(res.status, code).toBe(status);
      expect(res.body, code).toMatchObject({ code, path });
    }
  });
});

describe('notes on a record', () => {
  it("lists a record's notes newest first, page by page, and shows them on its timeline", async () => {
    const company = await admin.client.post('/api/v1/companies', { name: 'Analytical Engines' });
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const res = await admin.client.post('/api/v1/notes', {
        object: 'company',
        id: company.body.id,
        body: `<p>Note ${i}</p>`,
      });
      ids.push(res.body.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { data: { id: string }[]; next_cursor: string | null } } =
        await viewer.client.get(
          `/api/v1/notes?object=company&id=${company.body.id}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
      expect(page.status).toBe(200);
      seen.push(...page.body.data.map((n) => n.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());

    const timeline = await admin.client.get(`/api/v1/companies/${company.body.id}/timeline`);
    const descriptions = timeline.body.data.map((e: { description: string }) => e.description);
    expect(descriptions).toContain('Ada Admin created note Note 5');
    const unknown = await admin.client.get(`/api/v1/notes?object=contact&id=${company.body.id}`);
    expect(unknown.status).toBe(404);
  });

  it('lets only the author edit a note', async () => {
    const note = await author.client.post('/api/v1/notes', onContact('<p>First draft</p>'));
    const url = `/api/v1/notes/${note.body.id}`;
    expect((await colleague.client.patch(url, { body: '<p>Hijacked</p>' })).status).toBe(403);
    expect((await admin.client.patch(url, { body: '<p>Hijacked</p>' })).status).toBe(403);
    expect((await viewer.client.patch(url, { body: '<p>Hijacked</p>' })).status).toBe(403);
    const edited = await author.client.patch(url, { body: '<p>Final <em>text</em></p>' });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ body_html: '<p>Final <em>text</em></p>', body_text: 'Final text' });
    expect((await admin.client.get(url)).body.body_text).toBe('Final text');
    const empty = await author.client.patch(url, { body: '<script>x</script>' });
    expect(empty.status).toBe(400);
    expect(empty.body.path).toBe('body.body');

    const timeline = await admin.client.get(`/api/v1/contacts/${contactId}/timeline?limit=200`);
    const updated = timeline.body.data.find(
      (e: { type: string; subject: { id: string } }) =>
        e.type === 'note.updated' && e.subject.id === note.body.id,
    );
    expect(updated.data).toMatchObject({
      name: 'Final text',
      changes: { body_text: { before: 'First draft', after: 'Final text' } },
    });
  });

  it('lets the author or an admin delete a note for good; its history stays', async () => {
    const mine = await author.client.post('/api/v1/notes', onContact('<p>Mine to delete</p>'));
    const theirs = await author.client.post('/api/v1/notes', onContact('<p>Admin deletes this</p>'));
    expect((await colleague.client.delete(`/api/v1/notes/${mine.body.id}`)).status).toBe(403);
    expect((await viewer.client.delete(`/api/v1/notes/${mine.body.id}`)).status).toBe(403);
    expect((await viewer.client.post('/api/v1/notes', onContact('<p>viewer</p>'))).status).toBe(403);
    expect((await author.client.delete(`/api/v1/notes/${mine.body.id}`)).status).toBe(204);
    expect((await admin.client.delete(`/api/v1/notes/${theirs.body.id}`)).status).toBe(204);
    expect((await author.client.get(`/api/v1/notes/${mine.body.id}`)).status).toBe(404);
    expect((await author.client.get(`/api/v1/notes/${theirs.body.id}`)).status).toBe(404);
    const timeline = await admin.client.get(`/api/v1/contacts/${contactId}/timeline?limit=200`);
    const deleted = timeline.body.data.filter((e: { type: string }) => e.type === 'note.deleted');
    expect(deleted.map((e: { data: { name: string } }) => e.data.name).sort()).toEqual([
      'Admin deletes this',
      'Mine to delete',
    ]);
  });

  it("answers 404 for another tenant's note and record, and leaves the note unchanged", async () => {
    const note = await author.client.post('/api/v1/notes', onContact('<p>Secret plans</p>'));
    const url = `/api/v1/notes/${note.body.id}`;
    expect((await stranger.client.get(url)).status).toBe(404);
    expect((await stranger.client.patch(url, { body: 'mine now' })).status).toBe(404);
    expect((await stranger.client.patch(url, {})).status).toBe(404);
    expect((await stranger.client.delete(url)).status).toBe(404);
    const list = await stranger.client.get(`/api/v1/notes?object=contact&id=${contactId}`);
    expect(list.status).toBe(404);
    expect(list.text).not.toContain('Secret plans');
    expect((await author.client.get(url)).body.body_text).toBe('Secret plans');
  });
});
