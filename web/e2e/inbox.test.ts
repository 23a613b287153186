import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, baseUrl, launch, newContext, signUpInBrowser, uniqueEmail } from './browser.js';

/** The shared inputs: beside the repository, or at /work/shared/data from a worktree. */
const BESIDE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/data/');
const DATA = existsSync(BESIDE) ? BESIDE : '/work/shared/data/';
const TWILIO = path.join(DATA, 'webhooks/twilio/twilio-inbound-form-payloads.courier.json');
const TOKEN = 'e2e-twilio-auth-token';

/** A local stand-in for Twilio's Messages API (what the SDK calls when a reply is sent). */
async function startTwilio() {
  const sent: URLSearchParams[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const m = /^\/2010-04-01\/Accounts\/([^/]+)(\/Messages)?\.json$/.exec(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      if (!m) return res.writeHead(404).end(JSON.stringify({ code: 20404, message: 'Not found' }));
      if (!m[2]) return res.writeHead(200).end(JSON.stringify({ sid: m[1], status: 'active' }));
      sent.push(form);
      res.writeHead(201).end(
        JSON.stringify({
          sid: `SM${String(sent.length).padStart(32, '0')}`,
          account_sid: m[1],
          from: form.get('From'),
          to: form.get('To'),
          body: form.get('Body'),
          status: 'queued',
          direction: 'outbound-api',
          date_created: new Date().toUTCString(),
          uri: req.url,
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    sent,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('the inbox: a customer texts in, a salesperson reads and answers', () => {
  let browser: Browser;
  let page: Page;
  let tw: Awaited<ReturnType<typeof startTwilio>>;
  beforeAll(async () => {
    tw = await startTwilio();
    browser = await launch();
    page = await (await newContext(browser)).newPage();
    await signUpInBrowser(page, 'Inbox Ltd', 'Ivy Inbox', uniqueEmail('ivy'));
  });
  afterAll(async () => {
    await browser?.close();
    await tw?.close();
  });

  it('opens the conversation of an inbound SMS (named after its contact) and replies to it', async () => {
    const channel = await apiCall(page, 'POST', '/api/v1/channels', {
      kind: 'sms',
      name: 'Support line',
      address: '+1 202 883 1111',
      twilio: { account_sid: 'AC0123456789abcdef0123456789abcdef', auth_token: TOKEN, api_base: tw.url },
    });
    expect(channel.status).toBe(201);
    await apiCall(page, 'POST', '/api/v1/contacts', {
      first_name: 'Nina',
      last_name: 'Norte',
      phones: [{ number: '+1 413 388 1111' }],
    });
    // Twilio's own inbound payload (its sender is Nina's number), signed as Twilio signs it.
    const courier = JSON.parse(readFileSync(TWILIO, 'utf8'));
    const params = Object.fromEntries(new URLSearchParams(courier.payloads.receiveValid.raw_form_body));
    params.Body = 'Do you ship to Lisbon?';
    const url: string = channel.body.inbound_webhook_url;
    // As Twilio posts it: from outside the browser, without the member's session.
    expect(url.startsWith(baseUrl())).toBe(true);
    const inbound = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(TOKEN, url, params),
      },
      body: new URLSearchParams(params).toString(),
    });
    expect(inbound.status, await inbound.clone().text()).toBe(200);

    // A template picked by typing `/` (issue 23): filled for the conversation's contact.
    const template = await apiCall(page, 'POST', '/api/v1/message-templates', {
      name: 'Shipping',
      shortcut: 'ship',
      kind: 'sms',
      body: 'Hi {{first_name}}, yes:',
    });
    expect(template.status).toBe(201);
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: /^Inbox/ })
      .click();
    const conversation = page.getByTestId('conversation').filter({ hasText: 'Nina Norte' });
    await conversation.getByText('Do you ship to Lisbon?').waitFor();
    await conversation.click();
    await page.getByRole('heading', { name: 'Nina Norte', level: 3 }).waitFor();
    const reply = page.getByLabel('Reply');
    await reply.click();
    await reply.pressSequentially('/sh');
    await page
      .getByTestId('slash-menu')
      .getByRole('option', { name: /\/ship/ })
      .waitFor();
    await reply.press('Enter');
    await expect.poll(() => reply.inputValue()).toBe('Hi Nina, yes:');
    await reply.pressSequentially(' three days to Lisbon.');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    // In the thread (the conversation list's preview may show the reply too).
    await page.getByTestId('message').filter({ hasText: 'Hi Nina, yes: three days to Lisbon.' }).waitFor();
    await expect
      .poll(() => tw.sent.map((f) => f.get('Body')), { timeout: 20_000 })
      .toEqual(['Hi Nina, yes: three days to Lisbon.']);
    expect(tw.sent[0]?.get('To')).toBe('+14133881111');
  });
});
