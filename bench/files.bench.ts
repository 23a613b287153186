/**
 * Files benchmark (issue 26): one upload of a large file (100 MB by default) through the real HTTP
 * API on loopback, multipart, into the files pipeline (quarantine, type check, store). The upload
 * must stream: the server's memory (this process's RSS, sampled every 20 ms while the upload runs;
 * the client here streams its body from one 64 KiB block) may grow by less than 50 MB.
 *
 *   npx tsx bench/files.bench.ts [--mb=100] [--url=postgres://host:port]
 *
 * Prints the figures; a full-size run (--mb=100 or more) rewrites its section of bench/RESULTS.md.
 * Exits 0 whatever the figures.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { signUpBench, startBenchServer } from './bench-server.js';
import { loadAverageNote } from './machine.js';

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const MB = Number(arg('mb') ?? 100);
const SERVER_URL = (arg('url') ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const DB_NAME = 'cairn_bench_files';
const RESULTS_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'RESULTS.md');
const TARGET_MB = 50;

/** A multipart body of `bytes` bytes of text lines, produced 64 KiB at a time. */
function multipartBody(boundary: string, bytes: number): ReadableStream<Uint8Array> {
  const line = 'Cairn files bench: a line of plain text that repeats to fill the file.\n';
  const block = Buffer.from(line.repeat(Math.ceil(65_536 / line.length)).slice(0, 65_536));
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  let sent = 0;
  let phase: 'head' | 'body' | 'tail' | 'done' = 'head';
  return new ReadableStream({
    pull(controller) {
      if (phase === 'head') {
        controller.enqueue(new Uint8Array(head));
        phase = 'body';
      } else if (phase === 'body') {
        const n = Math.min(block.length, bytes - sent);
        controller.enqueue(new Uint8Array(block.subarray(0, n)));
        sent += n;
        if (sent >= bytes) phase = 'tail';
      } else if (phase === 'tail') {
        controller.enqueue(new Uint8Array(tail));
        phase = 'done';
      } else controller.close();
    },
  });
}

async function main() {
  const bytes = MB * 1024 * 1024;
  const server = await startBenchServer(SERVER_URL, DB_NAME, {
    env: { FILE_MAX_BYTES: String(bytes + 1024 * 1024) },
  });
  const { base } = server;
  try {
    const me = await signUpBench(base, 'Files bench', 'bench@files.test');
    const headers = { cookie: me.cookie, origin: base, 'content-type': 'application/json' };
    const contact = (await (
      await fetch(`${base}/api/v1/contacts`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ first_name: 'Bench' }),
      })
    ).json()) as { id: string };
    global.gc?.();
    await new Promise((r) => setTimeout(r, 200));
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    const boundary = `----cairnbench${Date.now()}`;
    const t0 = performance.now();
    const res = await fetch(`${base}/api/v1/files?object=contact&id=${contact.id}`, {
      method: 'POST',
      headers: {
        cookie: me.cookie,
        origin: base,
        'content-type': `multipart/form-data; boundary=${boundary}`,
      },
      body: multipartBody(boundary, bytes),
      duplex: 'half',
    } as RequestInit);
    const answer = (await res.json()) as { status?: string; size?: number; code?: string };
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${JSON.stringify(answer)}`);
    const growthMb = (peak - baseline) / 2 ** 20;
    const verdict = growthMb < TARGET_MB ? 'PASS' : 'FAIL';
    const lines = [
      `upload of ${MB} MB: ${seconds.toFixed(1)} s (${(MB / seconds).toFixed(1)} MB/s), stored as ${answer.status}, ${answer.size} bytes`,
      `memory: baseline RSS ${(baseline / 2 ** 20).toFixed(0)} MB, peak ${(peak / 2 ** 20).toFixed(0)} MB, growth ${growthMb.toFixed(1)} MB (target < ${TARGET_MB} MB: ${verdict})`,
    ];
    console.log(lines.join('\n'));
    if (MB < 100) {
      console.log('(a run below 100 MB checks the script; RESULTS.md is left alone)');
      return;
    }
    const commit = (() => {
      try {
        return execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim();
      } catch {
        return 'unknown';
      }
    })();
    const section = [
      '<!-- files:start -->',
      '## Files upload (issue 26)',
      '',
      `${new Date().toISOString().slice(0, 10)}, commit ${commit}; ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores; PostgreSQL ${server.version}; Node ${process.version}; ${loadAverageNote()}.`,
      '',
      ...lines.map((l) => `- ${l}`),
      '<!-- files:end -->',
    ].join('\n');
    const current = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : '# Benchmark results\n';
    const next = /<!-- files:start -->[\s\S]*<!-- files:end -->/.test(current)
      ? current.replace(/<!-- files:start -->[\s\S]*<!-- files:end -->/, section)
      : `${current.trimEnd()}\n\n${section}\n`;
    writeFileSync(RESULTS_FILE, next);
  } finally {
    await server.close();
  }
}

await main();
