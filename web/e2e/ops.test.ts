import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, launch, newContext, signUpInBrowser, uniqueEmail } from './browser.js';

const axeSource: string = createRequire(import.meta.url)('axe-core').source;

/** axe-core's serious and critical violations on the current page. */
async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const results = await page.evaluate(async () =>
    (window as any).axe.run(document, { resultTypes: ['violations'] }),
  );
  return (results.violations as { id: string; impact: string; nodes: { html: string }[] }[])
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.html.slice(0, 120)).join('; ')}`);
}

/** A real SMTP server (smtp-server) that asks for a password. */
async function startSmtp() {
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === 'mailer' && auth.password === 'right-password')
        return callback(null, { user: 'mailer' });
      callback(new Error('535 5.7.8 Authentication credentials invalid'));
    },
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => callback());
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('the ops console: an admin breaks a channel and sees one alert', () => {
  let browser: Browser;
  let page: Page;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  beforeAll(async () => {
    smtp = await startSmtp();
    browser = await launch();
    page = await (await newContext(browser)).newPage();
    await signUpInBrowser(page, 'Ops Ltd', 'Otto Ops', uniqueEmail('otto'));
  });
  afterAll(async () => {
    await browser?.close();
    await smtp?.close();
  });

  it('breaks the credentials, tests the connection again and again, finds ONE alert and acknowledges it', async () => {
    const channel = await apiCall(page, 'POST', '/api/v1/channels', {
      kind: 'email',
      name: 'Outgoing mail',
      address: 'out@ops.example',
      smtp: { host: '127.0.0.1', port: smtp.port, secure: false, user: 'mailer', password: 'right-password' },
    });
    expect(channel.status).toBe(201);
    expect((await apiCall(page, 'POST', `/api/v1/channels/${channel.body.id}/test`)).body.ok).toBe(true);

    // The admin breaks the password in the channel's settings, then tests it five times.
    const broken = await apiCall(page, 'PATCH', `/api/v1/channels/${channel.body.id}`, {
      smtp: { host: '127.0.0.1', port: smtp.port, secure: false, user: 'mailer', password: 'typo' },
    });
    expect(broken.status).toBe(200);
    for (let i = 0; i < 5; i++)
      expect((await apiCall(page, 'POST', `/api/v1/channels/${channel.body.id}/test`)).body.ok).toBe(false);

    await page.getByRole('link', { name: 'Ops console' }).click();
    await page.getByRole('heading', { name: 'Ops console', level: 1 }).waitFor();
    const row = page.getByTestId(`integration-smtp-${channel.body.id}`);
    await row.getByText('failing').waitFor();
    await page.waitForLoadState('networkidle');
    // The pointer leaves the sidebar link it clicked (a hovered link has its hover colour).
    await page.mouse.move(900, 700);
    await page.waitForTimeout(300);
    expect(await seriousViolations(page)).toEqual([]);

    await page.getByRole('tab', { name: 'Alerts' }).click();
    const alerts = page.getByTestId('ops-alert');
    await alerts.first().waitFor();
    expect(await alerts.count()).toBe(1);
    await expect.poll(() => alerts.getByTestId('ops-alert-count').textContent()).toBe('5');
    await alerts.getByText('Sending mail (SMTP) is failing: Outgoing mail').waitFor();
    expect(await seriousViolations(page)).toEqual([]);

    await alerts.getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => alerts.getByTestId('ops-alert-status').textContent()).toBe('acknowledged');
    expect(await alerts.count()).toBe(1);

    // The admin was told once, in the notifications.
    const notes = await apiCall(page, 'GET', '/api/v1/notifications');
    expect(notes.body.data.filter((n: { kind: string }) => n.kind === 'ops_alert')).toHaveLength(1);

    for (const tab of ['Jobs', 'Webhook deliveries', 'API usage']) {
      await page.getByRole('tab', { name: tab }).click();
      await page.waitForLoadState('networkidle');
      expect(await seriousViolations(page), tab).toEqual([]);
    }
  }, 120_000);
});
