// Test tooling: one freshly initialised PGlite data directory per test run, as a tarball
// (PGlite's dumpDataDir), from which every embedded database the tests create starts instead of
// running PGlite's initdb itself. Measured on this machine: a new PGlite costs 5.2-5.6 s of CPU, of
// which initdb is ~4.4 s; starting from the tarball costs 1.1 s. The suite creates dozens (every
// `lienthong start` and CLI run on a new data directory, every testPglite).
//
// The tarball holds only what initdb writes (no migration, no row of ours): every hub and test
// still runs the real migrations on it, so first-start behaviour is what is tested. It is used
// through TEST_PGLITE_TEMPLATE, which test/helpers/suite-env.mjs sets for every test process and so
// every process they start (src/db/pglite-database.ts reads it; nothing else sets it).
//
// Made by tap's `before` (scripts/before-tests.js) and reused while the installed PGlite is the
// same version: the file name carries it.
/* c8 ignore start */
import { mkdirSync, readFileSync, renameSync, existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

/** Where the template of the installed PGlite version lives (under .tap/, which git ignores). */
export function pgliteTemplatePath () {
  const { version } = JSON.parse(readFileSync(join(root, 'node_modules', '@electric-sql', 'pglite', 'package.json'), 'utf8'))
  return join(root, '.tap', `pglite-template-${version}.tar`)
}

/** Makes the template unless it exists; written under a temporary name and renamed, so a reader never sees half a file. */
export async function ensurePgliteTemplate () {
  const file = pgliteTemplatePath()
  if (existsSync(file)) return file
  const { PGlite } = await import('@electric-sql/pglite')
  const db = await PGlite.create()
  try {
    const blob = await db.dumpDataDir('none')
    mkdirSync(join(root, '.tap'), { recursive: true })
    const partial = `${file}.${process.pid}.partial`
    writeFileSync(partial, Buffer.from(await blob.arrayBuffer()))
    renameSync(partial, file)
  } finally {
    await db.close()
  }
  return file
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${await ensurePgliteTemplate()}\n`)
}
/* c8 ignore stop */
