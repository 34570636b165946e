// Loaded into every test process (tap's node-arg in package.json), before any test code: the
// environment every test process, and so every process a test starts, runs with.
//
// TEST_PGLITE_TEMPLATE: the migrated PGlite data directory that tap's `before` made
// (scripts/pglite-template.js), for the installed PGlite and the current migrations; a new embedded
// database starts from it instead of running initdb and the migrations (~5.5 s of CPU each).
// src/db/pglite-database.ts honours it only with TAP=1, which tap sets in every test process and
// the hubs a test starts inherit. Missing (a run without the `before` script, or a migration
// changed since): unset, every PGlite runs initdb and the migrations.
import { existsSync } from 'node:fs'
import { pgliteTemplatePath } from '../../scripts/pglite-template.js'

if (process.env.TEST_PGLITE_TEMPLATE == null) {
  const template = pgliteTemplatePath()
  if (existsSync(template)) process.env.TEST_PGLITE_TEMPLATE = template
}
