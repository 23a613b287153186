import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { apiCall, launch, newContext, signInInBrowser, signUpInBrowser, uniqueEmail } from './browser.js';

const axeSource: string = createRequire(import.meta.url)('axe-core').source;

/** axe-core on the current page: the serious and critical violations, described. */
async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol: an inline <script> (addScriptTag) is blocked by the CSP.
  await page.evaluate(axeSource);
  const results = await page.evaluate(async () => {
    const axe = (window as any).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  type Violation = {
    id: string;
    impact: string;
    help: string;
    nodes: { html: string; failureSummary: string }[];
  };
  return (results.violations as Violation[])
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.impact} ${v.id}: ${v.help}: ` +
        v.nodes
          .slice(0, 3)
          .map((n) => `${n.html.slice(0, 160)} (${n.failureSummary.replaceAll('\n', ' ')})`)
          .join('; '),
    );
}

describe('accessibility and speed', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('the main pages have no serious or critical axe violations, in light and dark mode', async () => {
    const anonymous = await (await newContext(browser)).newPage();
    await anonymous.goto('/sign-in');
    await anonymous.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await seriousViolations(anonymous)).toEqual([]);
    await anonymous.goto('/sign-up');
    await anonymous.getByRole('button', { name: 'Create organization' }).waitFor();
    expect(await seriousViolations(anonymous)).toEqual([]);

    const page = await (await newContext(browser)).newPage();
    await signUpInBrowser(page, 'Axe Ltd', 'Ally Axe', uniqueEmail('ally'));
    const company = await apiCall(page, 'POST', '/api/v1/companies', { name: 'Contrast Co' });
    const contact = await apiCall(page, 'POST', '/api/v1/contacts', {
      first_name: 'Ada',
      last_name: 'Aria',
      tags: ['a11y'],
      companies: [{ id: company.body.id }],
    });
    const opp = await apiCall(page, 'POST', '/api/v1/opportunities', {
      title: 'Accessible deal',
      source: 'manual',
      contact_id: contact.body.id,
    });
    await apiCall(page, 'POST', '/api/v1/tasks', {
      title: 'Check contrast',
      link: { object: 'contact', id: contact.body.id },
    });

    const pages: [string, string][] = [
      ['/contacts', 'Contacts'],
      [`/contacts/${contact.body.id}`, 'Ada Aria'],
      [`/companies/${company.body.id}`, 'Contrast Co'],
      ['/companies', 'Companies'],
      ['/opportunities', 'Opportunities'],
      [`/opportunities/${opp.body.id}`, 'Accessible deal'],
      ['/tasks', 'Tasks'],
      ['/settings', 'Settings'],
    ];
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const [url, heading] of pages) {
        await page.goto(url);
        await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
        await page.waitForLoadState('networkidle');
        const found = await seriousViolations(page);
        expect(found, `${scheme} ${url}`).toEqual([]);
      }
    }
  }, 180_000);

  it('every other page, public ones included, has no serious or critical axe violations', async () => {
    const page = await (await newContext(browser)).newPage();
    await signUpInBrowser(page, 'Axe Two Ltd', 'Abe Axe', uniqueEmail('abe'), { home: true });
    const me = (await apiCall(page, 'GET', '/api/v1/me')).body;
    const contact = await apiCall(page, 'POST', '/api/v1/contacts', {
      first_name: 'Tess',
      last_name: 'Tone',
      emails: [{ value: 'tess@tone.example' }],
    });
    const product = await apiCall(page, 'POST', '/api/v1/products', { sku: 'AX-1', name: 'Axe handle' });
    const deal = await apiCall(page, 'POST', '/api/v1/opportunities', {
      title: 'Quoted deal',
      contact_id: contact.body.id,
    });
    const quote = await apiCall(page, 'POST', '/api/v1/quotes', { opportunity_id: deal.body.id });
    const workflow = await apiCall(page, 'POST', '/api/v1/workflows', {
      name: 'Tag new people',
      object: 'contact',
      definition: {
        trigger: { type: 'tag_added', tag: 'new' },
        start: 'tag',
        steps: [{ id: 'tag', type: 'add_tag', tag: 'welcomed' }],
      },
    });
    await apiCall(page, 'PUT', '/api/v1/me/availability', {
      time_zone: 'UTC',
      weekly: Object.fromEntries(
        ['1', '2', '3', '4', '5', '6', '7'].map((d) => [d, [{ start: '00:00', end: '23:30' }]]),
      ),
      overrides: [],
    });
    const meeting = await apiCall(page, 'POST', '/api/v1/meeting-types', {
      name: 'Axe intro',
      duration_minutes: 30,
      assignment: 'single',
      host_ids: [me.user.id],
    });
    await apiCall(page, 'POST', '/api/v1/reports', {
      name: 'Deals by stage',
      spec: { object: 'opportunity', group_by: [{ field: 'stage_id' }], measure: { op: 'count' } },
      view: 'bar',
      sharing: 'private',
    });
    for (const created of [product, deal, quote, workflow, meeting]) expect(created.status).toBe(201);

    // The signed-in pages (each with its h1), then the settings' tabs, then public pages.
    const pages: [string, string | RegExp][] = [
      ['/', /^Hello/],
      ['/products', 'Products'],
      [`/products/${product.body.id}`, 'Axe handle'],
      [`/quotes/${quote.body.id}`, /^Quote /],
      ['/inbox', 'Inbox'],
      ['/broadcasts', 'Broadcasts'],
      ['/reports', 'Reports'],
      ['/dashboards', 'Dashboards'],
      ['/workflows', 'Workflows'],
      ['/scheduling', 'Scheduling'],
      ['/imports', 'Imports'],
      ['/duplicates', /duplicates/i],
      ['/notifications', 'Notifications'],
      ['/queues', 'Queues'],
      ['/profile', /profile/i],
      ...[
        'organization',
        'members',
        'roles',
        'teams',
        'templates',
        'objects',
        'fields',
        'pipelines',
        'tags',
        'security',
        'forms',
        'webhooks',
        'meta',
        'price-lists',
        'ai',
      ].map((tab): [string, string] => [`/settings?tab=${tab}`, 'Settings']),
    ];
    const publicPages: [string, string | RegExp][] = [
      ['/forgot-password', /password/i],
      [new URL(meeting.body.booking_url).pathname, 'Axe intro'],
    ];
    const visitor = await (await newContext(browser)).newPage();
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await visitor.emulateMedia({ colorScheme: scheme });
      for (const [p, url, heading] of [
        ...pages.map(([u, h]) => [page, u, h] as const),
        ...publicPages.map(([u, h]) => [visitor, u, h] as const),
      ]) {
        await p.goto(url);
        await p.getByRole('heading', { name: heading, level: 1 }).first().waitFor();
        await p.waitForLoadState('networkidle');
        expect(await seriousViolations(p), `${scheme} ${url}`).toEqual([]);
      }
    }
    // The workflow builder (a flow editor) in light mode.
    await page.emulateMedia({ colorScheme: 'light' });
    await page.goto(`/workflows/${workflow.body.id}`);
    await page.getByRole('button', { name: 'Validate and activate' }).waitFor();
    await page.waitForLoadState('networkidle');
    expect(await seriousViolations(page), 'workflow builder').toEqual([]);
  }, 240_000);

  it('the contacts page of a 100,000-contact organization shows its first rows quickly (printed)', async () => {
    const account = inject('perfAccount');
    const page = await (await newContext(browser)).newPage();
    await signInInBrowser(page, account.email, account.password);
    await page.goto('/tasks');
    await page.getByRole('heading', { name: 'Tasks', level: 1 }).waitFor();

    // Cold: a full page load of /contacts. Warm: navigating to it inside the app.
    const cold = performance.now();
    await page.goto('/contacts');
    await page.getByTestId('record-table').getByRole('row').nth(50).waitFor();
    const coldMs = performance.now() - cold;
    // The browser's own clock: navigation start to the rows rendered (User Timing mark).
    const markMs = await page.evaluate(
      () => performance.getEntriesByName('cairn:first-rows')[0]?.startTime ?? -1,
    );
    if (process.env.E2E_TRACE) {
      const entries = await page.evaluate(() =>
        performance
          .getEntriesByType('resource')
          .map(
            (e) =>
              `${Math.round(e.startTime)}-${Math.round((e as PerformanceResourceTiming).responseEnd)} ${e.name}`,
          ),
      );
      console.log(entries.join('\n'));
    }

    await page.getByRole('link', { name: 'Tasks' }).click();
    await page.getByRole('heading', { name: 'Tasks', level: 1 }).waitFor();
    const warm = performance.now();
    await page.getByRole('link', { name: 'Contacts' }).click();
    await page.getByTestId('record-table').getByRole('row').nth(50).waitFor();
    const warmMs = performance.now() - warm;

    // The API alone: the first page as the table asks for it.
    const api = performance.now();
    const first = await apiCall(page, 'POST', '/api/v1/contacts/query', {
      limit: 50,
      fields: [
        'id',
        'first_name',
        'last_name',
        'email',
        'phone',
        'companies',
        'tags',
        'owner_id',
        'created_at',
      ],
    });
    const apiMs = performance.now() - api;
    expect(first.body.data).toHaveLength(50);

    const rows = await page.getByTestId('record-table').getByRole('row').count();
    expect(rows).toBe(51); // the header and a page of 50
    await expect(page.getByTestId('record-table').getByRole('row').nth(1).textContent()).resolves.toMatch(
      /Given1Family1person1@perf\.test/,
    );
    console.log(
      `e2e perf (${inject('databaseKind')} database, ${inject('perfAccount') ? '100,000' : '?'} contacts): ` +
        `first 50 rows rendered ${Math.round(markMs)} ms after navigation start (browser clock; ${Math.round(coldMs)} ms ` +
        `as the test saw it) on a full page load, ${Math.round(warmMs)} ms navigating in the app ` +
        `(the API's first page alone: ${Math.round(apiMs)} ms)`,
    );
  });
});
