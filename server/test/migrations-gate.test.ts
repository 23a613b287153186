import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The migration gate (issue 26): the drizzle schema files and server/migrations must agree. A
// schema change committed without its migration would reach a database that lacks the column
// and fail at run time; here it fails the suite instead. The gate asks drizzle-kit what it would
// generate from the schema against a copy of the migrations (their last snapshot): nothing, when
// they agree. drizzle-kit runs with no standard input, so a change it would have to ask about
// (a rename) counts as a disagreement too.

const serverDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Under server/node_modules so that a schema file written here resolves drizzle-orm like ours do.
const work = path.join(serverDir, 'node_modules', '.cache', `cairn-migration-gate-${process.pid}`);

type Gate = { agree: boolean; generated: string[]; output: string };

/** Runs drizzle-kit generate on `schema` (globs relative to server/) against a copy of the migrations. */
function gate(name: string, schema: string[]): Gate {
  const dir = path.join(work, name);
  const out = path.join(dir, 'migrations');
  mkdirSync(dir, { recursive: true });
  cpSync(path.join(serverDir, 'migrations'), out, { recursive: true });
  const before = new Set(readdirSync(out));
  const config = path.join(dir, 'drizzle.config.ts');
  // drizzle-kit wants `out` relative to its working directory (an absolute one fails, exit 0).
  const settings = {
    dialect: 'postgresql',
    schema,
    out: `./${path.relative(serverDir, out)}`,
    casing: 'snake_case',
  };
  writeFileSync(config, `export default ${JSON.stringify(settings)};\n`);
  const run = spawnSync('npx', ['drizzle-kit', 'generate', '--config', config, '--name', 'gate'], {
    cwd: serverDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: 60_000,
  });
  const generated = readdirSync(out).filter((f) => !before.has(f) && f.endsWith('.sql'));
  // Its own stack lines name a bundle whose source map vitest cannot read: keep the messages only.
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}`
    .split('\n')
    .filter((line) => !/^\s+at /.test(line))
    .join('\n');
  const clean = /No schema changes, nothing to migrate/.test(output);
  return { agree: run.status === 0 && generated.length === 0 && clean, generated, output };
}

const SCHEMA = ['./src/modules/*/*.schema.ts', './src/platform/*/*.schema.ts'];

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('migration gate', () => {
  it('the schema files and server/migrations agree (a schema change needs `npm run db:generate -w server`)', () => {
    const result = gate('current', SCHEMA);
    expect(result.generated, result.output).toEqual([]);
    expect(result.agree, result.output).toBe(true);
  }, 90_000);

  it('a table added to the schema without a migration is caught', () => {
    const extra = path.join(work, 'extra');
    mkdirSync(extra, { recursive: true });
    writeFileSync(
      path.join(extra, 'gate-probe.schema.ts'),
      "import { pgTable, text } from 'drizzle-orm/pg-core';\n" +
        "export const gateProbe = pgTable('gate_probe', { id: text().primaryKey() });\n",
    );
    const result = gate('probe', [...SCHEMA, path.relative(serverDir, path.join(extra, '*.schema.ts'))]);
    expect(result.agree, result.output).toBe(false);
    expect(result.generated.length, result.output).toBe(1);
    expect(existsSync(path.join(work, 'probe', 'migrations', result.generated[0] ?? ''))).toBe(true);
  }, 90_000);
});
