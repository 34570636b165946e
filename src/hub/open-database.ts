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

/** PostgreSQL when DATABASE_URL is set, else embedded PGlite under dataDir; migrated. */
export async function openHubDatabase (databaseUrl: string | undefined, dataDir: string): Promise<Database> {
  let db: Database
  if (databaseUrl != null) {
    try {
      db = await openPostgres({ connectionString: databaseUrl })
    } catch (err) {
      const where = safeUrl(databaseUrl)
      throw new StartupError(`cannot reach PostgreSQL at ${where}: ${(err as Error).message}. ` +
        'Start it (e.g. `pg_ctlcluster 15 main start`) or unset DATABASE_URL to use the embedded database.')
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
