// The test kit: one place for what test files share. A CLI test imports './kit/cli.js' too.
export * from '../harness.js';
export * from './checks.js';
export * from './files.js';
export * from './imports.js';
export * from './mail.js';
export * from './organization.js';
export * from './records.js';
export * from './shared-data.js';
export * from './sign-up.js';
export * from './worker.js';
