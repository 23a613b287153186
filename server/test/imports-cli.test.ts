import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { cairn as cairnCli, freshCliEnv } from './kit/cli.js';
import { sharedPath } from './kit/shared-data.js';

const freshEnv = () => freshCliEnv('cairn-import-cli');
const cairn = (args: string[], env: Record<string, string>) => cairnCli(args, env, 180_000);

// Each case starts the CLI as a process (tsx start-up, migrations): slow on a busy 2-core machine.
vi.setConfig({ testTimeout: 240_000 });

describe('cairn import', () => {
  it('imports a file with a mapping file, printing progress and the summary; a second run skips duplicates', async () => {
    const env = await freshEnv();
    const org = await cairn(
      ['create-org', '--name', 'CLI Importers', '--admin-email', 'cli@example.com'],
      env,
    );
    expect(org.code, org.stderr).toBe(0);
    const mapping = path.join(env.dataDir!, 'mapping.json');
    writeFileSync(
      mapping,
      JSON.stringify({ columns: { Description: 'notes', Founded: null }, dedup: 'skip' }),
    );
    const file = sharedPath('crm/datablist-samples/organizations-100.csv');
    const args = ['import', '--org', 'CLI Importers', '--object', 'companies', file, '--mapping', mapping];
    const first = await cairn(args, env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      /Import [0-9a-f-]{36}: 100 rows of organizations-100\.csv into CLI Importers/,
    );
    expect(first.stdout).toContain('Description -> notes');
    expect(first.stdout).toContain('Name -> name');
    expect(first.stdout).toMatch(/100\/100 rows \(\d+ rows\/s\)/);
    // organizations-100 has two companies sharing a domain under different names: both are created.
    const [, created, skipped] =
      /completed: (\d+) created, 0 updated, (\d+) skipped, 0 failed/.exec(first.stdout) ?? [];
    expect(Number(created) + Number(skipped)).toBe(100);
    expect(Number(created)).toBeGreaterThan(90);
    const second = await cairn(args, env);
    expect(second.stdout).toMatch(/completed: 0 created, 0 updated, 100 skipped, 0 failed/);
  });

  it('refuses an unknown object or organization with exit code 2', async () => {
    const env = await freshEnv();
    const bad = await cairn(['import', '--org', 'Nope', '--object', 'widgets', 'x.csv'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--object');
    const file = sharedPath('crm/datablist-samples/organizations-100.csv');
    const noOrg = await cairn(['import', '--org', 'Nope', '--object', 'companies', file], env);
    expect(noOrg.code).toBe(2);
    expect(noOrg.stderr).toContain('no organization Nope');
  });
});
