import { defineConfig } from 'drizzle-kit';

// `npm run db:generate -w server` writes a migration for schema changes; RLS, roles and grants go
// in custom migrations (`drizzle-kit generate --custom --name ...`), which drizzle-kit cannot emit.
export default defineConfig({
  dialect: 'postgresql',
  // Every table lives in a `*.schema.ts` file beside its module or platform part.
  schema: ['./src/modules/*/*.schema.ts', './src/platform/*/*.schema.ts'],
  out: './migrations',
  casing: 'snake_case',
});
