/**
 * Inbox benchmark (issue 23), on the PostgreSQL server (database `cairn_bench_inbox`, recreated
 * each run) and a real Dovecot (its own config and Maildir in a temp dir, as the tests start it):
 *   - sync: N messages (default 10,000) made from the real mailing-list threads and corpus in
 *     ../shared/data/email/ (the mbox files and notmuch-corpus/, each Message-ID once: the corpus
 *     holds the same message more than once, the lkml threads in both the mbox and notmuch-corpus/
 *     and notmuch's own duplicate-id tests, and Cairn rightly stores a Message-ID once; copy k of a
 *     message has the ids of its Message-ID / In-Reply-To / References headers suffixed with `.k`,
 *     so threads stay threads and no copy is a duplicate) appended to Dovecot over IMAP, then
 *     synced into Cairn by its own
 *     `syncMailbox` (imapflow fetch in batches, mailparser, threading, contact matching, the files
 *     pipeline for attachments). Prints messages/s and the process's peak RSS (the bench and Cairn
 *     share the process: an upper bound of the server's); goal >= 200 messages/s and < 300 MB.
 *     Floor, same run: the same mailbox fetched over IMAP with imapflow alone (no parse, no store).
 *   - list: the inbox list of a tenant with M conversations (default 100,000; 20,000 contacts,
 *     80% open, a third assigned to the member) through the API, first pages and a deep page by
 *     cursor, p50 / p95 / p99 (goal p95 < 50 ms); floor: the keyset page in raw SQL.
 *
 *   npx tsx bench/inbox.bench.ts [--n=10000] [--conversations=100000] [--url=postgres://host:port]
 *
 * Inputs are generated at run time (never committed). Prints the figures and rewrites its section
 * of bench/RESULTS.md (only at the default scale). Exits 0 whatever the figures.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ImapFlow } from 'imapflow';
import { simpleParser } from 'mailparser';
import { syncMailbox } from '../server/src/modules/conversations/email-sync.service.js';
import { type Dovecot, startDovecot } from '../server/test/kit/dovecot.js';
import { seedMailableContacts, signUpBench, startBenchServer } from './bench-server.js';
import { commitOf, loadAverageNote, writeResultsSection } from './machine.js';

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const N = Number(arg('n') ?? 10_000);
const CONVERSATIONS = Number(arg('conversations') ?? 100_000);
const DEFAULT_SCALE = N === 10_000 && CONVERSATIONS === 100_000;
const SERVER_URL = (arg('url') ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const DB_NAME = 'cairn_bench_inbox';
const TIMED = 200;
const WARM = 20;
const EMAIL_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../shared/data/email');

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(0));
const mb = (bytes: number) => (bytes / 1_048_576).toFixed(0);

/** The real messages: each mbox split at its `From ` lines, and every file of notmuch-corpus/. */
function corpus(): Buffer[] {
  const out: Buffer[] = [];
  const mboxDir = path.join(EMAIL_DIR, 'mbox');
  for (const name of readdirSync(mboxDir)) {
    const text = readFileSync(path.join(mboxDir, name), 'latin1');
    for (const part of text.split(/^From .*\r?\n/m)) {
      const unescaped = part.replace(/^>(>*From )/gm, '$1');
      if (/^[\w-]+:/m.test(unescaped.slice(0, 2000))) out.push(Buffer.from(unescaped, 'latin1'));
    }
  }
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) walk(file);
      else if (name !== 'README' && !name.startsWith('.')) out.push(readFileSync(file));
    }
  };
  walk(path.join(EMAIL_DIR, 'notmuch-corpus'));
  return out;
}

/** The corpus with each Message-ID once (the first message that carries it), as mailparser reads it. */
async function distinct(raws: Buffer[]): Promise<{ kept: Buffer[]; dropped: number }> {
  const seen = new Set<string>();
  const kept: Buffer[] = [];
  for (const raw of raws) {
    const id = (await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true })).messageId;
    if (id && seen.has(id)) continue;
    if (id) seen.add(id);
    kept.push(raw);
  }
  return { kept, dropped: raws.length - kept.length };
}

/**
 * Copy `k` of a message: the ids of its Message-ID, In-Reply-To and References headers suffixed
 * `.k` (addresses stay as they are: the senders are the same people), and a header saying so.
 */
function copyOf(raw: Buffer, k: number): Buffer {
  const text = raw.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const head = end < 0 ? text : text.slice(0, end);
  const body = end < 0 ? '' : text.slice(end);
  // Header fields with their folded continuation lines.
  const renamed = head.replace(/^(message-id|in-reply-to|references):(.*(?:\r?\n[ \t].*)*)/gim, (field) =>
    field.replace(/<([^<>\s@]+)@([^<>\s]+)>/g, `<$1.${k}@$2>`),
  );
  return Buffer.from(`X-Bench-Copy: ${k}\r\n${renamed}${body}`, 'latin1');
}

async function imap(d: Dovecot): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: d.host,
    port: d.port,
    secure: false,
    auth: { user: d.user, pass: d.password },
    logger: false,
  });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** The floor: every message of the INBOX fetched (source) in batches of 50, as the sync fetches them. */
async function fetchFloor(d: Dovecot): Promise<{ n: number; s: number }> {
  const client = await imap(d);
  const lock = await client.getMailboxLock('INBOX');
  const started = performance.now();
  let n = 0;
  try {
    const uids = ((await client.search({ all: true }, { uid: true })) || []).sort((a, b) => a - b);
    for (let i = 0; i < uids.length; i += 50) {
      for await (const msg of client.fetch(
        uids.slice(i, i + 50).join(','),
        { uid: true, source: true },
        { uid: true },
      ))
        if (msg.source) n++;
    }
  } finally {
    lock.release();
    await client.logout();
  }
  return { n, s: (performance.now() - started) / 1000 };
}

async function main() {
  const lines: string[] = [];
  const say = (line: string) => {
    console.log(line);
    lines.push(line);
  };
  const all = corpus();
  const { kept: messages, dropped } = await distinct(all);
  say(
    `corpus: ${all.length} real messages (mbox + notmuch-corpus), ${messages.length} distinct Message-IDs ` +
      `(${dropped} further copies of a Message-ID left out), replayed to ${N} distinct messages`,
  );

  const dovecot = await startDovecot('bench@cairn.test', 'bench-imap-1');
  const server = await startBenchServer(SERVER_URL, DB_NAME);
  const rssSamples: number[] = [];
  try {
    // ---- Append N messages to Dovecot over one IMAP connection. ----
    const appender = await imap(dovecot);
    const appendStarted = performance.now();
    for (let i = 0; i < N; i++) {
      const k = Math.floor(i / messages.length);
      await appender.append('INBOX', copyOf(messages[i % messages.length]!, k));
    }
    await appender.logout();
    const appendS = (performance.now() - appendStarted) / 1000;
    say(`append to Dovecot: ${N} messages in ${appendS.toFixed(1)} s (${(N / appendS).toFixed(0)}/s)`);

    const floor = await fetchFloor(dovecot);
    const floorRate = floor.n / floor.s;
    say(
      `floor (imapflow fetch alone): ${floor.n} messages in ${floor.s.toFixed(1)} s = ${floorRate.toFixed(0)} messages/s`,
    );

    // ---- Cairn's sync. ----
    const { orgId, userId, cookie } = await signUpBench(
      server.base,
      'Inbox Bench',
      'inbox-bench@bench.example',
    );
    const channelRes = await fetch(`${server.base}/api/v1/channels`, {
      method: 'POST',
      headers: { cookie, origin: server.base, 'content-type': 'application/json' },
      body: JSON.stringify({
        kind: 'email',
        name: 'Bench mailbox',
        address: 'bench@cairn.test',
        smtp: { host: '127.0.0.1', port: 2525 },
        imap: {
          host: dovecot.host,
          port: dovecot.port,
          secure: false,
          user: dovecot.user,
          password: dovecot.password,
        },
        sync_days: 3650,
      }),
    });
    if (!channelRes.ok) throw new Error(`channel: ${channelRes.status} ${await channelRes.text()}`);
    const channelId = ((await channelRes.json()) as { id: string }).id;
    const raw = await seedMailableContacts(server.dbUrl, orgId, userId, 20_000, 'Bench', 'person');

    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const sampler = setInterval(() => rssSamples.push(process.memoryUsage().rss), 50);
    const syncStarted = performance.now();
    const ctx = { orgId, actor: { type: 'system' as const, id: null } };
    const result = await syncMailbox(server.services, ctx, channelId);
    const syncS = (performance.now() - syncStarted) / 1000;
    clearInterval(sampler);
    const peak = Math.max(rssBefore, ...rssSamples, process.resourceUsage().maxRSS * 1024);
    const rate = result.fetched / syncS;
    const { rows: counts } = await raw.query(
      `select (select count(*) from messages where org_id = $1)::int as messages,
              (select count(*) from conversations where org_id = $1)::int as conversations`,
      [orgId],
    );
    say(
      `Cairn sync: fetched ${result.fetched}, stored ${result.stored}, rejected ${result.rejected} in ${syncS.toFixed(1)} s ` +
        `= ${rate.toFixed(0)} messages/s (goal >= 200: ${rate >= 200 ? 'PASS' : 'FAIL'}); ` +
        `${counts[0].messages} messages in ${counts[0].conversations} conversations`,
    );
    say(
      `messages lost (appended, fetched, neither stored nor rejected): ${N - result.stored - result.rejected}`,
    );
    say(
      `peak RSS of the process (bench + Cairn): ${mb(peak)} MB, ${mb(rssBefore)} MB before the sync ` +
        `(goal < 300 MB: ${peak < 300 * 1_048_576 ? 'PASS' : 'FAIL'}); Cairn at ${((rate / floorRate) * 100).toFixed(0)}% of the IMAP floor`,
    );

    // ---- The inbox list at CONVERSATIONS conversations. ----
    const t0 = performance.now();
    await raw.query(
      `insert into conversations (org_id, channel_id, contact_id, counterpart, subject, status, assignee_id,
                                  unread_count, last_message_at, last_preview)
       select $1, $2, case when g % 2 = 0 then c.id end, 'list' || g || '@bench.example', 'Subject ' || g,
              case when g % 5 = 0 then 'closed' else 'open' end,
              case when g % 3 = 0 then $3::text end, g % 4,
              now() - (g || ' seconds')::interval * 37, 'Preview of message ' || g
         from generate_series(1, $4::int) g
         left join lateral (select id from contacts where org_id = $1 and email = 'person' || (1 + g % 20000) || '@bench.example') c on true`,
      [orgId, channelId, userId, CONVERSATIONS],
    );
    await raw.query('vacuum (analyze) conversations');
    await raw.query('vacuum (analyze) contacts');
    say(`loaded ${CONVERSATIONS} conversations in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const get = async (url: string) => {
      const started = performance.now();
      const res = await fetch(`${server.base}${url}`, { headers: { cookie } });
      const body = (await res.json()) as { data: unknown[]; next_cursor: string | null };
      if (!res.ok || body.data.length === 0) throw new Error(`${url}: ${res.status}`);
      return { ms: performance.now() - started, body };
    };
    // A deep page: 20 pages in by cursor.
    let cursor: string | null = null;
    for (let i = 0; i < 20; i++) {
      const { body } = await get(
        `/api/v1/conversations?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      cursor = body.next_cursor;
    }
    const cases: [string, string][] = [
      ['first page, open (the default)', '/api/v1/conversations?limit=50'],
      ['mine', '/api/v1/conversations?limit=50&filter=mine'],
      ['unassigned', '/api/v1/conversations?limit=50&filter=unassigned'],
      ['any status', '/api/v1/conversations?limit=50&status=any'],
      ['page 21 by cursor', `/api/v1/conversations?limit=50&cursor=${encodeURIComponent(cursor ?? '')}`],
    ];
    say(
      `inbox list, ${CONVERSATIONS} conversations, ${TIMED} timed requests after ${WARM} warm-up, sequential:`,
    );
    say('| case | p50 ms | p95 ms | p99 ms | goal p95 < 50 ms |');
    say('|---|---|---|---|---|');
    for (const [name, url] of cases) {
      for (let i = 0; i < WARM; i++) await get(url);
      const times: number[] = [];
      for (let i = 0; i < TIMED; i++) times.push((await get(url)).ms);
      const p95 = pct(times, 95);
      say(
        `| ${name} | ${fmt(pct(times, 50))} | ${fmt(p95)} | ${fmt(pct(times, 99))} | ${p95 < 50 ? 'PASS' : 'FAIL'} |`,
      );
    }
    const floorTimes: number[] = [];
    for (let i = 0; i < WARM + TIMED; i++) {
      const started = performance.now();
      await raw.query(
        `select id from conversations where org_id = $1 order by last_message_at desc nulls last, id desc nulls last limit 50`,
        [orgId],
      );
      if (i >= WARM) floorTimes.push(performance.now() - started);
    }
    say(
      `| floor: keyset page of 50 in raw SQL | ${fmt(pct(floorTimes, 50))} | ${fmt(pct(floorTimes, 95))} | ${fmt(pct(floorTimes, 99))} | |`,
    );
    await raw.end();
  } finally {
    await server.close();
    await dovecot.stop();
  }
  const load = loadAverageNote();
  say(load);
  if (DEFAULT_SCALE)
    writeResultsSection(
      'inbox',
      [
        '<!-- inbox:start -->',
        '## Inbox: mailbox sync and the conversations list (`inbox.bench.ts`)',
        '',
        `Commit ${commitOf()}, ${new Date().toISOString().slice(0, 10)}, PostgreSQL server, Dovecot on loopback; ${load}.`,
        '',
        '```',
        ...lines.filter((l) => !l.startsWith('|') && l !== load),
        '```',
        '',
        ...lines.filter((l) => l.startsWith('|')),
        '<!-- inbox:end -->',
      ].join('\n'),
    );
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(0);
  },
);
