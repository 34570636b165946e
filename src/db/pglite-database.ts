import { existsSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { pg_trgm as pgTrgm } from '@electric-sql/pglite/contrib/pg_trgm'
import type { Database, Queryable } from './database.js'
import { startEmbeddedAnalyze } from './embedded-analyze.js'
import { lockEmbeddedDatabase } from './embedded-db-lock.js'

/**
 * Embedded PostgreSQL (WASM) under a data directory: what `npm start` uses when no DATABASE_URL
 * is set. Single connection; PGlite serialises queries and transactions itself.
 */
export async function openPglite (dataDir: string | undefined): Promise<Database> {
  // One process at a time on a directory: refused cleanly (EmbeddedDatabaseBusy) before PGlite
  // reads or writes a byte of it when another process (the running hub) holds it.
  const lock = dataDir != null ? await lockEmbeddedDatabase(dataDir) : undefined
  let db: PGlite
  try {
    if (dataDir != null) await mkdir(dataDir, { recursive: true })
    // pg_trgm: the trigram indexes of the tracking lists' substring filters (migration 024).
    const options = { extensions: { pg_trgm: pgTrgm }, ...await testTemplate(dataDir) }
    db = dataDir != null ? await PGlite.create(dataDir, options) : await PGlite.create(options)
  } catch (err) {
    await lock?.release()
    throw err
  }
  const wrap = (q: { query: PGlite['query'] }): Queryable => ({
    query: async (sql, params) => {
      const result = await q.query(sql, params as unknown[] | undefined)
      return { rows: result.rows as never[] }
    },
    // PGlite writes a server-side COPY to its virtual /dev/blob: the whole output at once.
    copyBinaryOut: async function * (select) {
      const { blob } = await q.query(`COPY (${select}) TO '/dev/blob' (FORMAT binary)`)
      if (blob == null) throw new Error('PGlite returned no COPY output')
      yield Buffer.from(await blob.arrayBuffer())
    }
  })
  // PGlite has no autovacuum: its tables get planner statistics from here (embedded-analyze.ts).
  const statistics = startEmbeddedAnalyze(wrap(db))
  return {
    kind: 'pglite',
    ...wrap(db),
    transaction: async (fn) => await db.transaction(async (tx) => await fn(wrap(tx))),
    async exec (sql) {
      await db.exec(sql)
    },
    async close () {
      try {
        await statistics.stop()
        await db.close()
      } finally {
        await lock?.release()
      }
    }
  }
}

/**
 * Test-only hook (TEST_PGLITE_TEMPLATE, set by test/helpers/suite-env.mjs, by nothing in the hub):
 * a new database (no PG_VERSION yet) starts from this tarball instead of running initdb and every
 * migration, which cost ~5.5 s of CPU per database and the test suite creates dozens
 * (scripts/pglite-template.js makes it once per run). The tarball is what a first start of the hub
 * leaves behind (initdb's output, every migration applied, their schema_migrations rows): migrate()
 * still runs after this and applies any migration the tarball does not list. Never used for an
 * existing database, and an unreadable template means a normal initdb.
 *
 * Honoured only in a tap test process and the processes it starts: tap sets TAP=1 in every test
 * process and the hubs the tests start inherit their environment. A production hub that finds
 * TEST_PGLITE_TEMPLATE in its environment ignores it and initialises its database itself, so a
 * stray variable cannot seed it with a file's tables and rows (test/db/pglite-template-guard.test.ts).
 */
async function testTemplate (dataDir: string | undefined): Promise<{ loadDataDir?: Blob }> {
  const template = process.env.TEST_PGLITE_TEMPLATE
  if (template == null || template === '' || process.env.TAP !== '1') return {}
  if (dataDir != null && existsSync(join(dataDir, 'PG_VERSION'))) return {}
  try {
    return { loadDataDir: new Blob([await readFile(template)]) }
  } catch {
    return {}
  }
}
