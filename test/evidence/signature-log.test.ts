import t from 'tap'
import { execFile, spawn } from 'node:child_process'
import { createHash, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Database, Queryable } from '../../src/db/database.js'
import { migrate } from '../../src/db/migrate.js'
import { openPglite } from '../../src/db/pglite-database.js'
import { openPostgres } from '../../src/db/postgres-database.js'
import {
  appendSignatureLog, entryFromVerdict, readSignatureLogEntry, type SignatureLogEntryInput
} from '../../src/evidence/signature-log.js'
import {
  GENESIS_HASH, canonicalJson, canonicalSignatureLogRow, signatureLogEntryHash, verifySignatureLogChain
} from '../../src/evidence/signature-log-chain.js'
import { verifyDocument } from '../../src/verification/verify-document.js'
import type { CertificateSummary } from '../../src/domain/verdict.js'
import { CLI, childEnv } from '../helpers/cli.js'
import { FIXTURES, ROOT, examplePolicy } from '../helpers/example-pki.js'
import { TEST_DATABASE_URL, testDatabase, testPglite } from '../helpers/database.js'

const run = promisify(execFile)

const SIGNER: CertificateSummary = {
  subject: 'C=VN, ST=Hà Nội, O=Văn phòng Chính phủ, CN=Văn phòng Chính phủ, UID=000.00.00.G22',
  issuer: 'C=VN, O=Example PKI (NOT FOR PRODUCTION), CN=Example Government Issuing CA',
  serialNumber: '72ccce38f3f38446a7646be329b3d323',
  fingerprintSha256: 'b2c57363a7f84122a8d69fa7ffba71a4b72aa2fdedd7c0d58e0e1d64e6a70770',
  notBefore: '2026-12-06T03:09:03.000Z',
  notAfter: '2031-12-07T03:09:03.000Z',
  keyBits: 2048
}

let serial = 0
function sample (overrides: Partial<SignatureLogEntryInput> = {}): SignatureLogEntryInput {
  serial++
  return {
    requestId: `req-${serial}`,
    claimedAgency: '000.00.00.G22',
    authenticatedAgency: '000.00.00.G22',
    edxmlDocumentId: `000.00.00.G22,2026/11/20,${serial}/VPCP`,
    digestSha256: createHash('sha256').update(`doc ${serial}`).digest('hex'),
    sizeBytes: 1000 + serial,
    // Deliberately unsorted keys: jsonb reorders them, the canonical form sorts them.
    algorithms: { transforms: ['enveloped-signature', 'exc-c14n'], signature: 'rsa-sha256', digest: 'sha256', canonicalization: 'exc-c14n' },
    signer: SIGNER,
    chain: [SIGNER],
    revocation: { crlNumbers: { 'C=VN, O=Example PKI (NOT FOR PRODUCTION), CN=Example Government Issuing CA': '1' }, checked: true },
    verdict: 'accepted',
    flags: [],
    ...overrides
  }
}

const append = async (db: Database, entry: SignatureLogEntryInput): Promise<{ id: number, entryHash: string, loggedAt: Date }> =>
  await db.transaction(async (tx) => await appendSignatureLog(tx, entry))

async function links (db: Queryable): Promise<{ id: number, prev_hash: string, entry_hash: string }[]> {
  return (await db.query<{ id: number, prev_hash: string, entry_hash: string }>('SELECT id, prev_hash, entry_hash FROM signature_log ORDER BY id')).rows
}

t.test('the canonical form is the documented one (golden value)', async (t) => {
  const row = {
    id: 7,
    logged_at: new Date('2026-11-25T08:15:30.123Z'),
    request_id: 'r1',
    claimed_agency: '000.00.00.G22',
    authenticated_agency: null,
    edxml_document_id: null,
    hub_document_id: '6F1C1F8E-3B9A-4C7E-9A4E-0D3C2B1A0F9E',
    digest_sha256: 'ab',
    size_bytes: '12',
    algorithms: { signature: 'rsa-sha256', digest: 'sha256' },
    cert_subject: 'CN=Bộ Tài chính',
    cert_issuer: null,
    cert_serial: null,
    cert_fingerprint: null,
    cert_not_before: '2026-11-24T20:50:59Z',
    cert_not_after: null,
    chain: null,
    revocation: '{"z": 1, "a": {"y": "\\n", "b": [true, null]}}',
    verdict: 'rejected',
    reason_code: 'CERT_REVOKED',
    detail: 'line "one"\nline\ttwo',
    flags: ['weak']
  }
  const expected = '{"algorithms":{"digest":"sha256","signature":"rsa-sha256"},"authenticated_agency":null,' +
    '"cert_fingerprint":null,"cert_issuer":null,"cert_not_after":null,"cert_not_before":"2026-11-24T20:50:59.000Z",' +
    '"cert_serial":null,"cert_subject":"CN=Bộ Tài chính","chain":null,"claimed_agency":"000.00.00.G22",' +
    '"detail":"line \\"one\\"\\nline\\ttwo","digest_sha256":"ab","edxml_document_id":null,"flags":["weak"],' +
    '"hub_document_id":"6f1c1f8e-3b9a-4c7e-9a4e-0d3c2b1a0f9e","id":7,"logged_at":"2026-11-25T08:15:30.123Z",' +
    '"reason_code":"CERT_REVOKED","request_id":"r1","revocation":{"a":{"b":[true,null],"y":"\\n"},"z":1},' +
    '"size_bytes":12,"verdict":"rejected"}'
  t.equal(canonicalSignatureLogRow(row), expected)
  t.equal(signatureLogEntryHash(GENESIS_HASH, expected),
    createHash('sha256').update(`${'0'.repeat(64)}\n${expected}`, 'utf8').digest('hex'))
  // Code point order, not UTF-16 order: U+FF5E sorts before U+1F600 (the surrogate pair D83D DE00).
  t.equal(canonicalJson({ '\u{1F600}': 1, '\uFF5E': 2, a: 3 }), '{"a":3,"～":2,"😀":1}')
  t.equal(canonicalJson({ a: undefined, b: [undefined] }), '{"b":[null]}')
  t.throws(() => canonicalSignatureLogRow({ ...row, size_bytes: 1.5 }), /size_bytes: not a safe integer/)
  t.throws(() => canonicalSignatureLogRow({ ...row, logged_at: 'yesterday' }), /logged_at: not a timestamp/)
})

t.test('PostgreSQL: entries appended in separate transactions form an intact chain', async (t) => {
  const db = await testDatabase(t)
  t.same(await verifySignatureLogChain(db), { ok: true, entries: 0, headId: null, headHash: GENESIS_HASH }, 'empty log')

  const appended = []
  appended.push(await append(db, sample()))
  appended.push(await append(db, sample({ verdict: 'rejected', reasonCode: 'SENDER_MISMATCH', detail: 'Bộ Tài chính ≠ "VPCP"\nsecond line', signer: undefined, chain: undefined })))
  appended.push(await append(db, sample({ verdict: 'duplicate', hubDocumentId: randomUUID().toUpperCase(), detail: 'duplicate' })))
  appended.push(await append(db, sample({ flags: ['weak'], loggedAt: new Date('2027-01-01T00:00:00.001Z'), algorithms: { signature: 'rsa-sha1' } })))
  appended.push(await append(db, sample({ requestId: undefined, claimedAgency: undefined, authenticatedAgency: undefined, edxmlDocumentId: undefined, algorithms: undefined, revocation: undefined, signer: undefined, chain: undefined, flags: undefined, verdict: 'rejected', reasonCode: 'XML_MALFORMED' })))

  const rows = await links(db)
  t.equal(rows.length, 5)
  t.equal(rows[0]!.prev_hash, GENESIS_HASH, 'the first entry links to genesis')
  for (let i = 1; i < rows.length; i++) t.equal(rows[i]!.prev_hash, rows[i - 1]!.entry_hash, `entry ${rows[i]!.id} links to ${rows[i - 1]!.id}`)
  t.same(rows.map((r) => r.id), appended.map((a) => a.id), 'ids returned')
  t.same(rows.map((r) => r.entry_hash), appended.map((a) => a.entryHash), 'hashes returned')

  const last = appended[4]!
  t.same(await verifySignatureLogChain(db), { ok: true, entries: 5, headId: last.id, headHash: last.entryHash })
  t.same(await verifySignatureLogChain(db, { batchSize: 2 }), { ok: true, entries: 5, headId: last.id, headHash: last.entryHash }, 'same over several batches')
  t.same(await verifySignatureLogChain(db, { batchSize: 1 }), { ok: true, entries: 5, headId: last.id, headHash: last.entryHash }, 'batch of one')
  t.same(await verifySignatureLogChain(db, { batchSize: 5 }), { ok: true, entries: 5, headId: last.id, headHash: last.entryHash }, 'batch = table size')

  const read = await readSignatureLogEntry(db, appended[3]!.id)
  t.equal(read?.loggedAt.toISOString(), '2027-01-01T00:00:00.001Z', 'milliseconds round-trip')
  t.same(read?.flags, ['weak'])
  t.same(read?.algorithms, { signature: 'rsa-sha1' })
  const { keyBits, ...signerColumns } = SIGNER
  t.equal(keyBits, 2048)
  t.same(read?.signer, signerColumns, 'signer from the cert_* columns (keyBits is only in chain)')
  t.same(read?.chain, [SIGNER])
  const dup = await readSignatureLogEntry(db, appended[2]!.id)
  t.match(dup?.hubDocumentId, /^[0-9a-f-]{36}$/, 'uuid stored lower-case')
  const bare = await readSignatureLogEntry(db, last.id)
  t.same(bare?.flags, [])
  t.notOk('signer' in (bare ?? {}), 'no signer for an entry without one')
  t.equal(await readSignatureLogEntry(db, 999999), undefined)
})

t.test('PostgreSQL: 20 concurrent appenders from two pools serialise into one chain', async (t) => {
  const db = await testDatabase(t, { max: 10 })
  // A second pool on the same schema stands in for a second hub process.
  const other = await openPostgres({ connectionString: TEST_DATABASE_URL, schema: db.schema, max: 10 })
  t.teardown(async () => { await other.close() })
  const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    const pool = i % 2 === 0 ? db : other
    return await pool.transaction(async (tx) => {
      // Hold the transaction open a little after appending, so the others really queue on the lock.
      const appended = await appendSignatureLog(tx, sample({ requestId: `parallel-${i}` }))
      await tx.query('SELECT pg_sleep(0.01)')
      return appended
    })
  }))
  t.equal(new Set(results.map((r) => r.id)).size, 20, '20 distinct ids')
  const rows = await links(db)
  t.equal(rows.length, 20)
  t.equal(rows[0]!.prev_hash, GENESIS_HASH)
  for (let i = 1; i < rows.length; i++) t.equal(rows[i]!.prev_hash, rows[i - 1]!.entry_hash, `entry ${rows[i]!.id} links to the one before`)
  const report = await verifySignatureLogChain(db, { batchSize: 7 })
  t.same(report, { ok: true, entries: 20, headId: rows[19]!.id, headHash: rows[19]!.entry_hash })
  const times = (await db.query<{ logged_at: Date }>('SELECT logged_at FROM signature_log ORDER BY id')).rows.map((r) => r.logged_at.getTime())
  t.ok(times.every((time, i) => i === 0 || time >= times[i - 1]!), 'logged_at follows id order (taken under the lock)')
})

t.test('PostgreSQL: appending outside a READ COMMITTED transaction is refused', async (t) => {
  const db = await testDatabase(t)
  await t.rejects(appendSignatureLog(db, sample()), /must be called inside a transaction/)
  await t.rejects(db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ')
    return await appendSignatureLog(tx, sample())
  }), /needs a READ COMMITTED transaction, not repeatable read/)
  t.equal((await links(db)).length, 0, 'nothing was appended')
  await t.rejects(append(db, sample({ sizeBytes: -1 })), /sizeBytes must be a non-negative integer/)
  await t.rejects(append(db, sample({ verdict: 'maybe' as never })), /unknown verdict/)
})

t.test('PostgreSQL: strings PostgreSQL cannot store are cleaned, and the chain still verifies', async (t) => {
  const db = await testDatabase(t)
  const { id } = await append(db, sample({
    verdict: 'rejected',
    reasonCode: 'XML_MALFORMED',
    edxmlDocumentId: 'id\u0000with-nul',
    detail: 'lone \uD800 surrogate, pair \u{1F600}',
    revocation: { crlNumbers: { 'CN=\u0000': null }, checked: false }
  }))
  const read = await readSignatureLogEntry(db, id)
  t.equal(read?.edxmlDocumentId, 'id\uFFFDwith-nul')
  t.equal(read?.detail, 'lone \uFFFD surrogate, pair \u{1F600}')
  t.same(read?.revocation, { crlNumbers: { 'CN=\uFFFD': null }, checked: false })
  t.equal((await verifySignatureLogChain(db)).ok, true)
})

t.test('PostgreSQL: the triggers refuse UPDATE, DELETE and TRUNCATE', async (t) => {
  const db = await testDatabase(t)
  const { id } = await append(db, sample())
  await t.rejects(db.query('UPDATE signature_log SET reason_code = $1 WHERE id = $2', ['X', id]),
    { message: 'signature_log is append-only: UPDATE refused', code: '42501' })
  await t.rejects(db.query('DELETE FROM signature_log WHERE id = $1', [id]),
    { message: 'signature_log is append-only: DELETE refused', code: '42501' })
  await t.rejects(db.query('TRUNCATE signature_log CASCADE'),
    { message: 'signature_log is append-only: TRUNCATE refused', code: '42501' })
  t.same(await verifySignatureLogChain(db), { ok: true, entries: 1, headId: id, headHash: (await links(db))[0]!.entry_hash })
})

/** Five entries, then the superuser turns the append-only triggers off (what an insider could do). */
async function tamperable (t: Tap): Promise<{ db: Database & { schema: string }, ids: number[] }> {
  const db = await testDatabase(t)
  const ids: number[] = []
  for (let i = 0; i < 5; i++) ids.push((await append(db, sample())).id)
  await db.query('ALTER TABLE signature_log DISABLE TRIGGER USER')
  return { db, ids }
}
type Tap = Parameters<typeof testDatabase>[0]

t.test('PostgreSQL: a changed row is a hash-mismatch at that row', async (t) => {
  const { db, ids } = await tamperable(t)
  const [before] = (await db.query<{ entry_hash: string }>('SELECT entry_hash FROM signature_log WHERE id = $1', [ids[2]])).rows
  await db.query('UPDATE signature_log SET reason_code = $1 WHERE id = $2', ['CERT_REVOKED', ids[2]])
  const report = await verifySignatureLogChain(db, { batchSize: 2 })
  t.match(report, { ok: false, entries: 2, firstBrokenId: ids[2], reason: 'hash-mismatch', found: before!.entry_hash })
  t.ok(!report.ok && /^[0-9a-f]{64}$/.test(report.expected) && report.expected !== report.found, 'expected is the recomputed hash')
})

t.test('PostgreSQL: a deleted middle row is a link-broken at the next row', async (t) => {
  const { db, ids } = await tamperable(t)
  const hashes = (await links(db)).map((r) => r.entry_hash)
  await db.query('DELETE FROM signature_log WHERE id = $1', [ids[2]])
  t.same(await verifySignatureLogChain(db), {
    ok: false, entries: 2, firstBrokenId: ids[3], reason: 'link-broken', expected: hashes[1], found: hashes[2]
  })
})

t.test('PostgreSQL: a changed row whose entry_hash was recomputed is a link-broken at the next row', async (t) => {
  const { db, ids } = await tamperable(t)
  await db.query('UPDATE signature_log SET verdict = $1 WHERE id = $2', ['rejected', ids[1]])
  const { rows: [changed] } = await db.query<Parameters<typeof canonicalSignatureLogRow>[0] & { prev_hash: string }>('SELECT * FROM signature_log WHERE id = $1', [ids[1]])
  const forged = signatureLogEntryHash(changed!.prev_hash, canonicalSignatureLogRow(changed!))
  await db.query('UPDATE signature_log SET entry_hash = $1 WHERE id = $2', [forged, ids[1]])
  t.match(await verifySignatureLogChain(db), { ok: false, entries: 2, firstBrokenId: ids[2], reason: 'link-broken', expected: forged })
})

t.test('PostgreSQL: the first row is checked against genesis', async (t) => {
  const { db, ids } = await tamperable(t)
  await db.query('DELETE FROM signature_log WHERE id = $1', [ids[0]])
  t.match(await verifySignatureLogChain(db), { ok: false, entries: 0, firstBrokenId: ids[1], reason: 'link-broken', expected: GENESIS_HASH })
})

// The CLI in a real process: a tiny entry that mounts the compiled auditCommand() as main.ts does
// (same error handling), so these tests depend on this command only; one test below goes through
// main.ts. Compiled (test/helpers/cli.ts): a process starts on a third of tsx's CPU.
const ENTRY = `
import { Command } from 'commander'
import { auditCommand } from './dist/cli/audit-command.js'
const program = new Command('lienthong').addCommand(auditCommand())
try {
  await program.parseAsync(process.argv.slice(1), { from: 'user' })
} catch (err) {
  process.stderr.write('lienthong: ' + err.message + '\\n')
  process.exitCode = 2
}
`
async function cli (args: string[], env: NodeJS.ProcessEnv = {}, via: 'entry' | 'main' = 'entry'): Promise<{ code: number, stdout: string, stderr: string }> {
  const argv = via === 'main' ? [CLI, ...args] : ['--input-type=module', '-e', ENTRY, ...args]
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, {
      cwd: ROOT,
      env: childEnv({ DATABASE_URL: '', LIENTHONG_DATA_DIR: '', ...env }),
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('error', reject)
    child.on('close', (code) => { resolve({ code: code ?? -1, stdout, stderr }) })
  })
}

t.test('CLI: main.ts registers audit verify', async (t) => {
  const db = await testDatabase(t)
  const { entryHash, id } = await append(db, sample())
  const result = await cli(['audit', 'verify', '--database-url', TEST_DATABASE_URL, '--schema', db.schema], {}, 'main')
  t.equal(result.stdout.split('\n')[0], `signature log intact: 1 entries, head #${id} ${entryHash}`, result.stderr)
  t.equal(result.code, 0)
})

t.test('CLI: lienthong audit verify over PostgreSQL', async (t) => {
  const { db, ids } = await tamperable(t)
  const head = (await links(db)).at(-1)!

  const ok = await cli(['audit', 'verify', '--database-url', TEST_DATABASE_URL, '--schema', db.schema, '--batch-size', '2'])
  t.equal(ok.stdout.split('\n')[0], `signature log intact: 5 entries, head #${head.id} ${head.entry_hash}`, ok.stderr)
  t.match(ok.stdout, /\n {2}no signed checkpoint in the database yet: a truncated tail cannot be detected/, 'says what it cannot see')
  t.equal(ok.code, 0)

  const viaEnv = await cli(['audit', 'verify'], { DATABASE_URL: `${TEST_DATABASE_URL}?options=-c%20search_path%3D${db.schema}` })
  t.equal(viaEnv.stdout, ok.stdout, 'DATABASE_URL is the default')
  t.equal(viaEnv.code, 0)

  await db.query('UPDATE signature_log SET reason_code = $1 WHERE id = $2', ['CERT_REVOKED', ids[3]])
  const broken = await cli(['audit', 'verify', '--database-url', TEST_DATABASE_URL, '--schema', db.schema])
  t.equal(broken.stdout.split('\n')[0], `signature log BROKEN at entry #${ids[3]}: hash-mismatch`, broken.stderr)
  t.match(broken.stdout, /stored [0-9a-f]{64}, recomputed [0-9a-f]{64}\n {2}3 entries before it verify intact\n$/)
  t.equal(broken.code, 1)

  await db.query('DELETE FROM signature_log WHERE id = $1', [ids[1]])
  const gap = await cli(['audit', 'verify', '--database-url', TEST_DATABASE_URL, '--schema', db.schema])
  t.equal(gap.stdout.split('\n')[0], `signature log BROKEN at entry #${ids[2]}: link-broken`)
  t.equal(gap.code, 1)

  const missing = await cli(['audit', 'verify', '--database-url', TEST_DATABASE_URL, '--schema', 'no_such_schema_here'])
  t.equal(missing.code, 2)
  t.equal(missing.stdout, '')
  t.match(missing.stderr, /^lienthong: this database has no signature_log table/)
  const schemas = await db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', ['no_such_schema_here'])
  t.equal(schemas.rows.length, 0, 'the audit created nothing')
})

t.test('CLI: lienthong audit verify over the embedded database (PGlite)', async (t) => {
  const dataDir = t.testdir()
  const db = await openPglite(join(dataDir, 'pglite'))
  await migrate(db)
  const appended = [await append(db, sample()), await append(db, sample({ verdict: 'rejected', reasonCode: 'CERT_REVOKED' }))]
  await db.close()
  const head = appended[1]!

  const ok = await cli(['audit', 'verify', '--data-dir', dataDir])
  t.equal(ok.stdout.split('\n')[0], `signature log intact: 2 entries, head #${head.id} ${head.entryHash}`, ok.stderr)
  t.equal(ok.code, 0)
  const direct = await cli(['audit', 'verify', '--data-dir', join(dataDir, 'pglite')])
  t.equal(direct.stdout, ok.stdout, 'the PGlite directory itself is accepted')
  const viaEnv = await cli(['audit', 'verify'], { LIENTHONG_DATA_DIR: dataDir })
  t.equal(viaEnv.stdout, ok.stdout, 'LIENTHONG_DATA_DIR is the default')

  const empty = t.testdir()
  const none = await cli(['audit', 'verify', '--data-dir', empty])
  t.equal(none.code, 2)
  t.match(none.stderr, /^lienthong: no embedded database in /)
  const { readdirSync } = await import('node:fs')
  t.same(readdirSync(empty), [], 'no database was created where none was')
})

t.test('PGlite: append and verify', async (t) => {
  const db = await testPglite(t)
  const appended = []
  for (let i = 0; i < 4; i++) appended.push(await append(db, sample({ flags: i % 2 === 0 ? ['weak'] : [] })))
  const results = await Promise.all([1, 2, 3].map(async () => await append(db, sample())))
  t.equal(new Set(results.map((r) => r.id)).size, 3)
  const report = await verifySignatureLogChain(db, { batchSize: 3 })
  t.match(report, { ok: true, entries: 7 })
  await db.query('ALTER TABLE signature_log DISABLE TRIGGER USER')
  await db.query('UPDATE signature_log SET size_bytes = size_bytes + 1 WHERE id = $1', [appended[1]!.id])
  t.match(await verifySignatureLogChain(db), { ok: false, entries: 1, firstBrokenId: appended[1]!.id, reason: 'hash-mismatch' })
})

t.test('entryFromVerdict over the real corpus', async (t) => {
  const policy = await examplePolicy()
  const validBytes = readFileSync(join(FIXTURES, 'signatures', 'valid', 'own-exc-rsa-sha256-one-recipient.edxml'))
  const accepted = await verifyDocument(validBytes, policy)
  if (accepted.verdict !== 'accepted') throw new Error(`fixture rejected: ${accepted.detail}`)
  const hubDocumentId = randomUUID()
  const acceptedEntry = entryFromVerdict(accepted, { requestId: 'req-a', authenticatedAgency: '000.00.00.G22', sizeBytes: validBytes.length, hubDocumentId })
  t.same(acceptedEntry, {
    requestId: 'req-a',
    authenticatedAgency: '000.00.00.G22',
    hubDocumentId,
    sizeBytes: validBytes.length,
    digestSha256: createHash('sha256').update(validBytes).digest('hex'),
    claimedAgency: '000.00.00.G22',
    edxmlDocumentId: '000.00.00.G22,2026/11/20,1234/VPCP-KSTT',
    algorithms: accepted.algorithms,
    signer: accepted.signer,
    chain: accepted.chain,
    revocation: accepted.revocation,
    verdict: 'accepted',
    flags: []
  })

  const weakBytes = readFileSync(join(FIXTURES, 'signatures', 'valid', 'own-sha1-agency-allows-weak.edxml'))
  const weak = await verifyDocument(weakBytes, policy)
  t.same(entryFromVerdict(weak, { sizeBytes: weakBytes.length }).flags, ['weak'], 'an allowed SHA-1 signature is flagged weak')

  const invalidBytes = readFileSync(join(FIXTURES, 'signatures', 'invalid', 'SENDER_MISMATCH.signed-with-another-agency-certificate.edxml'))
  const rejected = await verifyDocument(invalidBytes, policy)
  if (rejected.verdict !== 'rejected') throw new Error('fixture accepted')
  const rejectedEntry = entryFromVerdict(rejected, { sizeBytes: invalidBytes.length, authenticatedAgency: '000.00.00.G22' })
  t.match(rejectedEntry, {
    verdict: 'rejected',
    reasonCode: 'SENDER_MISMATCH',
    detail: /is not registered to agency 000\.00\.00\.G22/,
    claimedAgency: '000.00.00.G22',
    authenticatedAgency: '000.00.00.G22',
    edxmlDocumentId: '000.00.00.G22,2026/11/20,1234/VPCP-KSTT',
    signer: { subject: /UID=000\.00\.00\.G12/ },
    flags: []
  })
  t.notOk('chain' in rejectedEntry, 'no validated chain for a rejection')
  t.notOk('requestId' in rejectedEntry)

  const xmlBytes = readFileSync(join(FIXTURES, 'signatures', 'invalid', 'XML_MALFORMED.not-xml.edxml'))
  const malformed = await verifyDocument(xmlBytes, policy)
  const malformedEntry = entryFromVerdict(malformed, { sizeBytes: xmlBytes.length })
  t.match(malformedEntry, { verdict: 'rejected', reasonCode: 'XML_MALFORMED', sizeBytes: xmlBytes.length })
  t.notOk('claimedAgency' in malformedEntry, 'nothing claimed when nothing was read')

  // All three go into the log and read back as they went in.
  const db = await testDatabase(t)
  const a = await append(db, acceptedEntry)
  const r = await append(db, rejectedEntry)
  await append(db, malformedEntry)
  const readA = await readSignatureLogEntry(db, a.id)
  t.match(readA, { verdict: 'accepted', claimedAgency: '000.00.00.G22', hubDocumentId, chain: accepted.chain, revocation: accepted.revocation, algorithms: accepted.algorithms, entryHash: a.entryHash, prevHash: GENESIS_HASH })
  t.equal(readA?.signer?.fingerprintSha256, accepted.signer?.fingerprintSha256)
  t.match(await readSignatureLogEntry(db, r.id), { verdict: 'rejected', reasonCode: 'SENDER_MISMATCH', prevHash: a.entryHash })
  t.match(await verifySignatureLogChain(db), { ok: true, entries: 3 })
})

const have = async (cmd: string): Promise<boolean> => await run(cmd, ['--version']).then(() => true, () => false)
const recipeTools = (await have('python3')) && (await have('psql'))

t.test('docs/signature-log.md: the psql export + Python recipe agrees with the hub', { skip: recipeTools ? false : 'python3 or psql is not installed' }, async (t) => {
  const doc = readFileSync(join(ROOT, 'docs', 'signature-log.md'), 'utf8')
  const sql = /```sql\n([\s\S]*?)```/.exec(doc)?.[1]
  const script = /```python\n([\s\S]*?)```/.exec(doc)?.[1]
  if (sql == null || script == null) throw new Error('the doc lost its sql or python block')
  const dir = t.testdir({ 'export.sql': sql, 'check_log.py': script })

  const { db, ids } = await tamperable(t)
  await append(db, sample({
    verdict: 'rejected',
    detail: 'xuống dòng\nvà "ngoặc" \\ tab\t\u0001 \u2028 😀',
    revocation: { crlNumbers: { 'CN=Ủy ban, O=Z': '7', 'CN=A': null, 'CN=😀': '1', 'CN=～': '2' }, checked: true }
  }))
  // Exactly the documented commands: psql -Atq ... -f export.sql > log.jsonl; python3 check_log.py < log.jsonl
  const recipe = async (): Promise<{ code: number, out: string }> => {
    const exported = await run('psql', [TEST_DATABASE_URL, '-Atq', '-c', `SET search_path TO ${db.schema}`, '-f', join(dir, 'export.sql')], { maxBuffer: 1 << 24 })
    return await new Promise((resolve) => {
      const child = spawn('python3', [join(dir, 'check_log.py')], { stdio: ['pipe', 'pipe', 'pipe'] })
      let out = ''
      child.stdout.on('data', (d: Buffer) => { out += d.toString() })
      child.stderr.on('data', (d: Buffer) => { out += d.toString() })
      child.on('close', (code) => { resolve({ code: code ?? -1, out }) })
      child.stdin.end(exported.stdout)
    })
  }

  const report = await verifySignatureLogChain(db)
  if (!report.ok) throw new Error('chain broken before tampering')
  const intact = await recipe()
  t.equal(intact.out, `signature log intact: 6 entries, head ${report.headHash}\n`)
  t.equal(intact.code, 0)

  await db.query('UPDATE signature_log SET detail = $1 WHERE id = $2', ['changed', ids[2]])
  const broken = await recipe()
  t.equal(broken.out, `signature log BROKEN at entry #${ids[2]}: hash-mismatch\n`)
  t.equal(broken.code, 1)

  await db.query('DELETE FROM signature_log WHERE id = $1', [ids[0]])
  const gap = await recipe()
  t.equal(gap.out, `signature log BROKEN at entry #${ids[1]}: link-broken\n`)
})
