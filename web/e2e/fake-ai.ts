import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { apiCall, launch, newContext, signUpInBrowser, uniqueEmail } from './browser.js';

/**
 * A local AI provider for the journeys: it speaks OpenAI's chat-completions wire format the way the
 * API streams it (server-sent events, tool-call arguments in pieces, usage last) and answers from
 * what it was sent, like a fixture that reads its input:
 * - asked to call `set_report`: a count of the first offered object grouped by `status` (when that
 *   object has one), titled from the question;
 * - asked for a draft (a record or a thread in the data): a message to the contact by first name,
 *   written slowly (a piece every 60 ms) so a journey sees it grow; with a `Subject:` first line when
 *   the system prompt asks for one. Instructions that say "at length" make it long (to be stopped);
 *   "break" makes the provider drop the connection halfway;
 * - otherwise (an explanation): it reads the `<data>` of the prompt and cites each report's total,
 *   with markup in the text, which the app must show as text.
 * Every request is kept in `sent`, so a journey can check what left Cairn; `cut` counts the answers
 * Cairn hung up on before they were written whole.
 */
export type FakeAi = { url: string; sent: any[]; readonly cut: number; close: () => Promise<void> };

/** How the fake's drafts read, for the journeys' assertions. */
export const fakeDraft = {
  subject: (name: string) => `A note for ${name}`,
  body: (name: string) =>
    `Dear ${name},\n\nThank you for your time last week. I am writing to follow up on our conversation ` +
    'and to suggest a short call next Tuesday to go through the proposal together. Best regards',
};

const BASE = { id: 'chatcmpl-e2e', object: 'chat.completion.chunk', created: 1, model: 'gpt-e2e' };
const event = (chunk: unknown) => `data: ${JSON.stringify({ ...BASE, ...(chunk as object) })}\n\n`;
const pieces = (text: string) => text.match(/.{1,12}/gs) ?? [];

function dataOf(body: any): any {
  const content = String(body.messages?.at(-1)?.content ?? '');
  const m = /<data>\n([\s\S]*)\n<\/data>/.exec(content);
  return m ? JSON.parse(m[1]!) : {};
}

type Answer = { tool?: { name: string; args: string }; text?: string; slow?: boolean; breakAt?: number };

function answerOf(body: any): Answer {
  const tool = body.tools?.[0]?.function?.name;
  const data = tool ? {} : dataOf(body);
  if (data.record || data.messages) {
    const system = String(body.messages?.[0]?.content ?? '');
    const user = String(body.messages?.at(-1)?.content ?? '');
    const name = String(data.record?.record?.first_name ?? data.contact?.first_name ?? 'there');
    const text =
      (system.includes('"Subject: "') ? `Subject: ${fakeDraft.subject(name)}\n\n` : '') +
      fakeDraft.body(name) +
      (/at length/.test(user) ? ' More words.'.repeat(300) : '');
    return { text, slow: true, ...(/break/.test(user) ? { breakAt: Math.floor(text.length / 2) } : {}) };
  }
  if (tool === 'set_report') {
    const objects = dataOf(body).objects as { object: string; fields: { key: string }[] }[];
    const chosen = objects.find((o) => o.object === 'opportunity') ?? objects[0]!;
    const question = /Question: (.*)$/s.exec(String(body.messages.at(-1).content))?.[1] ?? 'Report';
    const byStatus = chosen.fields.some((f) => f.key === 'status');
    return {
      tool: {
        name: tool,
        args: JSON.stringify({
          object: chosen.object,
          ...(byStatus ? { group_by: [{ field: 'status' }] } : {}),
          measure: { op: 'count' },
          title: `Count of ${chosen.object} by status (${question.trim().slice(0, 40)})`,
        }),
      },
    };
  }
  const reports = (dataOf(body).reports ?? []) as { title: string; total: { count: number } }[];
  return {
    text: JSON.stringify({
      explanation: `${reports.map((r) => `${r.title}: ${r.total.count} in all.`).join(' ')} <b>Nothing else</b> stands out.`,
      figures: reports.map((r) => ({ label: `${r.title} total`, value: r.total.count })),
    }),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startFakeAi(): Promise<FakeAi> {
  const sent: any[] = [];
  let cut = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      sent.push(body);
      if (req.url !== '/v1/chat/completions') return res.writeHead(404).end();
      const answer = answerOf(body);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.on('close', () => {
        if (!res.writableFinished) cut++;
      });
      if (answer.tool) {
        res.write(
          event({
            choices: [
              {
                index: 0,
                delta: {
                  tool_calls: [
                    {
                      index: 0,
                      id: 'call_1',
                      type: 'function',
                      function: { name: answer.tool.name, arguments: '' },
                    },
                  ],
                },
              },
            ],
          }),
        );
        for (const part of pieces(answer.tool.args))
          res.write(
            event({
              choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: part } }] } }],
            }),
          );
      } else {
        res.write(event({ choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] }));
        let written = 0;
        for (const part of pieces(answer.text ?? '')) {
          if (res.destroyed) return;
          if (answer.breakAt !== undefined && written >= answer.breakAt) return void res.destroy();
          res.write(event({ choices: [{ index: 0, delta: { content: part } }] }));
          written += part.length;
          if (answer.slow) await sleep(60);
        }
        if (res.destroyed) return;
      }
      res.write(
        event({ choices: [], usage: { prompt_tokens: 200, completion_tokens: 40, total_tokens: 240 } }),
      );
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    sent,
    get cut() {
      return cut;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * A journey's start for the assistant: the fake provider, a browser, and a new organization signed
 * up in it (`org`, its admin `member`); `close` ends all three. The assistant stays off until
 * `turnOn` points the organization at the fake provider (an OpenAI-compatible endpoint).
 */
export async function startAiJourney(
  org: string,
  member: string,
): Promise<{ ai: FakeAi; page: Page; turnOn: () => Promise<void>; close: () => Promise<void> }> {
  const ai = await startFakeAi();
  const browser = await launch();
  const page = await (await newContext(browser)).newPage();
  await signUpInBrowser(page, org, member, uniqueEmail(member.split(' ')[0]!.toLowerCase()));
  return {
    ai,
    page,
    turnOn: async () => {
      const on = await apiCall(page, 'PATCH', '/api/v1/ai/settings', {
        enabled: true,
        provider: 'openai',
        base_url: ai.url,
        model: 'gpt-e2e',
        key: 'sk-e2e-0000-1234',
      });
      if (on.status !== 200)
        throw new Error(`turning the assistant on: ${on.status} ${JSON.stringify(on.body)}`);
    },
    close: async () => {
      await browser.close();
      await ai.close();
    },
  };
}
