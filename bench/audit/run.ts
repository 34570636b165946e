/**
 * `npm run bench:audit [-- --entries N --baseline M --pglite P]`: builds an untouched signature
 * log of N entries (default 1,000,000) in a fresh PostgreSQL schema, then times what `lienthong
 * audit verify` runs (verifySignatureLogChain), the first checkpoint (the same walk, then a
 * signature), the integrity endpoint's check (checkSignatureLogIntegrity) and a full CSV export
 * into a counting sink with its peak memory. Baselines measured in the same run: the row-object
 * path (driver rows, generic canonical form: the path before the binary COPY) on M entries, and
 * the floor of any verifier, the same binary COPY streamed into one SHA-256 of all its bytes.
 * Then the same log (P entries, default N) in the embedded PGlite, timed the same way. Prints a
 * Markdown section for docs/benchmarks.md with the machine, load average and CPU time of this
 * process. Needs PostgreSQL (TEST_DATABASE_URL).
 */
import { createHash, randomBytes } from 'node:crypto'
import { cpus, loadavg, totalmem } from 'node:os'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import { from as copyFrom, to as copyTo } from 'pg-copy-streams'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { openPglite } from '../../src/db/pglite-database.js'
import { COPY_SELECT } from '../../src/evidence/signature-log-copy.js'
import { migrate } from '../../src/db/migrate.js'
import { openPostgres } from '../../src/db/postgres-database.js'
import {
  CANONICAL_COLUMNS, DEFAULT_BATCH_SIZE, GENESIS_HASH, SIGNATURE_LOG_COLUMNS, canonicalSignatureLogRow, signatureLogEntryHash, verifySignatureLogChain, type SignatureLogRow
} from '../../src/evidence/signature-log-chain.js'
import { issueCheckpoint } from '../../src/evidence/signature-log-checkpoints.js'
import { checkSignatureLogIntegrity } from '../../src/evidence/signature-log-integrity.js'
import { signatureLogExport } from '../../src/evidence/signature-log-export.js'
import { exampleHubIdentity } from '../../test/helpers/hub.js'

const URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const ENTRIES = arg('entries', 1_000_000)
const BASELINE = Math.min(ENTRIES, arg('baseline', 100_000))
const PGLITE_ENTRIES = arg('pglite', ENTRIES)
const schema = `bench_audit_${randomBytes(4).toString('hex')}`

const copyText = (v: unknown): string => v == null ? '\\N' : String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')

/** A deterministic uuid (lower-case, as PostgreSQL prints it). */
function uuidOf (id: number): string {
  const h = createHash('md5').update(String(id)).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`
}

/** A realistic accepted or rejected entry (signer, chain, algorithms, revocation as the hub writes them). */
function entry (i: number, id: number): Record<string, unknown> {
  const rejected = i % 10 === 0
  const agency = `000.00.00.${['G22', 'H41', 'G12', 'G01'][i % 4] as string}`
  const signer = { subject: `CN=Văn thư ${agency}, O=Cơ quan ${i % 97}, C=VN`, issuer: 'CN=Issuing CA, O=Ban Cơ yếu Chính phủ, C=VN', serial: (0x10000 + (i % 5000)).toString(16), fingerprint: createHash('sha256').update(`cert ${i % 5000}`).digest('hex') }
  return {
    id,
    logged_at: new Date(Date.UTC(2026, 0, 1) + id * 250).toISOString(),
    request_id: `req-${id}`,
    claimed_agency: agency,
    authenticated_agency: agency,
    edxml_document_id: `${agency},2026/01/01,${i}/UBND-VP`,
    hub_document_id: rejected ? null : uuidOf(id),
    digest_sha256: createHash('sha256').update(`doc ${i}`).digest('hex'),
    size_bytes: 20_000 + (i % 100_000),
    algorithms: { canonicalization: 'http://www.w3.org/2001/10/xml-exc-c14n#', digest: 'http://www.w3.org/2001/04/xmlenc#sha256', signature: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256' },
    cert_subject: signer.subject,
    cert_issuer: signer.issuer,
    cert_serial: signer.serial,
    cert_fingerprint: signer.fingerprint,
    cert_not_before: '2025-01-01T00:00:00.000Z',
    cert_not_after: '2028-01-01T00:00:00.000Z',
    chain: [{ subject: signer.issuer, issuer: 'CN=Root CA, C=VN', serialNumber: '02', fingerprintSha256: 'ab'.repeat(32), notBefore: '2020-01-01T00:00:00.000Z', notAfter: '2035-01-01T00:00:00.000Z', keyBits: 4096 }],
    revocation: { method: 'crl', crlNumber: 1 + (i % 30), thisUpdate: '2026-01-01T00:00:00.000Z' },
    verdict: rejected ? 'rejected' : 'accepted',
    reason_code: rejected ? 'CERT_REVOKED' : null,
    detail: rejected ? 'the signer certificate was revoked on 2025-12-01' : null,
    flags: i % 50 === 1 ? ['weak'] : []
  }
}

const COLUMNS = [...CANONICAL_COLUMNS, 'prev_hash', 'entry_hash']

/** The log of `count` entries as COPY text, about 1 MB per chunk. */
async function * lines (count: number): AsyncGenerator<string> {
  let prev = GENESIS_HASH
  let chunk = ''
  for (let i = 0; i < count; i++) {
    const row = entry(i, i + 1)
    const hash = signatureLogEntryHash(prev, canonicalSignatureLogRow(row as SignatureLogRow))
    chunk += COLUMNS.map((c) => {
      const v = c === 'prev_hash' ? prev : c === 'entry_hash' ? hash : row[c]
      if (c === 'flags') return `{${(v as string[]).join(',')}}`
      return copyText(v != null && typeof v === 'object' ? JSON.stringify(v) : v)
    }).join('\t') + '\n'
    prev = hash
    if (chunk.length > 1 << 20) { yield chunk; chunk = '' }
  }
  if (chunk !== '') yield chunk
}

async function seed (): Promise<number> {
  const client = new pg.Client({ connectionString: URL })
  await client.connect()
  await client.query(`SET search_path TO ${schema}`)
  const started = performance.now()
  const copy = client.query(copyFrom(`COPY signature_log (${COLUMNS.join(', ')}) FROM STDIN`))
  await pipeline(lines(ENTRIES), copy)
  await client.query(`SELECT setval(pg_get_serial_sequence('signature_log', 'id'), ${ENTRIES})`)
  await client.query('ANALYZE signature_log')
  await client.end()
  return performance.now() - started
}

/** The floor: the walk's binary COPY read whole into one SHA-256 (no decoding, no per-entry hash). */
async function copyAndHashOnly (): Promise<number> {
  const client = new pg.Client({ connectionString: URL })
  await client.connect()
  await client.query(`SET search_path TO ${schema}`)
  const hash = createHash('sha256')
  let bytes = 0
  for await (const chunk of client.query(copyTo(`COPY (SELECT ${COPY_SELECT} FROM signature_log ORDER BY id) TO STDOUT (FORMAT binary)`))) {
    hash.update(chunk as Buffer)
    bytes += (chunk as Buffer).length
  }
  hash.digest()
  await client.end()
  return bytes
}

/** The same log in an embedded PGlite (a temporary directory), seeded by COPY from /dev/blob. */
async function seedPglite (dir: string): Promise<number> {
  const setup = await openPglite(dir)
  await migrate(setup)
  await setup.close()
  const raw = await PGlite.create(dir)
  const started = performance.now()
  let parts: string[] = []
  let size = 0
  const flush = async (): Promise<void> => {
    if (parts.length === 0) return
    await raw.query(`COPY signature_log (${COLUMNS.join(', ')}) FROM '/dev/blob'`, [], { blob: new Blob(parts) })
    parts = []
    size = 0
  }
  for await (const chunk of lines(PGLITE_ENTRIES)) {
    parts.push(chunk)
    size += chunk.length
    if (size > 64 << 20) await flush()
  }
  await flush()
  await raw.query(`SELECT setval(pg_get_serial_sequence('signature_log', 'id'), ${PGLITE_ENTRIES})`)
  await raw.query('ANALYZE signature_log')
  await raw.close()
  return performance.now() - started
}

async function time<T> (fn: () => Promise<T>): Promise<{ ms: number, cpuMs: number, value: T }> {
  const cpu = process.cpuUsage()
  const started = performance.now()
  const value = await fn()
  const used = process.cpuUsage(cpu)
  return { ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000, value }
}

type Row = [what: string, entries: number, run: { ms: number, cpuMs: number }, note: string]
const perEntry = (ms: number, n: number): string => `${((ms * 1000) / n).toFixed(1)} µs`
const line = ([what, n, run, note]: Row): string =>
  `| ${what} | ${n.toLocaleString('en')} | ${(run.ms / 1000).toFixed(2)} s | ${perEntry(run.ms, n)} | ${perEntry(run.cpuMs, n)} | ${note} |`

const db = await openPostgres({ connectionString: URL, schema })
const pgliteDir = await mkdtemp(join(tmpdir(), 'bench-audit-pglite-'))
try {
  await migrate(db)
  const load = loadavg().map((l) => l.toFixed(2)).join(' ')
  const seedMs = await seed()
  process.stderr.write(`seeded ${ENTRIES} entries in ${(seedMs / 1000).toFixed(1)} s\n`)
  const rows: Row[] = []
  // Baselines, same run: the row-object path (Dates, parsed jsonb, generic canonical form) on a
  // slice, and the bytes of the walk's COPY hashed as one stream (what no verifier can beat).
  const baseline = await time(async () => {
    let prev = GENESIS_HASH
    let after = 0
    while (after < BASELINE) {
      const { rows } = await db.query<SignatureLogRow>(`SELECT ${SIGNATURE_LOG_COLUMNS} FROM signature_log WHERE id > $1 AND id <= $2 ORDER BY id LIMIT 1000`, [after, BASELINE])
      for (const row of rows) {
        if (row.prev_hash !== prev || signatureLogEntryHash(prev, canonicalSignatureLogRow(row)) !== row.entry_hash) throw new Error(`baseline: broken at ${String(row.id)}`)
        prev = row.entry_hash
        after = Number(row.id)
      }
      if (rows.length === 0) break
    }
  })
  rows.push(['baseline: row objects + generic canonical form (the path before the binary COPY)', BASELINE, baseline, 'same run'])
  const floor = await time(copyAndHashOnly)
  rows.push(['baseline: the same binary COPY hashed as one stream (no decoding, no per-entry hash)', ENTRIES, floor, `${(floor.value / 1e6).toFixed(0)} MB`])
  for (const batchSize of [DEFAULT_BATCH_SIZE]) {
    const run = await time(async () => await verifySignatureLogChain(db, { batchSize }))
    if (!run.value.ok || run.value.entries !== ENTRIES) throw new Error('verify: not intact')
    rows.push([`**audit verify** (verifySignatureLogChain, --batch-size ${batchSize})`, ENTRIES, run, `${ENTRIES} entries intact`])
  }
  const hub = await exampleHubIdentity()
  const checkpoint = await time(async () => await issueCheckpoint(db, hub))
  rows.push(['first checkpoint (walks the whole log, then signs)', ENTRIES, checkpoint, ''])
  const integrity = await time(async () => await checkSignatureLogIntegrity(db, [hub.fingerprintSha256]))
  if (!integrity.value.ok) throw new Error('integrity: not ok')
  rows.push(['**integrity endpoint check** (checkSignatureLogIntegrity)', ENTRIES, integrity, `consistent with checkpoint #${String(integrity.value.checkpoint?.id)}`])
  let bytes = 0
  let peakRss = process.memoryUsage().rss
  const rssBefore = peakRss
  const exported = await time(async () => {
    await pipeline(signatureLogExport(db, {}, 'csv'), new Writable({
      write (chunk: Buffer, _enc, done) {
        bytes += chunk.length
        peakRss = Math.max(peakRss, process.memoryUsage().rss)
        done()
      }
    }))
  })
  rows.push(['CSV export of every entry into a counting sink', ENTRIES, exported, `${(bytes / 1e6).toFixed(0)} MB; RSS ${(rssBefore / 1e6).toFixed(0)} -> peak ${(peakRss / 1e6).toFixed(0)} MB`])
  // A break in the middle of the chain: found at its entry, after verifying every one before it.
  const middle = Math.max(1, Math.floor(ENTRIES / 2))
  await db.query('ALTER TABLE signature_log DISABLE TRIGGER USER')
  await db.query("UPDATE signature_log SET detail = 'rewritten' WHERE id = $1", [middle])
  const tampered = await time(async () => await verifySignatureLogChain(db))
  if (tampered.value.ok || tampered.value.firstBrokenId !== middle || tampered.value.entries !== middle - 1 || tampered.value.reason !== 'hash-mismatch') {
    throw new Error(`tampered log: expected a hash-mismatch at #${middle}, got ${JSON.stringify(tampered.value)}`)
  }
  rows.push([`audit verify of the log with entry #${middle} rewritten`, middle, tampered, `BROKEN at #${middle} (hash-mismatch), ${middle - 1} intact before it`])
  await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  const pgliteSeedMs = PGLITE_ENTRIES > 0 ? await seedPglite(pgliteDir) : 0
  if (PGLITE_ENTRIES > 0) {
    process.stderr.write(`seeded ${PGLITE_ENTRIES} entries into PGlite in ${(pgliteSeedMs / 1000).toFixed(1)} s\n`)
    const embedded = await openPglite(pgliteDir)
    try {
      const run = await time(async () => await verifySignatureLogChain(embedded))
      if (!run.value.ok || run.value.entries !== PGLITE_ENTRIES) throw new Error('PGlite verify: not intact')
      rows.push(['**audit verify on PGlite** (embedded, same process)', PGLITE_ENTRIES, run, `peak RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB after`])
    } finally {
      await embedded.close()
    }
  }
  const loadAfter = loadavg().map((l) => l.toFixed(2)).join(' ')
  const out = [
    `### Signature log verification (${new Date().toISOString().slice(0, 10)}, ${ENTRIES.toLocaleString('en')} entries)`,
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, PostgreSQL at ${URL.replace(/\/\/[^@]*@/, '//')} (same host). Load average before ${load}, after ${loadAfter} (machine shared with other jobs).`,
    `Command: \`npm run bench:audit -- --entries ${ENTRIES}\`; log seeded by COPY in ${(seedMs / 1000).toFixed(1)} s. "CPU" is this process's user+system time (the database server's is not in it).`,
    '',
    '| what | entries | wall time | per entry | CPU per entry | note |',
    '|---|---|---|---|---|---|',
    ...rows.map(line)
  ]
  process.stdout.write(out.join('\n') + '\n')
} finally {
  await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {})
  await db.close()
  await rm(pgliteDir, { recursive: true, force: true })
}
