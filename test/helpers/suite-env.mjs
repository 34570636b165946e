// Loaded into every test process (tap's node-arg in package.json), before any test code: the
// environment every test process, and so every process a test starts, runs with.
//
// TEST_PGLITE_TEMPLATE: the freshly initialised PGlite data directory that tap's `before` made
// (scripts/pglite-template.js); a new embedded database starts from it instead of running initdb
// (4.4 s of CPU each). Missing (a run without the `before` script): unset, every PGlite runs initdb.
import { existsSync } from 'node:fs'
import { pgliteTemplatePath } from '../../scripts/pglite-template.js'

if (process.env.TEST_PGLITE_TEMPLATE == null) {
  const template = pgliteTemplatePath()
  if (existsSync(template)) process.env.TEST_PGLITE_TEMPLATE = template
}
