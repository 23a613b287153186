/**
 * Files benchmark (issue 26): one upload of a large file (100 MB by default) through the real HTTP
 * API on loopback, multipart, into the files pipeline (quarantine, type check, store). The upload
 * must stream: the server's memory (this process's RSS, sampled every 20 ms while the upload runs;
 * the client is curl in a child process, streaming a generated file) may grow by less than 50 MB.
 *
 *   npx tsx bench/files.bench.ts [--mb=100] [--url=postgres://host:port]
 *
 * Prints the figures; a full-size run (--mb=100 or more) rewrites its section of bench/RESULTS.md.
 * Exits 0 whatever the figures.
 */
import { execFile } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { signUpBench, startBenchServer } from './bench-server.js';
import { commitOf, loadAverageNote, writeResultsSection } from './machine.js';

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const MB = Number(arg('mb') ?? 100);
const SERVER_URL = (arg('url') ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const DB_NAME = 'cairn_bench_files';
const TARGET_MB = 50;

/** Writes a plain-text file of `bytes` bytes (one 64 KiB block written again and again). */
function writeBigFile(file: string, bytes: number) {
  const line = 'Cairn files bench: a line of plain text that repeats to fill the file.\n';
  const block = Buffer.from(line.repeat(Math.ceil(65_536 / line.length)).slice(0, 65_536));
  const fd = openSync(file, 'w');
  try {
    for (let sent = 0; sent < bytes; sent += block.length)
      writeSync(fd, block, 0, Math.min(block.length, bytes - sent));
  } finally {
    closeSync(fd);
  }
}

/** curl in a child process uploads the file as multipart (so this process's memory is the server's). */
function curlUpload(url: string, cookie: string, origin: string, file: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    execFile(
      'curl',
      [
        '-sS',
        '-o',
        '-',
        '-w',
        '\n%{http_code}',
        '-H',
        `cookie: ${cookie}`,
        '-H',
        `origin: ${origin}`,
        '-F',
        `file=@${file};type=text/plain;filename=big.txt`,
        url,
      ],
      { maxBuffer: 1024 * 1024 },
      (error, stdout) => {
        if (error) return reject(error);
        const cut = stdout.lastIndexOf('\n');
        resolve({ status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) });
      },
    );
  });
}

async function main() {
  const bytes = MB * 1024 * 1024;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'cairn-files-bench-'));
  const bigFile = path.join(tmp, 'big.txt');
  writeBigFile(bigFile, bytes);
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
    const t0 = performance.now();
    const res = await curlUpload(
      `${base}/api/v1/files?object=contact&id=${contact.id}`,
      me.cookie,
      base,
      bigFile,
    );
    const answer = JSON.parse(res.body) as { status?: string; size?: number; code?: string };
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
    const commit = commitOf();
    const section = [
      '<!-- files:start -->',
      '## Files upload (issue 26)',
      '',
      `${new Date().toISOString().slice(0, 10)}, commit ${commit}; ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores; PostgreSQL ${server.version}; Node ${process.version}; ${loadAverageNote()}.`,
      '',
      ...lines.map((l) => `- ${l}`),
      '<!-- files:end -->',
    ].join('\n');
    writeResultsSection('files', section);
  } finally {
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
