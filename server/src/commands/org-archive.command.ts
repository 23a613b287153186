import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../config.js';
import { type Database, openDatabase } from '../db/client.js';
import { stamp } from '../platform/backup/backup.js';
import {
  exportOrganization,
  OrganizationArchiveError,
  purgeOrganization,
  restoreOrganization,
} from '../platform/backup/organization-archive.js';
import { fileStoreOf } from '../platform/files/file-store.js';
import { createJobQueue } from '../platform/jobs/job-queue.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The organization named by id, slug or exact name; undefined when none or several match. */
async function findOrganization(
  database: Database,
  org: string,
): Promise<{ id: string; name: string; slug: string } | undefined> {
  const { rows } = await database.raw.query<{ id: string; name: string; slug: string }>(
    `select id, name, slug from organizations
      where ($2 and id = $1::text::uuid) or slug = $1 or name = $1 limit 2`,
    [org, UUID.test(org)],
  );
  return rows.length === 1 ? rows[0] : undefined;
}

async function withDatabase(fn: (database: Database) => Promise<number>): Promise<number> {
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    return await fn(database);
  } catch (error) {
    if (error instanceof OrganizationArchiveError) {
      console.error(`cairn: ${error.code}: ${error.message}`);
      return error.code === 'verify_failed' ? 1 : 2;
    }
    throw error;
  } finally {
    await database.close();
  }
}

/**
 * `cairn org export <org> [--file F] [--with-credentials]`: one organization, every row of every
 * tenant table and every stored file, into one `.tar.gz` (default in BACKUP_DIR). Runs while
 * Cairn serves on a PostgreSQL server; on the embedded database, stop Cairn first.
 */
export async function exportOrganizationCommand(
  org: string,
  options: { file?: string; withCredentials?: boolean },
): Promise<number> {
  const config = loadConfig();
  return withDatabase(async (database) => {
    const found = await findOrganization(database, org);
    if (!found) {
      console.error(`cairn: no single organization with the id, slug or name ${org}`);
      return 2;
    }
    const file = path.resolve(
      options.file ?? path.join(config.backupDir, `cairn-org-${found.slug}-${stamp(new Date())}.tar.gz`),
    );
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const manifest = await exportOrganization(database, found.id, file, {
      credentials: Boolean(options.withCredentials),
      fileStore: fileStoreOf(config),
    });
    const rows = manifest.tables.reduce((n, t) => n + t.rows, 0);
    console.log(`Exported ${found.name} (${found.id}) to ${file}`);
    console.log(
      `  ${manifest.tables.length} tables, ${rows.toLocaleString('en-US')} rows, ${manifest.users} users${manifest.credentials ? ' with their passwords and second factors' : ' (without passwords: they use "Forgot password" after a restore elsewhere)'}, ${manifest.files} files`,
    );
    return 0;
  });
}

/**
 * `cairn org restore <file>`: restores an exported organization into this install (its id must be
 * free: the same install after the organization was deleted, or another install at the same
 * migration), verifying the row count and checksum of every table before committing.
 */
export async function restoreOrganizationCommand(file: string): Promise<number> {
  const config = loadConfig();
  return withDatabase(async (database) => {
    const report = await restoreOrganization(database, path.resolve(file), {
      fileStore: fileStoreOf(config),
    });
    console.log(
      `Restored ${report.organization.name} (${report.organization.id}): ${report.tables} tables, ${report.rows.toLocaleString('en-US')} rows, ${report.users_created} new users, ${report.files} files, in ${report.duration_ms} ms`,
    );
    console.log('Verified: every table has the row count and checksum the archive recorded');
    return 0;
  });
}

/**
 * `cairn org purge <org> --confirm <slug>`: deletes an organization now, with every row and file
 * (what the worker does when a scheduled deletion's grace period ends). Export it first.
 */
export async function purgeOrganizationCommand(org: string, options: { confirm?: string }): Promise<number> {
  const config = loadConfig();
  return withDatabase(async (database) => {
    const found = await findOrganization(database, org);
    if (!found) {
      console.error(`cairn: no single organization with the id, slug or name ${org}`);
      return 2;
    }
    if (options.confirm !== found.slug) {
      console.error(`cairn: to delete ${found.name} with all its data, add --confirm ${found.slug}`);
      return 2;
    }
    const report = await purgeOrganization(
      database,
      found.id,
      fileStoreOf(config),
      createJobQueue(database, pino({ level: 'silent' }), config.queueSchema),
    );
    console.log(
      `Deleted ${found.name} (${found.id}): ${report.rows.toLocaleString('en-US')} rows in ${report.tables} tables, ${report.files} files, ${report.jobs} queued jobs dropped`,
    );
    return 0;
  });
}
