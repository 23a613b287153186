import { loadConfig } from '../config.js';
import { openDatabase } from '../db/client.js';
import { migrate, migrationStatus } from '../db/migrate.js';

/** `cairn migrate`: applies pending migrations. */
export async function migrateCommand(): Promise<number> {
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const applied = await migrate(database);
    console.log(
      applied.length
        ? `Applied ${applied.length}: ${applied.join(', ')}`
        : 'Nothing to apply: the database is current',
    );
    return 0;
  } finally {
    await database.close();
  }
}

/** `cairn db status`: prints the ledger; exit 1 when the database and this code disagree. */
export async function statusCommand(): Promise<number> {
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const status = await migrationStatus(database);
    console.log(`database: ${database.kind === 'embedded' ? `embedded (${config.dataDir})` : 'server'}`);
    for (const m of status.applied) {
      const mark = status.unknown.includes(m.tag)
        ? 'unknown '
        : status.changed.includes(m.tag)
          ? 'changed '
          : 'applied ';
      console.log(`  ${mark} ${m.tag}  ${m.appliedAt}`);
    }
    for (const tag of status.pending) console.log(`  pending  ${tag}`);
    console.log(
      status.current
        ? 'status: current'
        : `status: out of step (${status.pending.length} pending, ${status.unknown.length} unknown, ${status.changed.length} changed)`,
    );
    return status.current ? 0 : 1;
  } finally {
    await database.close();
  }
}
