/**
 * The house rules for server/src, checked by test/architecture.test.ts (and `npx depcruise src`):
 * the floor (`platform/`, `db/`) stands on nothing in `modules/`, a module reaches another only
 * through its public functions (never its tables), and no import goes round in a circle.
 * @type {import('dependency-cruiser').IConfiguration}
 */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle: one of its arrows must go (move the code down, or register/emit instead).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'floor-not-on-modules',
      severity: 'error',
      comment: 'platform/ and db/ are the floor: they may not import anything from modules/.',
      from: { path: '^src/(platform|db)/' },
      to: { path: '^src/modules/' },
    },
    {
      name: 'floor-not-on-root',
      severity: 'error',
      comment:
        'platform/, db/ and modules/ may not import the composition root (app, runtime, main, commands).',
      from: { path: '^src/(platform|db|modules)/' },
      to: { path: '^src/(app|runtime|main)\\.ts$|^src/commands/' },
    },
    {
      name: 'no-foreign-schema',
      severity: 'error',
      comment:
        "A module may not import another module's schema file (its tables): call that module's service.",
      // A schema file may name another's table in a foreign key: that is the database's own arrow.
      from: { path: '^src/modules/([^/]+)/', pathNot: '\\.schema\\.ts$' },
      to: { path: '^src/modules/[^/]+/[^/]+\\.schema\\.ts$', pathNot: '^src/modules/$1/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
