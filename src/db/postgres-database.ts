import pg from 'pg'
import type { Database, Queryable } from './database.js'
import { uploadBytea } from './bytea-copy.js'

// bigint (int8) columns come back as strings by default; our ids fit in a JS number.
pg.types.setTypeParser(20, (value: string) => Number(value))

export interface PostgresOptions {
  connectionString: string
  /** Every connection runs `SET search_path` to this schema (tests use one schema per file). */
  schema?: string
  max?: number
}

export async function openPostgres (options: PostgresOptions): Promise<Database> {
  const schema = options.schema
  if (schema != null && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`)
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    ...(schema != null ? { options: `-c search_path=${schema}` } : {})
  })
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {})
  if (schema != null) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
  else await pool.query('select 1')
  const query: Queryable['query'] = async (sql, params) => {
    const result = await pool.query(sql, params as unknown[] | undefined)
    return { rows: result.rows }
  }
  return {
    kind: 'postgres',
    query,
    async transaction (fn) {
      const client = await pool.connect()
      try {
        await client.query('BEGIN')
        const tx: Queryable = {
          query: async (sql, params) => ({ rows: (await client.query(sql, params as unknown[] | undefined)).rows }),
          uploadBytea: async (bytes) => { await uploadBytea(client, bytes) }
        }
        const result = await fn(tx)
        await client.query('COMMIT')
        return result
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {})
        throw err
      } finally {
        client.release()
      }
    },
    async exec (sql) {
      await pool.query(sql)
    },
    async close () {
      await pool.end()
    }
  }
}
