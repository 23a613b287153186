#!/usr/bin/env node
import { Command, Option } from 'commander';
import { ConfigError, loadConfig } from './config.js';
import { DataDirLockedError } from './db/lock.js';

/**
 * The `cairn` command line. Every command reads the same validated configuration (environment
 * and `.env`); `--help` on any command describes it.
 */
const program = new Command('cairn')
  .description('Cairn CRM: a self-hostable, multi-tenant CRM')
  .showHelpAfterError()
  .enablePositionalOptions();

program
  .command('start', { isDefault: true })
  .description('Run the API, the web app and the job worker in one process (the default)')
  .option(
    '--demo',
    'on first start, also create a demo organization with generated data and print its sign-in',
  )
  .action((options: { demo?: boolean }) =>
    run(async () =>
      (await import('./runtime.js')).runProcess({ http: true, worker: true, demo: Boolean(options.demo) }),
    ),
  );

program
  .command('serve')
  .description('Run the API and the web app only (scale out: several behind a load balancer)')
  .option(
    '--workers <n>',
    'HTTP processes sharing the port (node:cluster; a PostgreSQL server is required above 1)',
    '1',
  )
  .action((options: { workers: string }) =>
    run(async () => {
      const { runProcess, runCluster } = await import('./runtime.js');
      const workers = Number(options.workers);
      if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
        throw new ConfigError('--workers', 'must be a whole number from 1 to 64');
      }
      const cluster = (await import('node:cluster')).default;
      if (workers > 1 && cluster.isPrimary) return runCluster(workers);
      return runProcess({ http: true, worker: false });
    }),
  );

program
  .command('worker')
  .description('Run the job consumers only (scale out: several against one PostgreSQL server)')
  .action(() => run(async () => (await import('./runtime.js')).runProcess({ http: false, worker: true })));

program
  .command('migrate')
  .description('Apply the pending database migrations, then exit')
  .action(() => run(async () => (await import('./commands/db.command.js')).migrateCommand()));

program
  .command('db')
  .description('Database commands')
  .command('status')
  .description(
    'List applied, pending and unknown migrations; exit 1 when the database and this code disagree',
  )
  .action(() => run(async () => (await import('./commands/db.command.js')).statusCommand()));

const backup = program
  .command('backup')
  .description(
    'Back up the whole database while Cairn serves (pg_dump in one snapshot, or the embedded data directory), with a manifest of every table',
  )
  .option('--dir <dir>', 'where to write it (default BACKUP_DIR, or DATA_DIR/backups)')
  .option('--keep <n>', 'then keep only the newest n backups in that directory')
  .action((options: { dir?: string; keep?: string }) =>
    run(async () => (await import('./commands/backup.command.js')).backupCommand(options)),
  );
backup
  .command('list')
  .description('List the backups in the backup directory, newest first')
  .option('--dir <dir>', 'the directory (default BACKUP_DIR, or DATA_DIR/backups)')
  .action((options: { dir?: string }) =>
    run(async () => (await import('./commands/backup.command.js')).listBackupsCommand(options)),
  );

program
  .command('restore')
  .description(
    'Restore a backup into an empty database (DATABASE_URL or --database-url; else an empty DATA_DIR) and verify every table against its manifest',
  )
  .argument(
    '<file>',
    'the backup file (.dump or .tar.gz; its .manifest.json beside it), or s3:<file name> to fetch it from BACKUP_S3_BUCKET',
  )
  .option('--database-url <url>', 'the empty PostgreSQL database to restore into (default DATABASE_URL)')
  .action((file: string, options: { databaseUrl?: string }) =>
    run(async () => (await import('./commands/backup.command.js')).restoreCommand(file, options)),
  );

program
  .command('demo')
  .description(
    'Create a demo organization with generated data (deterministic for a seed) and print its sign-in',
  )
  .option('--seed <n>', 'the random seed', '2026')
  .option('--email <email>', "the demo admin's e-mail (default: a generated one)")
  .action((options: { seed?: string; email?: string }) =>
    run(async () => (await import('./commands/demo.command.js')).demoCommand(options)),
  );

program
  .command('import')
  .description('Import a CSV file into an organization (the same import as the API), printing progress')
  .argument('<file>', 'the CSV file')
  .requiredOption('--org <org>', 'the organization id or exact name')
  .requiredOption('--object <object>', 'contacts, companies, opportunities, tasks or notes')
  .option('--mapping <file>', 'JSON: {"columns": {"<header>": "<target>"}, "dedup": "...", "options": {...}}')
  .option('--dedup <mode>', 'skip, update_empty or overwrite (default: skip)')
  .option('--as <email>', "the member the import acts for (default: the organization's first admin)")
  .action(
    (file: string, options: { org: string; object: string; mapping?: string; dedup?: string; as?: string }) =>
      run(async () => (await import('./commands/import.command.js')).importCommand(file, options)),
  );

program
  .command('create-org')
  .description('Create an organization and its first admin, and print a one-time password for them')
  .requiredOption('--name <name>', 'the organization name')
  .requiredOption('--admin-email <email>', "the first admin's e-mail")
  .addOption(new Option('--admin-name <name>', "the first admin's display name"))
  .action((options: { name: string; adminEmail: string; adminName?: string }) =>
    run(async () => (await import('./commands/org.command.js')).createOrgCommand(options)),
  );

const org = program
  .command('org')
  .description('One organization on its own: export, restore, delete with every row and file');
org
  .command('export')
  .description('Export one organization (every row of every table, and its files) into a .tar.gz')
  .argument('<org>', 'the organization id, slug or exact name')
  .option('--file <file>', 'where to write it (default BACKUP_DIR/cairn-org-<slug>-<time>.tar.gz)')
  .option(
    '--with-credentials',
    "include the members' password hashes and second factors (to move it to another install)",
  )
  .action((name: string, options: { file?: string; withCredentials?: boolean }) =>
    run(async () =>
      (await import('./commands/org-archive.command.js')).exportOrganizationCommand(name, options),
    ),
  );
org
  .command('restore')
  .description(
    'Restore an exported organization into this install and verify every table against its archive',
  )
  .argument('<file>', 'the archive (.tar.gz) written by `cairn org export`')
  .action((file: string) =>
    run(async () => (await import('./commands/org-archive.command.js')).restoreOrganizationCommand(file)),
  );
org
  .command('purge')
  .description('Delete an organization now, with every row and file (export it first)')
  .argument('<org>', 'the organization id, slug or exact name')
  .option('--confirm <slug>', "the organization's slug, retyped")
  .action((name: string, options: { confirm?: string }) =>
    run(async () =>
      (await import('./commands/org-archive.command.js')).purgeOrganizationCommand(name, options),
    ),
  );

const operator = program
  .command('operator')
  .description(
    'Operators of the install: a role above organizations (usage, plans and limits, suspension), set only here',
  );
operator
  .command('grant')
  .description('Make the user with this e-mail an operator of the install')
  .argument('<email>', "the user's e-mail (they must have signed up)")
  .action((email: string) =>
    run(async () => (await import('./commands/operator.command.js')).operatorCommand('grant', email)),
  );
operator
  .command('revoke')
  .description('Take the operator role from the user with this e-mail')
  .argument('<email>', "the user's e-mail")
  .action((email: string) =>
    run(async () => (await import('./commands/operator.command.js')).operatorCommand('revoke', email)),
  );
operator
  .command('list')
  .description('List the operators of the install')
  .action(() => run(async () => (await import('./commands/operator.command.js')).operatorCommand('list')));

/** Runs a command; expected failures print one clear line and exit non-zero. */
async function run(fn: () => Promise<number | undefined>): Promise<void> {
  try {
    const code = await fn();
    if (typeof code === 'number') process.exitCode = code;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof DataDirLockedError) {
      console.error(`cairn: ${error.message}`);
      process.exit(2);
    }
    console.error(error);
    process.exit(1);
  }
}

// Validate the configuration before any command, so a bad value stops with its name.
program.hook('preAction', () => {
  try {
    loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`cairn: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
});

await program.parseAsync(process.argv);
