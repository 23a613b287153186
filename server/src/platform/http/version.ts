import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readMigrations } from '../../db/migrate.js';

export type VersionInfo = { version: string; commit: string | null; schemaVersion: string | null };

/** The running code's version, git commit (`GIT_COMMIT` or `git rev-parse`) and newest migration. */
export function readVersionInfo(): VersionInfo {
  const pkg = JSON.parse(
    readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8'),
  );
  let commit: string | null = process.env.GIT_COMMIT ?? null;
  if (!commit) {
    try {
      commit = execFileSync('git', ['rev-parse', 'HEAD'], {
        cwd: fileURLToPath(new URL('.', import.meta.url)),
        stdio: ['ignore', 'pipe', 'ignore'],
      })
        .toString()
        .trim();
    } catch {
      commit = null;
    }
  }
  return { version: pkg.version, commit, schemaVersion: readMigrations().at(-1)?.tag ?? null };
}
