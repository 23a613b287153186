// Every table, for Drizzle's query builder and drizzle-kit's migration generator.

export * from '../modules/companies/company.schema.js';
export * from '../modules/contacts/contact.schema.js';
export * from '../modules/custom-fields/custom-field.schema.js';
export * from '../modules/imports/import.schema.js';
export * from '../modules/merges/duplicate.schema.js';
export * from '../modules/merges/merge.schema.js';
export * from '../modules/notes/note.schema.js';
export * from '../modules/opportunities/opportunity.schema.js';
export * from '../modules/pipelines/pipeline.schema.js';
export * from '../modules/tags/tag.schema.js';
export * from '../modules/tasks/task.schema.js';
export * from '../modules/views/view.schema.js';
export * from '../platform/auth/auth.schema.js';
export * from '../platform/events/event.schema.js';
export * from '../platform/http/idempotency.schema.js';
