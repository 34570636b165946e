import { createHash } from 'node:crypto'
import pg from 'pg'
import type { Database, Queryable } from './database.js'
import { uploadBytea } from './bytea-copy.js'
import { binaryCopyOut, pooledBinaryCopyOut } from './binary-copy-out.js'
import { isUnavailableError } from './unavailable.js'
import { rateLimitedErrorLog } from '../logging/rate-limited-error-log.js'

// bigint (int8) columns come back as strings by default; our ids fit in a JS number.
pg.types.setTypeParser(20, (value: string) => Number(value))

export interface PostgresOptions {
  connectionString: string
  /** Every connection runs `SET search_path` to this schema (tests use one schema per file). */
  schema?: string
  max?: number
}

/**
 * Parameterised statements are sent as named (prepared) statements: each connection parses and
 * plans a statement once and then only binds values, which is most of PostgreSQL's CPU per
 * accepted document otherwise (bench/accept). Names come from the SQL text; only statements with
 * parameters are named (their text is fixed in the code, values travel separately), and at most
 * MAX_NAMED distinct texts, so a statement built with varying text can never grow every
 * connection's cache without bound.
 */
const MAX_NAMED = 500
const names = new Map<string, string>()

function statement (sql: string, params: readonly unknown[] | undefined): pg.QueryConfig {
  const values = params as unknown[] | undefined
  if (values == null || values.length === 0) return { text: sql }
  let name = names.get(sql)
  if (name == null && names.size < MAX_NAMED) {
    name = `lt_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`
    names.set(sql, name)
  }
  return name == null ? { text: sql, values } : { name, text: sql, values }
}

export async function openPostgres (options: PostgresOptions): Promise<Database> {
  const schema = options.schema
  if (schema != null && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`)
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    // A connection attempt that hangs (server unreachable, not refusing) fails instead of holding
    // the request for ever; the caller answers 503 UNAVAILABLE (src/db/unavailable.ts).
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
    ...(schema != null ? { options: `-c search_path=${schema}` } : {})
  })
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', rateLimitedErrorLog('PostgreSQL: an idle connection failed'))
  if (schema != null) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
  else await pool.query('select 1')
  const query: Queryable['query'] = async (sql, params) => {
    const result = await pool.query(statement(sql, params))
    return { rows: result.rows }
  }
  return {
    kind: 'postgres',
    query,
    copyBinaryOut: (select) => pooledBinaryCopyOut(pool, select),
    async transaction (fn) {
      const client = await pool.connect()
      // pg-pool removes its own 'error' listener while a client is checked out: without this one a
      // server restart (57P01, "Connection terminated unexpectedly") during the transaction is an
      // unhandled 'error' event and the process exits. The error fails the statement in flight (pg
      // rejects it, or the next one: "not queryable"); the broken client is destroyed at release
      // (release(err)), never returned to the pool, so the next transaction gets a new connection.
      let broken: Error | undefined
      const onError = (err: Error): void => { broken ??= err }
      client.on('error', onError)
      try {
        await client.query('BEGIN')
        const tx: Queryable = {
          query: async (sql, params) => ({ rows: (await client.query(statement(sql, params))).rows }),
          uploadBytea: async (bytes) => { await uploadBytea(client, bytes) },
          copyBinaryOut: (select) => binaryCopyOut(client, select)
        }
        const result = await fn(tx)
        await client.query('COMMIT')
        return result
      } catch (err) {
        if (broken == null && isUnavailableError(err)) broken = err as Error
        if (broken == null) {
          await client.query('ROLLBACK').catch((rollbackError: unknown) => {
            broken ??= rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError))
          })
        }
        throw err
      } finally {
        client.removeListener('error', onError)
        client.release(broken)
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
