import pg from 'pg';
import type {} from 'vitest';

/**
 * With `DATABASE_URL` set, the suite runs against that PostgreSQL server, in a database of its
 * own created here and dropped afterwards, so it never touches the data already there.
 * Without it, each test file uses an in-memory embedded database (PGlite).
 */
export default async function setup({ provide }: { provide: (key: string, value: unknown) => void }) {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    provide('databaseUrl', '');
    return;
  }
  const name = `cairn_test_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  provide('databaseUrl', url.toString());
  provide('adminDatabaseUrl', serverUrl);
  return async () => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    await client.query(`drop database if exists ${name} with (force)`);
    await client.end();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    adminDatabaseUrl: string;
  }
}
