import { access } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Command } from 'commander'
import type { Database } from '../db/database.js'
import { safeUrl } from '../hub/open-database.js'
import { verifySignatureLogChain, type ChainReport } from '../evidence/signature-log-chain.js'

interface AuditVerifyOptions {
  databaseUrl?: string
  schema?: string
  dataDir: string
  batchSize: string
}

/**
 * `lienthong audit verify`: recompute the signature log's hash chain and report the first broken
 * link. Read-only: it runs no migrations and creates nothing (a read-only role is enough).
 * Exit 0 intact, 1 broken, 2 cannot check (main.ts maps thrown errors to 2).
 */
export function auditCommand (): Command {
  const audit = new Command('audit').description('check the evidence the hub keeps')
  audit.command('verify')
    .description('recompute the signature log hash chain and report the first broken entry')
    .option('--database-url <url>', 'PostgreSQL connection string (default: DATABASE_URL); without one, the embedded database under --data-dir', emptyToUndefined(process.env.DATABASE_URL))
    .option('--schema <name>', 'PostgreSQL schema holding signature_log (default: the server\'s search_path)')
    .option('--data-dir <dir>', 'hub data directory; the embedded database is <dir>/pglite (a PGlite directory itself is accepted too)', emptyToUndefined(process.env.LIENTHONG_DATA_DIR) ?? 'data')
    .option('--batch-size <n>', 'rows read per query', '1000')
    .action(async (options: AuditVerifyOptions, command: Command) => {
      const batchSize = Number(options.batchSize)
      if (!Number.isInteger(batchSize) || batchSize < 1) command.error(`--batch-size: "${options.batchSize}" is not a positive integer`)
      if (options.schema != null && !/^[a-z_][a-z0-9_]*$/.test(options.schema)) command.error(`--schema: "${options.schema}" is not a plain lower-case schema name`)
      const db = await openAuditDatabase(options)
      let report: ChainReport
      try {
        report = await verifySignatureLogChain(db, { batchSize })
      } catch (err) {
        if ((err as { code?: string }).code === '42P01') throw new Error('this database has no signature_log table (wrong database or schema, or the hub never ran here)')
        throw err
      } finally {
        await db.close()
      }
      process.stdout.write(formatChainReport(report))
      process.exitCode = report.ok ? 0 : 1
    })
  return audit
}

/** The report as printed: the first line is the verdict, fixed wording (scripts may match it). */
export function formatChainReport (report: ChainReport): string {
  if (report.ok) {
    const head = report.headId == null ? 'genesis' : `#${report.headId}`
    return `signature log intact: ${report.entries} entries, head ${head} ${report.headHash}\n`
  }
  const lines = [`signature log BROKEN at entry #${report.firstBrokenId}: ${report.reason}`]
  if (report.reason === 'hash-mismatch') {
    lines.push(`  the entry's content no longer hashes to its entry_hash: stored ${report.found}, recomputed ${report.expected}`)
  } else {
    lines.push(`  its prev_hash ${report.found} is not the entry_hash of the entry before it (${report.expected}):`,
      '  an entry before it was removed or inserted, or its prev_hash was changed')
  }
  lines.push(`  ${report.entries} entries before it verify intact`)
  return lines.join('\n') + '\n'
}

async function openAuditDatabase (options: AuditVerifyOptions): Promise<Database> {
  if (options.databaseUrl != null) {
    let connectionString = options.databaseUrl
    if (options.schema != null) {
      // search_path via the startup packet, not openPostgres({ schema }) (which would CREATE it).
      const url = new URL(connectionString)
      url.searchParams.set('options', `-c search_path=${options.schema}`)
      connectionString = url.toString()
    }
    try {
      return await (await import('../db/postgres-database.js')).openPostgres({ connectionString, max: 1 })
    } catch (err) {
      throw new Error(`cannot reach PostgreSQL at ${safeUrl(options.databaseUrl)}: ${(err as Error).message}`)
    }
  }
  if (options.schema != null) throw new Error('--schema applies to PostgreSQL only; give --database-url (or DATABASE_URL)')
  const dataDir = resolve(options.dataDir)
  // Never create an empty database where the operator expected the hub's.
  const dir = await isPgliteDir(join(dataDir, 'pglite'))
    ? join(dataDir, 'pglite')
    : await isPgliteDir(dataDir) ? dataDir : undefined
  if (dir == null) {
    throw new Error(`no embedded database in ${join(dataDir, 'pglite')}; give --data-dir, or --database-url / DATABASE_URL for PostgreSQL`)
  }
  return await (await import('../db/pglite-database.js')).openPglite(dir)
}

async function isPgliteDir (dir: string): Promise<boolean> {
  try {
    await access(join(dir, 'PG_VERSION'))
    return true
  } catch {
    return false
  }
}

function emptyToUndefined (value: string | undefined): string | undefined {
  return value == null || value === '' ? undefined : value
}
