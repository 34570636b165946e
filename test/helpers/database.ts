import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import type { Database } from '../../src/db/database.js'
import { migrate } from '../../src/db/migrate.js'
import { openPglite } from '../../src/db/pglite-database.js'
import { openPostgres } from '../../src/db/postgres-database.js'

/** The PostgreSQL the tests use (trust auth on the CI box); override with TEST_DATABASE_URL. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

let counter = 0

/** A fresh schema name, unique across parallel test processes: t_<pid>_<counter>_<random>. */
export function uniqueSchemaName (): string {
  counter++
  return `t_${process.pid}_${counter}_${randomBytes(4).toString('hex')}`
}

/** Anything with tap's teardown (the root `t` or a subtest). */
export type TeardownHost = Pick<Test, 'teardown'>

export interface TestPostgres extends Database {
  /** The schema this database lives in (search_path of every pooled connection). */
  readonly schema: string
  readonly connectionString: string
}

/**
 * Real PostgreSQL in a schema of its own, migrated; on teardown the schema is dropped (CASCADE)
 * and the pool closed. Each call gives a new, empty schema.
 *
 * Speed (the suite creates some 150 of these on a 2-core machine): the migration files are sent
 * as one script in one round trip and one transaction ({@link migrationScript}) instead of one
 * transaction per file, and the test database commits without waiting for its WAL flush
 * ({@link relaxTestDatabase}). Then `migrate()` itself runs, as every hub does at start-up, and
 * must find nothing left to apply: the script cannot silently drift from the real migrations
 * (test/db/test-schema.test.ts compares the two schemas in full).
 */
export async function testDatabase (t: TeardownHost, options: { max?: number } = {}): Promise<TestPostgres> {
  const schema = uniqueSchemaName()
  const db = await openPostgres({ connectionString: TEST_DATABASE_URL, schema, ...(options.max != null ? { max: options.max } : {}) })
  t.teardown(async () => {
    try {
      await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    } finally {
      await db.close()
    }
  })
  await relaxTestDatabase(db)
  await db.query(migrationScript())
  const left = await migrate(db)
  if (left.length > 0) throw new Error(`testDatabase: migrate() still applied ${left.join(', ')} after the migration script`)
  return Object.assign(db, { schema, connectionString: TEST_DATABASE_URL })
}

/** The migrations the hub applies (src/db/migrations; dist/ holds a copy). */
const MIGRATIONS_DIR = fileURLToPath(new URL('../../src/db/migrations/', import.meta.url))

let script: string | undefined

/**
 * Every migration file in name order and their rows in schema_migrations (the table as
 * src/db/migrate.ts creates it), as one multi-statement script: PostgreSQL runs a simple query's
 * statements in one implicit transaction, so a failing migration leaves nothing behind.
 */
export function migrationScript (): string {
  if (script != null) return script
  const files = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).sort()
  script = [
    'CREATE TABLE schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    ...files.map((file) => readFileSync(join(MIGRATIONS_DIR, file), 'utf8')),
    `INSERT INTO schema_migrations (name) VALUES ${files.map((file) => `('${file.replaceAll("'", "''")}')`).join(', ')}`
  ].join('\n;\n')
  return script
}

let relaxed = false

/**
 * `synchronous_commit = off` for every later connection to the test database (the tests' pools and
 * the hub processes they start): a commit then returns before its WAL is flushed to disk, which a
 * test never needs (a server crash would lose the last commits, not corrupt anything) and which
 * spares the suite thousands of fsync waits. Once per process; a concurrent ALTER by another
 * test process, or a role that may not ALTER DATABASE, leaves it as it was.
 */
async function relaxTestDatabase (db: Database): Promise<void> {
  if (relaxed) return
  relaxed = true
  const { rows } = await db.query<{ sync: string, name: string }>("SELECT current_setting('synchronous_commit') AS sync, current_database() AS name")
  const row = rows[0]
  if (row == null || row.sync === 'off') return
  await db.query(`ALTER DATABASE "${row.name.replaceAll('"', '""')}" SET synchronous_commit = off`).catch(() => {})
}

/** Embedded PGlite in memory, migrated, closed on teardown. */
export async function testPglite (t: TeardownHost): Promise<Database> {
  const db = await openPglite(undefined)
  t.teardown(async () => { await db.close() })
  await migrate(db)
  return db
}
