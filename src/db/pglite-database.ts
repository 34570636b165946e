import { mkdir } from 'node:fs/promises'
import { PGlite } from '@electric-sql/pglite'
import type { Database, Queryable } from './database.js'

/**
 * Embedded PostgreSQL (WASM) under a data directory: what `npm start` uses when no DATABASE_URL
 * is set. Single connection; PGlite serialises queries and transactions itself.
 */
export async function openPglite (dataDir: string | undefined): Promise<Database> {
  if (dataDir != null) await mkdir(dataDir, { recursive: true })
  const db = dataDir != null ? await PGlite.create(dataDir) : await PGlite.create()
  const wrap = (q: { query: PGlite['query'] }): Queryable => ({
    query: async (sql, params) => {
      const result = await q.query(sql, params as unknown[] | undefined)
      return { rows: result.rows as never[] }
    }
  })
  return {
    kind: 'pglite',
    ...wrap(db),
    transaction: async (fn) => await db.transaction(async (tx) => await fn(wrap(tx))),
    async exec (sql) {
      await db.exec(sql)
    },
    async close () {
      await db.close()
    }
  }
}
