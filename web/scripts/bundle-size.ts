/**
 * The performance budget of the web app: the JavaScript a browser must load before the first
 * screen (the entry script of `dist/index.html` and every module it preloads), gzipped, at most
 * 200 KB. Prints the figure per file and in total; exits 1 above the budget.
 *
 *   npm run bundle-size -w web     (after `npm run build -w web`)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUDGET_BYTES = 200 * 1024;
const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '../dist');
const html = readFileSync(path.join(dist, 'index.html'), 'utf8');
const scripts = [
  ...html.matchAll(/<script[^>]+type="module"[^>]+src="([^"]+)"/g),
  ...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"/g),
].map((m) => m[1]!);
if (scripts.length === 0) {
  console.error('No entry script found in web/dist/index.html: build the app first (npm run build -w web)');
  process.exit(1);
}
let total = 0;
for (const src of new Set(scripts)) {
  const bytes = gzipSync(readFileSync(path.join(dist, src.replace(/^\//, ''))), { level: 9 }).length;
  total += bytes;
  console.log(`${(bytes / 1024).toFixed(1).padStart(8)} KB gz  ${src}`);
}
const verdict = total <= BUDGET_BYTES ? 'within' : 'OVER';
console.log(
  `${(total / 1024).toFixed(1).padStart(8)} KB gz  initial JavaScript, ${verdict} the 200 KB budget`,
);
if (total > BUDGET_BYTES) process.exit(1);
