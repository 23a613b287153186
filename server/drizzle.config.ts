import { defineConfig } from 'drizzle-kit';

// `npm run db:generate -w server` writes a migration for schema changes; RLS, roles and grants go
// in custom migrations (`drizzle-kit generate --custom --name ...`), which drizzle-kit cannot emit.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './migrations',
  casing: 'snake_case',
});
