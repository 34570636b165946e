import { X509Certificate } from 'node:crypto'
import { access, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Command, Option } from 'commander'
import type { Database } from '../db/database.js'
import { safeUrl } from '../hub/open-database.js'
import { loadHubIdentity } from '../evidence/hub-identity.js'
import { DEFAULT_BATCH_SIZE, verifySignatureLogChain, type ChainReport } from '../evidence/signature-log-chain.js'
import {
  compareWithCheckpoint, issueCheckpoint, readCheckpoint, verifyCheckpoint, type CheckpointComparison, type CheckpointStatement
} from '../evidence/signature-log-checkpoints.js'
import { PACKAGE_ROOT } from '../paths.js'
import { envText, type EnvKey } from '../config/env-schema.js'

interface DatabaseOptions {
  databaseUrl?: string
  schema?: string
  dataDir: string
}

interface AuditVerifyOptions extends DatabaseOptions {
  batchSize: string
  checkpoint: string[]
  hubCert: string[]
  hubFingerprint: string[]
}

const DEMO_HUB = (name: string): string => join(PACKAGE_ROOT, 'certs-example', 'hub', name)
const collect = (value: string, previous: string[]): string[] => [...previous, value]

/**
 * `lienthong audit verify | checkpoint | export-checkpoint`: the signature log's hash chain and
 * its signed checkpoints (docs/signature-log.md). `verify` and `export-checkpoint` only read (no
 * migrations; a read-only role is enough). On the embedded database, every command refuses
 * cleanly, touching nothing, while the hub runs on it (src/db/embedded-db-lock.ts).
 * verify: exit 0 intact, 1 broken or truncated, 2 cannot check (main.ts maps thrown errors to 2).
 */
export function auditCommand (): Command {
  const audit = new Command('audit').description('check the evidence the hub keeps')
  databaseOptions(audit.command('verify'))
    .description('recompute the signature log hash chain, report the first broken entry, and check it against the newest signed checkpoint and the given checkpoint files (truncation of the tail)')
    .option('--batch-size <n>', 'rows read per binary COPY (PostgreSQL streams each; the embedded database holds one in memory, ~1 KB per row)', String(DEFAULT_BATCH_SIZE))
    .addOption(new Option('--checkpoint <file>', 'a checkpoint file exported earlier (lienthong audit export-checkpoint); the log must still hold its head; repeatable').argParser(collect).default([]))
    .addOption(new Option('--hub-cert <file>', 'hub signing certificate whose checkpoints are trusted (PEM, first certificate); repeatable').argParser(collect).default([], 'LIENTHONG_HUB_CERT or the demo hub certificate'))
    .addOption(new Option('--hub-fingerprint <hex>', 'SHA-256 of a trusted hub signing certificate; repeatable').argParser(collect).default([]))
    .action(async (options: AuditVerifyOptions, command: Command) => {
      const batchSize = Number(options.batchSize)
      if (!Number.isInteger(batchSize) || batchSize < 1) command.error(`--batch-size: "${options.batchSize}" is not a positive integer`)
      checkSchema(options, command)
      const trusted = await trustedHub(options, command)
      // The files first: a file that cannot be read or does not verify is an operator error (2).
      const files: Array<{ file: string, checkpoint: CheckpointStatement }> = []
      for (const file of options.checkpoint) {
        let parsed: unknown
        try {
          parsed = JSON.parse(await readFile(file, 'utf8'))
        } catch (err) {
          throw new Error(`--checkpoint ${file}: cannot read it as JSON (${(err as Error).message})`)
        }
        const verdict = verifyCheckpoint(parsed, trusted)
        if (!verdict.ok) throw new Error(`--checkpoint ${file}: not a valid checkpoint signed by the hub: ${verdict.reason}`)
        files.push({ file, checkpoint: verdict.checkpoint })
      }
      const db = await openAuditDatabase(options)
      let out: string
      let broken: boolean
      try {
        const report = await withTable(async () => await verifySignatureLogChain(db, { batchSize }), 'signature_log')
        const lines = [formatChainReport(report)]
        broken = !report.ok
        if (report.ok) {
          const checks: Array<{ what: string, checkpoint: CheckpointStatement, result: CheckpointComparison }> = []
          const stored = await readCheckpoint(db).catch((err: unknown) => {
            if ((err as { code?: string }).code === '42P01') return null
            throw err
          })
          if (stored === null) {
            lines.push('  no checkpoint table in this database (the hub predates migration 009): a truncated tail cannot be detected from the database')
          } else if (stored == null) {
            lines.push('  no signed checkpoint in the database yet: a truncated tail cannot be detected from the database (lienthong audit checkpoint)')
          } else {
            const verdict = verifyCheckpoint(stored.signed, trusted)
            if (!verdict.ok) {
              broken = true
              lines.push(`  the newest checkpoint in the database (#${stored.id}) does NOT verify: ${verdict.reason}`)
            } else {
              checks.push({ what: `checkpoint #${stored.id} (database)`, checkpoint: verdict.checkpoint, result: await compareWithCheckpoint(db, report, verdict.checkpoint) })
            }
          }
          for (const f of files) checks.push({ what: `checkpoint file ${f.file}`, checkpoint: f.checkpoint, result: await compareWithCheckpoint(db, report, f.checkpoint) })
          const failing = checks.filter((c) => !c.result.ok)
          if (failing.length > 0) {
            broken = true
            lines.length = 0
            lines.push(...failing.map((c) => formatCheckpointFailure(c.what, c.checkpoint, c.result, report)))
            lines.push(`  the chain itself holds: ${report.entries} entries, head ${report.headId == null ? 'genesis' : `#${report.headId}`} ${report.headHash}`)
          }
          for (const c of checks.filter((x) => x.result.ok)) {
            lines.push(`  consistent with ${c.what}: head ${c.checkpoint.headId == null ? 'genesis' : `#${c.checkpoint.headId}`}, ${c.checkpoint.entries} entries, signed ${c.checkpoint.issuedAt}`)
          }
        }
        out = lines.map((l) => l.endsWith('\n') ? l : l + '\n').join('')
      } finally {
        await db.close()
      }
      process.stdout.write(out)
      process.exitCode = broken ? 1 : 0
    })

  databaseOptions(audit.command('checkpoint'))
    .description('sign and store a checkpoint of the signature log head now (refused when the chain is broken or truncated); --out also writes it to a file')
    .option('--out <file>', 'also write the signed checkpoint to this file')
    .option('--hub-key <file>', 'hub signing key (default: LIENTHONG_HUB_KEY or the demo key)')
    .option('--hub-cert <file>', 'hub signing certificate (default: LIENTHONG_HUB_CERT or the demo certificate)')
    .option('--hub-chain <file>', 'its chain (default: LIENTHONG_HUB_CHAIN or the demo issuing CA)')
    .action(async (options: DatabaseOptions & { out?: string, hubKey?: string, hubCert?: string, hubChain?: string }, command: Command) => {
      checkSchema(options, command)
      const certFile = options.hubCert ?? env('LIENTHONG_HUB_CERT')
      // The demo chain goes only with the demo certificate.
      const chainFile = options.hubChain ?? env('LIENTHONG_HUB_CHAIN') ?? (certFile == null ? join(PACKAGE_ROOT, 'certs-example', 'trust', 'issuing-ca.pem') : undefined)
      const hub = await loadHubIdentity({
        keyFile: options.hubKey ?? env('LIENTHONG_HUB_KEY') ?? DEMO_HUB('signing-key.pem'),
        certFile: certFile ?? DEMO_HUB('signing-cert.pem'),
        ...(chainFile != null ? { chainFile } : {})
      })
      const db = await openAuditDatabase(options)
      try {
        const result = await withTable(async () => await issueCheckpoint(db, hub), 'signature_log_checkpoints')
        if (!result.issued) throw new Error(`no checkpoint issued: ${result.reason}`)
        const c = result.stored.signed.checkpoint
        if (options.out != null) await writeFile(options.out, result.stored.text)
        process.stdout.write(`checkpoint #${result.stored.id} signed: head ${c.headId == null ? 'genesis' : `#${c.headId}`} ${c.headHash}, ${c.entries} entries, ${c.issuedAt}${options.out != null ? `; written to ${options.out}` : ''}\n`)
      } finally {
        await db.close()
      }
    })

  databaseOptions(audit.command('export-checkpoint'))
    .description('write a stored signed checkpoint (the newest, or --id) to a file, to keep away from the database')
    .requiredOption('--out <file>', 'where to write it (JSON; verifiable offline)')
    .option('--id <n>', 'the checkpoint id (default: the newest)')
    .action(async (options: DatabaseOptions & { out: string, id?: string }, command: Command) => {
      checkSchema(options, command)
      const id = options.id == null ? undefined : Number(options.id)
      if (id != null && (!Number.isSafeInteger(id) || id < 1)) command.error(`--id: "${options.id ?? ''}" is not a positive integer`)
      const db = await openAuditDatabase(options)
      try {
        const stored = await withTable(async () => await readCheckpoint(db, id), 'signature_log_checkpoints')
        if (stored == null) throw new Error(id == null ? 'no checkpoint in this database yet (lienthong audit checkpoint issues one)' : `no checkpoint #${id}`)
        await writeFile(options.out, stored.text)
        const c = stored.signed.checkpoint
        process.stdout.write(`checkpoint #${stored.id} (head ${c.headId == null ? 'genesis' : `#${c.headId}`}, ${c.entries} entries, ${c.issuedAt}) written to ${options.out}\n`)
      } finally {
        await db.close()
      }
    })
  return audit
}

function databaseOptions (command: Command): Command {
  return command
    .option('--database-url <url>', 'PostgreSQL connection string (default: DATABASE_URL); without one, the embedded database under --data-dir', env('DATABASE_URL'))
    .option('--schema <name>', 'PostgreSQL schema holding signature_log (default: the server\'s search_path)')
    .option('--data-dir <dir>', 'hub data directory; the embedded database is <dir>/pglite (a PGlite directory itself is accepted too)', env('LIENTHONG_DATA_DIR') ?? 'data')
}

function checkSchema (options: DatabaseOptions, command: Command): void {
  if (options.schema != null && !/^[a-z_][a-z0-9_]*$/.test(options.schema)) command.error(`--schema: "${options.schema}" is not a plain lower-case schema name`)
}

async function withTable<T> (fn: () => Promise<T>, table: string): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') throw new Error(`this database has no ${table} table (wrong database or schema, or the hub never ran here${table !== 'signature_log' ? ' with this version' : ''})`)
    throw err
  }
}

async function trustedHub (options: AuditVerifyOptions, command: Command): Promise<string[]> {
  const out = options.hubFingerprint.map((f) => {
    const hex = f.replace(/[:\s]/g, '').toLowerCase()
    if (!/^[0-9a-f]{64}$/.test(hex)) command.error(`--hub-fingerprint: "${f}" is not a SHA-256 fingerprint`)
    return hex
  })
  const files = options.hubCert.length > 0 ? options.hubCert : options.hubFingerprint.length > 0 ? [] : [env('LIENTHONG_HUB_CERT') ?? DEMO_HUB('signing-cert.pem')]
  for (const file of files) {
    try {
      out.push(new X509Certificate(await readFile(file)).fingerprint256.replaceAll(':', '').toLowerCase())
    } catch (err) {
      throw new Error(`--hub-cert ${file}: ${(err as Error).message}`)
    }
  }
  return out
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

/** A checkpoint the log no longer satisfies; first line fixed wording: TRUNCATED or DIVERGES. */
export function formatCheckpointFailure (what: string, checkpoint: CheckpointStatement, result: CheckpointComparison, report: ChainReport & { ok: true }): string {
  const signed = `${what}, signed by the hub ${checkpoint.issuedAt}, names head #${checkpoint.headId ?? 0} ${checkpoint.headHash} (${checkpoint.entries} entries)`
  if (!result.ok && result.reason === 'truncated') {
    const last = result.lastId == null ? 'genesis (#0)' : `#${result.lastId}`
    return `signature log TRUNCATED: entries after ${last} are missing\n  ${signed}; the log now ends at ${last} with ${report.entries} entries: ` +
      `at least ${Math.max(1, checkpoint.entries - report.entries)} entries were deleted from its end\n`
  }
  return `signature log DIVERGES from a signed checkpoint: ${!result.ok && result.reason === 'diverged' ? result.detail : ''}\n  ${signed}\n`
}

async function openAuditDatabase (options: DatabaseOptions): Promise<Database> {
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
  // Takes the directory's lock first: while the hub runs on it, this throws a clear
  // EmbeddedDatabaseBusy ("the hub is running ...") and PGlite never touches the files.
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

/** A key of the configuration schema, unset when empty (as the hub reads it). */
const env = (key: EnvKey): string | undefined => envText(key)
