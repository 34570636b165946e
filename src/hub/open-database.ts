import { join } from 'node:path'
import type { Database } from '../db/database.js'
import { openPglite } from '../db/pglite-database.js'
import { openPostgres } from '../db/postgres-database.js'
import { migrate } from '../db/migrate.js'

export class StartupError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'StartupError'
  }
}

/** How long the first connection to PostgreSQL may take before the start gives up. */
const CONNECT_TIMEOUT_MS = 10_000

/** PostgreSQL when DATABASE_URL is set, else embedded PGlite under dataDir; migrated. */
export async function openHubDatabase (databaseUrl: string | undefined, dataDir: string): Promise<Database> {
  let db: Database
  if (databaseUrl != null) {
    // One line that says what, where (password masked) and what to do; the embedded database is
    // mentioned for `start` only (gateways and workers of a multi-node hub must share PostgreSQL).
    const unreachable = (why: string): StartupError => new StartupError(`cannot reach PostgreSQL at ${safeUrl(databaseUrl)}: ${why}. ` +
      'Start it (e.g. `systemctl start postgresql` or `pg_ctlcluster <version> main start`) or fix DATABASE_URL; ' +
      '`lienthong start` also runs without DATABASE_URL, on its embedded database.')
    // pg waits for a connection without limit: an address that drops packets would hang the start.
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(unreachable(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS)
    })
    try {
      db = await Promise.race([openPostgres({ connectionString: databaseUrl }), timeout])
    } catch (err) {
      throw err instanceof StartupError ? err : unreachable((err as Error).message)
    } finally {
      clearTimeout(timer)
    }
  } else {
    try {
      db = await openPglite(join(dataDir, 'pglite'))
    } catch (err) {
      throw new StartupError(`cannot open the embedded database in ${join(dataDir, 'pglite')}: ${(err as Error).message}`)
    }
  }
  await migrate(db)
  return db
}

/**
 * The warning when Redis cannot be reached at start (the gateway starts anyway): what, where
 * (password masked), what still works, and how to start it on the configured address.
 */
export function redisUnreachableMessage (redisUrl: string, consequence = 'documents are still accepted and stored, and queued for delivery when Redis is back'): string {
  let bind = '--bind 127.0.0.1 --port 6379'
  try {
    const u = new URL(redisUrl)
    bind = `--bind ${u.hostname} --port ${u.port === '' ? '6379' : u.port}`
  } catch {
    // An unparsable REDIS_URL is refused by the configuration; the default address is only a hint.
  }
  return `Redis is not reachable at ${safeUrl(redisUrl)}: ${consequence}. Start it (e.g. \`redis-server --daemonize yes ${bind}\` or \`systemctl start redis-server\`) or fix REDIS_URL.`
}

/** The URL without its password, for messages. */
export function safeUrl (url: string): string {
  try {
    const u = new URL(url)
    if (u.password !== '') u.password = '***'
    return u.toString()
  } catch {
    return '(unparsable URL)'
  }
}
