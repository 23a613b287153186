import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const RESULTS_FILE = path.join(BENCH_DIR, 'RESULTS.md');

/**
 * The load average (1, 5 and 15 minutes) as a benchmark's RESULTS.md header states it: on 2 cores,
 * other work on the machine (a load above 2) slows every figure of the run, the floor's included.
 */
export function loadAverageNote(): string {
  const [one, five, fifteen] = os.loadavg().map((l) => l.toFixed(1));
  return `load average at the end ${one} / ${five} / ${fifteen} (2 cores: above 2, other work on the machine slowed every figure, the floor's too)`;
}

/** The commit a benchmark ran on (short hash), or `unknown` outside a git checkout. */
export function commitOf(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: BENCH_DIR, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/**
 * Puts `section` (which starts with `<!-- key:start -->` and ends with `<!-- key:end -->`) into
 * bench/RESULTS.md in place of the benchmark's previous section, or at the end when it has none.
 */
export function writeResultsSection(key: string, section: string): void {
  const current = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : '# Benchmark results\n';
  const previous = new RegExp(`<!-- ${key}:start -->[\\s\\S]*<!-- ${key}:end -->`);
  const next = previous.test(current)
    ? current.replace(previous, () => section)
    : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(RESULTS_FILE, next);
}
