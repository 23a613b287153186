// Every table, for Drizzle's query builder and drizzle-kit's migration generator.
export * from '../platform/auth/auth.schema.js';
export * from '../platform/events/event.schema.js';
