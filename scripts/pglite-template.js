// Test tooling: one MIGRATED PGlite data directory per test run, as a tarball (PGlite's
// dumpDataDir), from which every embedded database the tests create starts instead of running
// PGlite's initdb and then every migration itself. Measured on this machine: initdb costs ~4.4 s of
// CPU, starting from an initdb-only tarball 1.1 s and the migrations after it another 1.2-1.8 s;
// the suite creates dozens (every `lienthong start` and CLI run on a new data directory, every
// testPglite).
//
// The tarball is what a first start leaves behind: initdb's output with every migration of
// src/db/migrations applied by the hub's own migrate() (the compiled one in dist/, which the `before`
// script has just rebuilt from src/) and its rows in schema_migrations. A hub or test that starts
// from it still runs migrate(), which finds those rows and applies only a migration that is not
// among them. It is used through TEST_PGLITE_TEMPLATE, which test/helpers/suite-env.mjs sets for
// every test process and so every process they start; src/db/pglite-database.ts honours it only in
// a tap test process (TAP=1), never in a production hub.
//
// Made by tap's `before` (scripts/before-tests.js) and reused while both the installed PGlite and
// the migrations are the same: the file name carries the PGlite version and a hash of every
// migration file's name and content (a new or edited migration means a new template).
/* c8 ignore start */
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const migrationsDir = join(root, 'src', 'db', 'migrations')

/** The migration files in the order migrate() applies them. */
function migrationFiles () {
  return readdirSync(migrationsDir).filter((f) => f.endsWith('.sql')).sort()
}

/** sha256 over every migration file's name and content, in name order (the order migrate() applies them). */
export function migrationsHash () {
  const hash = createHash('sha256')
  for (const file of migrationFiles()) {
    hash.update(`${file}\0`)
    hash.update(readFileSync(join(migrationsDir, file)))
    hash.update('\0')
  }
  return hash.digest('hex').slice(0, 16)
}

/** Where the template of the installed PGlite version and the current migrations lives (under .tap/, which git ignores). */
export function pgliteTemplatePath () {
  const { version } = JSON.parse(readFileSync(join(root, 'node_modules', '@electric-sql', 'pglite', 'package.json'), 'utf8'))
  return join(root, '.tap', `pglite-template-${version}-${migrationsHash()}.tar`)
}

/** Makes the template unless it exists; written under a temporary name and renamed, so a reader never sees half a file. */
export async function ensurePgliteTemplate () {
  const file = pgliteTemplatePath()
  if (existsSync(file)) return file
  const { PGlite } = await import('@electric-sql/pglite')
  const { pg_trgm: pgTrgm } = await import('@electric-sql/pglite/contrib/pg_trgm')
  // The hub's own migrate() (dist/ was built from src/ by the `before` script just now), so the
  // template holds exactly what a first start of the hub makes.
  const { migrate } = await import(pathToFileURL(join(root, 'dist', 'db', 'migrate.js')).href)
  // The same extensions as src/db/pglite-database.ts (pg_trgm: migration 024).
  const db = await PGlite.create({ extensions: { pg_trgm: pgTrgm } })
  try {
    // dist/ is what the key does not cover: it must hold exactly the migrations of src/ that the
    // file name was hashed from (a stale dist/ would make a template under the wrong key).
    const applied = await migrate(asDatabase(db))
    const expected = migrationFiles()
    if (applied.join('\n') !== expected.join('\n')) {
      throw new Error(`pglite-template: dist/ applied ${applied.length} migrations, src/db/migrations has ${expected.length}: run npm run build`)
    }
    const blob = await db.dumpDataDir('none')
    mkdirSync(join(root, '.tap'), { recursive: true })
    const partial = `${file}.${process.pid}.partial`
    writeFileSync(partial, Buffer.from(await blob.arrayBuffer()))
    renameSync(partial, file)
    // Templates of other PGlite versions or migrations are never read again: 40 MB each.
    for (const other of readdirSync(join(root, '.tap'))) {
      if (/^pglite-template-.*\.tar$/.test(other) && join(root, '.tap', other) !== file) rmSync(join(root, '.tap', other), { force: true })
    }
  } finally {
    await db.close()
  }
  return file
}

/** The part of src/db/database.ts's Database that migrate() uses, over a bare PGlite. */
function asDatabase (db) {
  const wrap = (q) => ({ query: async (sql, params) => ({ rows: (await q.query(sql, params)).rows }) })
  return {
    ...wrap(db),
    exec: async (sql) => { await db.exec(sql) },
    transaction: async (fn) => await db.transaction(async (tx) => await fn(wrap(tx)))
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${await ensurePgliteTemplate()}\n`)
}
/* c8 ignore stop */
