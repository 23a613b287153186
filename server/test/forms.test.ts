import { solveChallenge } from 'altcha-lib/v1';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, expectStatus, signUp, startTestApp, type TestApp, uniqueEmail } from './kit/index.js';

// Forms (issue 31): a form built from the registry of an object (contacts, companies, a custom
// object such as Cases), its hosted page and embed, spam defences, consent with proof, dedup by
// e-mail or phone, the `form.submitted` event, the owner's notification, and the ingest endpoint.

let t: TestApp;
let admin: Awaited<ReturnType<typeof signUp>>;
let stranger: Awaited<ReturnType<typeof signUp>>;
let caseForm: Record<string, any>;
let ipSeq = 0;
const nextIp = () => `203.0.113.${++ipSeq}`;

beforeAll(async () => {
  t = await startTestApp();
  admin = await signUp(t, 'Surrogacy Co');
  stranger = await signUp(t, 'Elsewhere');
  expectStatus(
    await admin.client.post('/api/v1/objects', {
      key: 'case',
      label_singular: 'Case',
      label_plural: 'Cases',
    }),
    201,
  );
  for (const f of [
    { label: 'E-mail', key: 'email', type: 'email' },
    { label: 'Phone', key: 'phone', type: 'phone' },
    { label: 'Campaign', key: 'campaign', type: 'text' },
    { label: 'Story', key: 'story', type: 'long_text' },
  ])
    expectStatus(await admin.client.post('/api/v1/objects/case/fields', f), 201);
  caseForm = expectStatus(
    await admin.client.post('/api/v1/forms', {
      name: 'Start your journey',
      object: 'case',
      fields: [
        { key: 'name', label: 'Your name', required: true },
        { key: 'email', required: true },
        { key: 'phone' },
        { key: 'story', label: 'Tell us about you' },
        { key: 'campaign', hidden: true, default: 'organic' },
      ],
      consent: {
        text: 'I agree to be contacted by e-mail about my case.',
        channel: 'email',
        purpose: 'case_updates',
      },
      min_fill_seconds: 0,
    }),
    201,
  );
}, 60_000);
afterAll(() => t?.close());

/** Loads the hosted page as a browser would; returns its HTML, headers and the fill-time token. */
async function loadPage(token: string, query = '') {
  const res = await t.app.inject({ method: 'GET', url: `/f/${token}${query}`, remoteAddress: nextIp() });
  const ts = /name="_ts" value="([^"]+)"/.exec(res.body)?.[1];
  return { res, html: res.body, ts: ts ?? '' };
}

/** Solves the page's proof of work as the page's script does (ALTCHA). */
async function solvePow(token: string): Promise<string> {
  const res = await t.app.inject({ method: 'GET', url: `/f/${token}/challenge` });
  const c = JSON.parse(res.body);
  const solution = await solveChallenge(c.challenge, c.salt, c.algorithm, c.maxnumber).promise;
  return Buffer.from(
    JSON.stringify({
      algorithm: c.algorithm,
      challenge: c.challenge,
      number: solution!.number,
      salt: c.salt,
      signature: c.signature,
    }),
  ).toString('base64');
}

/** Posts the hosted page's form (form-encoded, as a browser does). */
function postPage(token: string, fields: Record<string, string>, ip = nextIp()) {
  return t.app.inject({
    method: 'POST',
    url: `/f/${token}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded', referer: `http://cairn.test/f/${token}` },
    payload: new URLSearchParams(fields).toString(),
    remoteAddress: ip,
  });
}

async function submissions(formId: string) {
  return expectStatus(await admin.client.get(`/api/v1/forms/${formId}/submissions?limit=200`), 200)
    .data as Record<string, any>[];
}

describe('the form builder', () => {
  it('offers the fields of the chosen object from the registry, custom objects included', async () => {
    const choices = expectStatus(await admin.client.get('/api/v1/forms/fields/case'), 200).data;
    expect(choices.map((c: { key: string }) => c.key)).toEqual(
      expect.arrayContaining(['name', 'email', 'phone', 'campaign', 'story']),
    );
    const contact = expectStatus(await admin.client.get('/api/v1/forms/fields/contact'), 200).data;
    expect(contact.map((c: { key: string }) => c.key)).toEqual(
      expect.arrayContaining(['first_name', 'last_name', 'email', 'phone']),
    );
    expect(contact.map((c: { key: string }) => c.key)).not.toContain('owner_id');
    expectProblem(await admin.client.get('/api/v1/forms/fields/nothing_here'), 404);
  });

  it('gives the page URL, an embeddable snippet and the ingest URL', () => {
    expect(caseForm.page_url).toBe(`http://cairn.test/f/${caseForm.page_url.split('/f/')[1]}`);
    expect(caseForm.embed_snippet).toMatch(/^<iframe src="http:\/\/cairn\.test\/f\/[A-Za-z0-9_-]+"/);
    expect(caseForm.ingest_url).toMatch(/^http:\/\/cairn\.test\/ingest\/form\/[A-Za-z0-9_-]+$/);
    expect(caseForm.version).toBe(1);
  });

  it('refuses a field the object does not have, and a form missing a field the object requires', async () => {
    expectProblem(
      await admin.client.post('/api/v1/forms', {
        name: 'X',
        object: 'case',
        fields: [{ key: 'name' }, { key: 'nope' }],
      }),
      400,
      { code: 'unknown_field', path: 'body.fields[1].key' },
    );
    expectProblem(
      await admin.client.post('/api/v1/forms', {
        name: 'X',
        object: 'company',
        fields: [{ key: 'website' }],
      }),
      400,
      { code: 'missing_required_field' },
    );
    expectProblem(
      await admin.client.post('/api/v1/forms', { name: 'X', object: 'task', fields: [{ key: 'title' }] }),
      400,
      {
        code: 'unknown_object',
        path: 'body.object',
      },
    );
  });
});

describe('the hosted page', () => {
  it('is server-rendered HTML with no inline script or style, embeddable, carrying UTM and hidden fields', async () => {
    const token = caseForm.page_url.split('/f/')[1];
    const { res, html, ts } = await loadPage(
      token,
      '?utm_source=newsletter&utm_campaign=spring&campaign=ads',
    );
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain('frame-ancestors *');
    expect(res.headers['x-frame-options']).toBeUndefined();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(html).not.toMatch(/\sstyle=/);
    expect(html).not.toMatch(/\son[a-z]+=/);
    expect(html).toContain('<label for="f_name">Your name');
    expect(html).toContain('name="utm_source" value="newsletter"');
    expect(html).toContain('name="campaign" value="ads"');
    expect(html).toContain('I agree to be contacted by e-mail about my case.');
    expect(ts).toMatch(/^\d+\./);
    const js = await t.app.inject({ method: 'GET', url: '/f/assets/form.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
  });

  it('escapes what a form shows', async () => {
    const form = expectStatus(
      await admin.client.post('/api/v1/forms', {
        name: '<script>alert(1)</script>',
        object: 'contact',
        fields: [{ key: 'email', label: '"><img src=x onerror=alert(1)>' }],
        proof_of_work: false,
      }),
      201,
    );
    const { html } = await loadPage(form.page_url.split('/f/')[1], '?utm_source="><script>x</script>');
    expect(html).not.toContain('<script>alert(1)');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('"><script>x');
  });

  it('answers 404 for an unknown or malformed token', async () => {
    expect((await loadPage('nope')).res.statusCode).toBe(404);
    expect((await loadPage(`${admin.orgId.replaceAll('-', '')}AAAAAAAAAAAAAAAAAAAAAA`)).res.statusCode).toBe(
      404,
    );
  });
});

describe('a submission of the Cases form', () => {
  let caseId: string;
  const email = uniqueEmail('parent');

  it('creates a case with its source and consent, emits form.submitted and notifies the owner', async () => {
    const token = caseForm.page_url.split('/f/')[1];
    const { ts } = await loadPage(token, '?utm_source=newsletter');
    const res = await postPage(token, {
      name: 'Ada Parent',
      email: email.toUpperCase(),
      phone: '+1 415 555 0100',
      story: 'We would love to hear from you.',
      campaign: 'spring',
      utm_source: 'newsletter',
      utm_medium: 'email',
      consent: 'on',
      _hp: '',
      _ts: ts,
      _referrer: 'https://www.example.org/blog',
      _landing_page: 'https://www.example.org/start?utm_source=newsletter',
      altcha: await solvePow(token),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).toContain(caseForm.success_message);

    const [sub] = await submissions(caseForm.id);
    expect(sub).toMatchObject({
      channel: 'page',
      form_version: 1,
      created_record: true,
      record: { object: 'case' },
      values: { name: 'Ada Parent', campaign: 'spring' },
      source: {
        utm_source: 'newsletter',
        utm_medium: 'email',
        referrer: 'https://www.example.org/blog',
        landing_page: 'https://www.example.org/start?utm_source=newsletter',
        hidden: { campaign: 'spring' },
      },
    });
    caseId = sub!.record.id;
    const record = expectStatus(await admin.client.get(`/api/v1/records/case/${caseId}`), 200);
    expect(record.custom).toMatchObject({
      name: 'Ada Parent',
      email: email.toLowerCase(),
      campaign: 'spring',
    });
    expect(record.owner_id).toBe(admin.userId);

    const consents = expectStatus(
      await admin.client.get(`/api/v1/consents?object=case&record_id=${caseId}`),
      200,
    ).data;
    expect(consents).toHaveLength(1);
    expect(consents[0]).toMatchObject({
      channel: 'email',
      purpose: 'case_updates',
      status: 'granted',
      source: `form:${caseForm.id}`,
      proof: {
        form_id: caseForm.id,
        form_version: 1,
        text: 'I agree to be contacted by e-mail about my case.',
        submission_id: sub!.id,
      },
    });
    expect(consents[0].proof.ip).toMatch(/^203\.0\.113\./);
    expect(consents[0].proof.at).toBeTruthy();

    await t.drain();
    const timeline = expectStatus(
      await admin.client.get(`/api/v1/records/case/${caseId}/timeline`),
      200,
    ).data;
    expect(timeline.map((e: { description: string }) => e.description)).toContain(
      'Someone created case Ada Parent through the form Start your journey',
    );
    const notes = expectStatus(await admin.client.get('/api/v1/notifications?limit=50'), 200).data;
    expect(notes.find((n: { kind: string }) => n.kind === 'form_submitted')).toMatchObject({
      title: 'New submission of the form Start your journey: case Ada Parent',
      record: { object: 'case', id: caseId },
    });
  });

  it('matches the same e-mail (in any case) to the same case: no duplicate', async () => {
    const token = caseForm.page_url.split('/f/')[1];
    const { ts } = await loadPage(token);
    const res = await postPage(token, {
      name: 'Ada again',
      email: email.toLowerCase(),
      _ts: ts,
      altcha: await solvePow(token),
    });
    expect(res.statusCode, res.body).toBe(200);
    const [latest] = await submissions(caseForm.id);
    expect(latest).toMatchObject({ created_record: false, record: { id: caseId } });
    const list = expectStatus(await admin.client.get('/api/v1/records/case?limit=200'), 200).data;
    expect(list.filter((r: { id: string }) => r.id === caseId)).toHaveLength(1);
    expect(list).toHaveLength(1);
  });

  it('takes two equal submissions sent at once as one record', async () => {
    const token = caseForm.page_url.split('/f/')[1];
    const twin = uniqueEmail('twin');
    const sends = await Promise.all(
      [0, 1].map(async () => {
        const { ts } = await loadPage(token);
        return postPage(token, { name: 'Twin', email: twin, _ts: ts, altcha: await solvePow(token) });
      }),
    );
    expect(sends.map((r) => r.statusCode)).toEqual([200, 200]);
    const twins = (await submissions(caseForm.id)).filter((s) => s.values.email === twin);
    expect(twins).toHaveLength(2);
    expect(new Set(twins.map((s) => s.record.id)).size).toBe(1);
  });
});

describe('spam defences', () => {
  const token = () => caseForm.page_url.split('/f/')[1];

  it('answers a filled honeypot as if accepted and stores nothing', async () => {
    const before = (await submissions(caseForm.id)).length;
    const { ts } = await loadPage(token());
    const res = await postPage(token(), {
      name: 'Bot',
      email: uniqueEmail('bot'),
      _hp: 'http://spam.example',
      _ts: ts,
    });
    expect(res.statusCode).toBe(200);
    expect((await submissions(caseForm.id)).length).toBe(before);
  });

  it('refuses a post without a valid proof of work, and a solution used twice', async () => {
    const { ts } = await loadPage(token());
    const none = await postPage(token(), { name: 'No pow', email: uniqueEmail('x'), _ts: ts });
    expect(none.statusCode).toBe(400);
    expect(none.body).toContain('anti-spam check');
    const pow = await solvePow(token());
    const first = await postPage(token(), { name: 'Once', email: uniqueEmail('once'), _ts: ts, altcha: pow });
    expect(first.statusCode).toBe(200);
    const again = await postPage(token(), {
      name: 'Twice',
      email: uniqueEmail('twice'),
      _ts: ts,
      altcha: pow,
    });
    expect(again.statusCode).toBe(400);
  });

  it('refuses a post sent sooner than the minimum fill time, and a forged load time', async () => {
    const slow = expectStatus(
      await admin.client.post('/api/v1/forms', {
        name: 'Patient form',
        object: 'contact',
        fields: [{ key: 'email', required: true }],
        min_fill_seconds: 60,
        proof_of_work: false,
      }),
      201,
    );
    const slowToken = slow.page_url.split('/f/')[1];
    const { ts } = await loadPage(slowToken);
    const quick = await postPage(slowToken, { email: uniqueEmail('quick'), _ts: ts });
    expect(quick.statusCode).toBe(400);
    expect(quick.body).toContain('too quickly');
    const forged = await postPage(slowToken, {
      email: uniqueEmail('forged'),
      _ts: `${Date.now() - 120_000}.forged`,
    });
    expect(forged.statusCode).toBe(400);
    expect((await submissions(slow.id)).length).toBe(0);
  });

  it('limits submissions per IP (429 with Retry-After)', async () => {
    const open = expectStatus(
      await admin.client.post('/api/v1/forms', {
        name: 'Open form',
        object: 'contact',
        fields: [{ key: 'email', required: true }],
        min_fill_seconds: 0,
        proof_of_work: false,
      }),
      201,
    );
    const openToken = open.page_url.split('/f/')[1];
    const { ts } = await loadPage(openToken);
    const ip = '198.51.100.77';
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++)
      statuses.push((await postPage(openToken, { email: uniqueEmail(`burst${i}`), _ts: ts }, ip)).statusCode);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(200));
    const limited = await postPage(openToken, { email: uniqueEmail('late'), _ts: ts }, ip);
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another address is not limited.
    expect((await postPage(openToken, { email: uniqueEmail('other'), _ts: ts })).statusCode).toBe(200);
  });
});

describe('the ingest endpoint', () => {
  let form: Record<string, any>;
  const ingest = async (body: unknown, contentType = 'application/json', ip = nextIp()) => {
    const res = await t.app.inject({
      method: 'POST',
      url: new URL(form.ingest_url).pathname,
      headers: { 'content-type': contentType },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
      remoteAddress: ip,
    });
    let parsed: any;
    try {
      parsed = JSON.parse(res.body);
    } catch {
      parsed = undefined;
    }
    return {
      status: res.statusCode,
      headers: res.headers as Record<string, unknown>,
      body: parsed,
      text: res.body,
    };
  };
  const contactsWith = async (email: string) =>
    expectStatus(
      await admin.client.post('/api/v1/contacts/query', {
        filter: { field: 'email', op: 'eq', value: email },
        limit: 10,
      }),
      200,
    ).data;

  beforeAll(async () => {
    form = expectStatus(
      await admin.client.post('/api/v1/forms', {
        name: 'Webflow contact form',
        object: 'contact',
        fields: [
          { key: 'first_name' },
          { key: 'last_name' },
          { key: 'email', required: true },
          { key: 'phone' },
        ],
        ingest_mapping: { 'Email Address': 'email', 'First Name': 'first_name', Surname: 'last_name' },
        consent: { text: 'Send me the newsletter', channel: 'email', purpose: 'newsletter', required: false },
      }),
      201,
    );
  });

  it('takes JSON with the field mapping and creates a contact with source "form"', async () => {
    const email = uniqueEmail('webflow');
    const res = await ingest({
      'Email Address': email,
      'First Name': 'Grace',
      Surname: 'Hopper',
      utm_campaign: 'launch',
      consent: true,
    });
    const body = expectStatus(res, 201);
    expect(body).toMatchObject({ created: true, record: { object: 'contact' } });
    const contact = expectStatus(await admin.client.get(`/api/v1/contacts/${body.record.id}`), 200);
    expect(contact).toMatchObject({ first_name: 'Grace', last_name: 'Hopper', email, source: 'form' });
    const [sub] = await submissions(form.id);
    expect(sub).toMatchObject({ channel: 'ingest', source: { utm_campaign: 'launch' } });
    expect(sub!.consent_id).not.toBeNull();
    // The list names the contact and its e-mail, and says what was consented.
    expect(sub!.record).toMatchObject({ id: body.record.id, name: 'Grace Hopper', email });
    expect(sub!.consent).toMatchObject({ purpose: 'newsletter', text: 'Send me the newsletter' });
  });

  it('takes form-encoded posts too, and matches an existing contact by e-mail or phone', async () => {
    const email = uniqueEmail('existing');
    const existing = expectStatus(
      await admin.client.post('/api/v1/contacts', { first_name: 'Existing', emails: [{ value: email }] }),
      201,
    );
    const res = await ingest(
      new URLSearchParams({ 'Email Address': email.toUpperCase(), 'First Name': 'Other' }).toString(),
      'application/x-www-form-urlencoded',
    );
    expect(expectStatus(res, 201)).toMatchObject({ created: false, record: { id: existing.id } });
    expect(await contactsWith(email)).toHaveLength(1);
    const phoned = expectStatus(
      await admin.client.post('/api/v1/contacts', {
        first_name: 'Phoned',
        phones: [{ number: '+1 212 555 0187' }],
      }),
      201,
    );
    const byPhone = await ingest({ 'Email Address': uniqueEmail('newmail'), phone: '(212) 555-0187' });
    expect(expectStatus(byPhone, 201)).toMatchObject({ created: false, record: { id: phoned.id } });
  });

  it('refuses bad input with 4xx naming the field, and stores nothing', async () => {
    const before = (await submissions(form.id)).length;
    expectProblem(await ingest({ 'Email Address': uniqueEmail('x'), favourite_colour: 'red' }), 400, {
      code: 'unknown_field',
      path: 'body.favourite_colour',
    });
    expectProblem(await ingest({ 'Email Address': uniqueEmail('x'), 'First Name': 'a'.repeat(101) }), 400, {
      code: 'too_long',
    });
    expectProblem(
      await ingest({ 'Email Address': uniqueEmail('x'), 'First Name': 'x'.repeat(200_000) }),
      400,
    );
    expectProblem(await ingest(`{"Email Address":"${uniqueEmail('x')}","First Name":"A\\u0000B"}`), 400, {
      code: 'invalid_character',
    });
    expectProblem(
      await ingest(
        `Email%20Address=${encodeURIComponent(uniqueEmail('x'))}&First%20Name=A%00B`,
        'application/x-www-form-urlencoded',
      ),
      400,
      { code: 'invalid_character' },
    );
    expectProblem(await ingest({ 'Email Address': [uniqueEmail('x'), uniqueEmail('y')] }), 400);
    expectProblem(await ingest({ 'Email Address': 'not an email' }), 400, {
      code: 'invalid_email',
      path: 'body.email',
    });
    expectProblem(await ingest({ 'First Name': 'No mail' }), 400, { code: 'required', path: 'body.email' });
    expectProblem(await ingest('[1,2,3]'), 400);
    expectProblem(await ingest('{"a":'), 400);
    expectProblem(await ingest('just text', 'text/plain'), 415);
    expect((await submissions(form.id)).length).toBe(before);
  });

  it('answers 404 for an unknown token, the page token, and an archived form', async () => {
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/ingest/form/nope',
      headers: { 'content-type': 'application/json' },
      payload: '{}',
    });
    expectProblem(
      { status: unknown.statusCode, headers: unknown.headers, body: JSON.parse(unknown.body) },
      404,
    );
    const pageToken = form.page_url.split('/f/')[1];
    const wrong = await t.app.inject({
      method: 'POST',
      url: `/ingest/form/${pageToken}`,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email: uniqueEmail('w') }),
    });
    expect(wrong.statusCode).toBe(404);
    const doomed = expectStatus(
      await admin.client.post('/api/v1/forms', {
        name: 'Doomed',
        object: 'contact',
        fields: [{ key: 'email' }],
      }),
      201,
    );
    expectStatus(await admin.client.delete(`/api/v1/forms/${doomed.id}`), 204);
    const closed = await t.app.inject({
      method: 'POST',
      url: new URL(doomed.ingest_url).pathname,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email: uniqueEmail('c') }),
    });
    expect(closed.statusCode).toBe(404);
  });
});

describe('companies and tenancy', () => {
  it('a company form creates a company', async () => {
    const form = expectStatus(
      await admin.client.post('/api/v1/forms', {
        name: 'Partner sign-up',
        object: 'company',
        fields: [{ key: 'name' }, { key: 'website' }],
      }),
      201,
    );
    const res = await t.app.inject({
      method: 'POST',
      url: new URL(form.ingest_url).pathname,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'Initech', website: 'https://initech.example' }),
      remoteAddress: nextIp(),
    });
    expect(res.statusCode, res.body).toBe(201);
    const company = expectStatus(
      await admin.client.get(`/api/v1/companies/${JSON.parse(res.body).record.id}`),
      200,
    );
    expect(company).toMatchObject({ name: 'Initech', domain: 'initech.example' });
  });

  it("answers 404 for another organization's form", async () => {
    expectProblem(await stranger.client.get(`/api/v1/forms/${caseForm.id}`), 404);
    expectProblem(await stranger.client.patch(`/api/v1/forms/${caseForm.id}`, { name: 'Mine' }), 404);
    expectProblem(await stranger.client.get(`/api/v1/forms/${caseForm.id}/submissions`), 404);
    expectProblem(await stranger.client.delete(`/api/v1/forms/${caseForm.id}`), 404);
    expect(expectStatus(await stranger.client.get('/api/v1/forms'), 200).data).toEqual([]);
  });
});

describe('a many-to-many relation on a form', () => {
  const clinics: Record<string, string> = {};
  let form: Record<string, any>;

  beforeAll(async () => {
    expectStatus(
      await admin.client.post('/api/v1/objects', {
        key: 'clinic',
        label_singular: 'Clinic',
        label_plural: 'Clinics',
      }),
      201,
    );
    for (const name of ['North Clinic', 'South Clinic', 'Private Clinic'])
      clinics[name] = expectStatus(
        await admin.client.post('/api/v1/records/clinic', { custom: { name } }),
        201,
      ).id;
    expectStatus(
      await stranger.client.post('/api/v1/objects', {
        key: 'clinic',
        label_singular: 'Clinic',
        label_plural: 'Clinics',
      }),
      201,
    );
    clinics.stranger = expectStatus(
      await stranger.client.post('/api/v1/records/clinic', { custom: { name: 'Stranger Clinic' } }),
      201,
    ).id;
    expectStatus(
      await admin.client.post('/api/v1/objects/case/fields', {
        label: 'Clinics',
        key: 'clinics',
        type: 'relation',
        relation: { object: 'clinic', many: true },
      }),
      201,
    );
  });

  const formBody = (choices?: string[]) => ({
    name: 'Pick your clinics',
    object: 'case',
    fields: [
      { key: 'name', required: true },
      { key: 'clinics', ...(choices ? { choices } : {}) },
    ],
    min_fill_seconds: 0,
    proof_of_work: false,
  });

  it('is offered by the builder, and takes only records of this organization the admin chose', async () => {
    const offered = expectStatus(await admin.client.get('/api/v1/forms/fields/case'), 200).data;
    expect(offered.find((f: { key: string }) => f.key === 'clinics')).toMatchObject({
      type: 'relation',
      relation: { object: 'clinic', many: true },
    });
    expectProblem(await admin.client.post('/api/v1/forms', formBody()), 400, {
      code: 'choices_required',
      path: 'body.fields[1].choices',
    });
    expectProblem(await admin.client.post('/api/v1/forms', formBody([clinics.stranger!])), 422, {
      code: 'reference_not_found',
      path: 'body.fields[1].choices[0]',
    });
    form = expectStatus(
      await admin.client.post(
        '/api/v1/forms',
        formBody([clinics['North Clinic']!, clinics['South Clinic']!]),
      ),
      201,
    );
    expect(form.fields[1].choices).toEqual([clinics['North Clinic'], clinics['South Clinic']]);
  });

  it('shows a multi-select of the chosen records by name, and links the records a visitor picks', async () => {
    const token = form.page_url.split('/f/')[1];
    const { html, ts } = await loadPage(token);
    expect(html).toMatch(/<select id="f_clinics" name="clinics" multiple/);
    expect(html).toContain(`<option value="${clinics['North Clinic']}">North Clinic</option>`);
    expect(html).toContain(`<option value="${clinics['South Clinic']}">South Clinic</option>`);
    expect(html).not.toContain('Private Clinic');
    expect(html).not.toContain('Stranger Clinic');

    const payload = new URLSearchParams([
      ['name', 'Grace Parent'],
      ['clinics', clinics['North Clinic']!],
      ['clinics', clinics['South Clinic']!],
      ['_hp', ''],
      ['_ts', ts],
    ]).toString();
    const res = await t.app.inject({
      method: 'POST',
      url: `/f/${token}`,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        referer: `http://cairn.test/f/${token}`,
      },
      payload,
      remoteAddress: nextIp(),
    });
    expect(res.statusCode, res.body).toBe(200);
    const [sub] = await submissions(form.id);
    const record = expectStatus(await admin.client.get(`/api/v1/records/case/${sub!.record.id}`), 200);
    expect((record.custom.clinics as { name: string }[]).map((c) => c.name).sort()).toEqual([
      'North Clinic',
      'South Clinic',
    ]);
    // The submissions list names the picked records, not their ids.
    expect(sub!.answers).toContainEqual(
      expect.objectContaining({ key: 'clinics', text: 'North Clinic, South Clinic', removed: false }),
    );
  });

  it('refuses a record the form does not offer, even one of this organization', async () => {
    const token = form.page_url.split('/f/')[1];
    for (const pick of [clinics['Private Clinic']!, clinics.stranger!, 'not-an-id']) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/ingest/form/${form.ingest_url.split('/ingest/form/')[1]}`,
        payload: { name: 'Mallory', clinics: [clinics['North Clinic'], pick] },
        remoteAddress: nextIp(),
      });
      expect(res.statusCode, res.body).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ code: 'invalid_value' });
    }
    expect(token).toBeTruthy();
  });
});

describe('the submissions list and its CSV', () => {
  // An object whose select stores short codes as its choices' values (what an admin never reads),
  // a yes/no field, and a note the form later drops.
  let form: Record<string, any>;
  const emails = ['gold', 'silver', 'cy', 'di'].map((n) => uniqueEmail(n));
  const FORMULA = '=HYPERLINK("http://evil.example","x")';
  const ingest = (body: Record<string, unknown>) =>
    t.app.inject({
      method: 'POST',
      url: new URL(form.ingest_url).pathname,
      payload: body,
      remoteAddress: nextIp(),
    });
  const page = async (query: string) =>
    expectStatus(await admin.client.get(`/api/v1/forms/${form.id}/submissions?${query}`), 200) as {
      data: Record<string, any>[];
      next_cursor: string | null;
      total: number | null;
    };
  const answersOf = (s: Record<string, any>) =>
    Object.fromEntries(
      (s.answers as { key: string; label: string; text: string; removed: boolean }[]).map((a) => [
        a.key,
        { label: a.label, text: a.text, removed: a.removed },
      ]),
    );

  beforeAll(async () => {
    expectStatus(
      await admin.client.post('/api/v1/objects', {
        key: 'inquiry',
        label_singular: 'Inquiry',
        label_plural: 'Inquiries',
      }),
      201,
    );
    for (const f of [
      { label: 'E-mail', key: 'email', type: 'email' },
      {
        label: 'Tier',
        key: 'tier',
        type: 'select',
        options: [
          { value: '3f2a9c', label: 'Gold' },
          { value: '7b1e04', label: 'Silver' },
        ],
      },
      { label: 'Call me back', key: 'call_me', type: 'boolean' },
      { label: 'Note', key: 'note', type: 'text' },
    ])
      expectStatus(await admin.client.post('/api/v1/objects/inquiry/fields', f), 201);
    form = expectStatus(
      await admin.client.post('/api/v1/forms', {
        name: 'Pricing inquiry',
        object: 'inquiry',
        fields: [
          { key: 'name', label: 'Your name', required: true },
          { key: 'email' },
          { key: 'tier', label: 'Which plan?' },
          { key: 'call_me' },
          { key: 'note' },
        ],
        consent: { text: 'Keep me posted about offers', channel: 'email', purpose: 'marketing' },
        min_fill_seconds: 0,
        proof_of_work: false,
      }),
      201,
    );
    const sends = [
      { name: FORMULA, email: emails[0], tier: '3f2a9c', call_me: true, note: 'first', consent: true },
      { name: 'Bo Silver', email: emails[1], tier: '7b1e04', call_me: false, note: '+1-2 call me' },
      { name: 'Cy', email: emails[2], tier: '3f2a9c' },
    ];
    for (const body of sends) expect((await ingest(body)).statusCode).toBe(201);
    // The note leaves the form; a later submission cannot have it.
    expectStatus(
      await admin.client.patch(`/api/v1/forms/${form.id}`, {
        fields: form.fields.filter((f: { key: string }) => f.key !== 'note'),
      }),
      200,
    );
    expect((await ingest({ name: 'Di', email: emails[3], tier: '7b1e04' })).statusCode).toBe(201);
  });

  it("shows each value under its field's label: a choice's label, Yes/No, a removed field by its key", async () => {
    const { data } = await page('limit=50');
    expect(data.map((s) => s.record.name)).toEqual(['Di', 'Cy', 'Bo Silver', FORMULA]);
    const gold = data[3]!;
    expect(answersOf(gold)).toEqual({
      name: { label: 'Your name', text: FORMULA, removed: false },
      email: { label: 'E-mail', text: emails[0], removed: false },
      tier: { label: 'Which plan?', text: 'Gold', removed: false },
      call_me: { label: 'Call me back', text: 'Yes', removed: false },
      note: { label: 'note', text: 'first', removed: true },
    });
    // In the form's order, the removed field last; the stored values are still there as they were.
    expect(gold.answers.map((a: { key: string }) => a.key)).toEqual([
      'name',
      'email',
      'tier',
      'call_me',
      'note',
    ]);
    expect(gold.values).toMatchObject({ tier: '3f2a9c', call_me: true });
    expect(answersOf(data[2]!)).toMatchObject({
      tier: { text: 'Silver' },
      call_me: { text: 'No' },
      note: { removed: true },
    });
    expect(answersOf(data[0]!)).toEqual({
      name: { label: 'Your name', text: 'Di', removed: false },
      email: { label: 'E-mail', text: emails[3], removed: false },
      tier: { label: 'Which plan?', text: 'Silver', removed: false },
    });
  });

  it('names the record (and its e-mail) and shows what was consented', async () => {
    const { data } = await page('limit=50');
    const gold = data[3]!;
    expect(gold.record).toMatchObject({ object: 'inquiry', name: FORMULA, email: emails[0] });
    expect(gold.consent).toMatchObject({
      id: gold.consent_id,
      status: 'granted',
      channel: 'email',
      purpose: 'marketing',
      text: 'Keep me posted about offers',
    });
    expect(data[2]!.consent).toBeNull();
  });

  it('pages with the cursor and counts the total', async () => {
    const first = await page('limit=3');
    expect(first.total).toBe(4);
    expect(first.data.map((s) => s.record.name)).toEqual(['Di', 'Cy', 'Bo Silver']);
    expect(first.next_cursor).toBeTruthy();
    const second = await page(`limit=3&cursor=${first.next_cursor}`);
    expect(second.data.map((s) => s.record.name)).toEqual([FORMULA]);
    expect(second.next_cursor).toBeNull();
    expect(second.total).toBeNull();
    expectProblem(await admin.client.get(`/api/v1/forms/${form.id}/submissions?cursor=nope`), 400, {
      code: 'invalid_query',
      path: 'querystring.cursor',
    });
    expectProblem(await stranger.client.get(`/api/v1/forms/${form.id}/submissions`), 404);
  });

  it("counts a download's rows against the guard's export budget, as a records export's", async () => {
    // The first export of this admin in the window: 4 rows cross a warn threshold of 2.
    expectStatus(
      await admin.client.put('/api/v1/guard/settings', {
        role: 'admin',
        budgets: { export: { warn: 2, block: 1000, window_seconds: 600 } },
      }),
      200,
    );
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/v1/forms/${form.id}/submissions/export`,
      headers: { cookie: admin.client.cookieHeader },
    });
    expect(res.statusCode, res.body).toBe(200);
    const alerts = async () =>
      (
        expectStatus(await admin.client.get('/api/v1/notifications?limit=100'), 200).data as {
          kind: string;
          title: string;
        }[]
      )
        .filter((n) => n.kind === 'security_alert')
        .map((n) => n.title);
    await expect
      .poll(
        async () =>
          (await alerts()).some((a) => a.includes('records exported') && a.includes('warn threshold')),
        {
          timeout: 10_000,
        },
      )
      .toBe(true);
  });

  it('downloads the submissions as CSV under the labels, formulas neutralized', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/v1/forms/${form.id}/submissions/export`,
      headers: { cookie: admin.client.cookieHeader },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="pricing-inquiry-submissions-/);
    const [header, ...rows] = parse(res.body.replace(/^\uFEFF/, '')) as string[][];
    expect(header).toEqual([
      'Submitted at',
      'Record',
      'Record e-mail',
      'Record id',
      'New record',
      'Channel',
      'Your name',
      'E-mail',
      'Which plan?',
      'Call me back',
      'note (removed)',
      'utm_source',
      'utm_medium',
      'utm_campaign',
      'utm_term',
      'utm_content',
      'referrer',
      'landing_page',
      'Consent',
      'Consent text',
    ]);
    expect(rows).toHaveLength(4);
    const cell = (row: string[], name: string) => row[header!.indexOf(name)];
    const gold = rows[3]!;
    expect(cell(gold, 'Record')).toBe(`'${FORMULA}`);
    expect(cell(gold, 'Your name')).toBe(`'${FORMULA}`);
    expect(cell(gold, 'Which plan?')).toBe('Gold');
    expect(cell(gold, 'Call me back')).toBe('Yes');
    expect(cell(gold, 'note (removed)')).toBe('first');
    expect(cell(gold, 'Consent')).toBe('granted: marketing by email');
    expect(cell(gold, 'Consent text')).toBe('Keep me posted about offers');
    expect(cell(rows[2]!, 'note (removed)')).toBe("'+1-2 call me");
    expect(rows.map((r) => cell(r, 'Which plan?'))).toEqual(['Silver', 'Gold', 'Silver', 'Gold']);

    const other = await t.app.inject({
      method: 'GET',
      url: `/api/v1/forms/${form.id}/submissions/export`,
      headers: { cookie: stranger.client.cookieHeader },
    });
    expect(other.statusCode).toBe(404);
  });
});
