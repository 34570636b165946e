import { randomBytes } from 'node:crypto'
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
  await migrate(db)
  return Object.assign(db, { schema, connectionString: TEST_DATABASE_URL })
}

/** Embedded PGlite in memory, migrated, closed on teardown. */
export async function testPglite (t: TeardownHost): Promise<Database> {
  const db = await openPglite(undefined)
  t.teardown(async () => { await db.close() })
  await migrate(db)
  return db
}
