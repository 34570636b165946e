import t from 'tap'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Database } from '../../src/db/database.js'
import { loadHubIdentity } from '../../src/evidence/hub-identity.js'
import { appendSignatureLog } from '../../src/evidence/signature-log.js'
import { canonicalSignatureLogRow, signatureLogEntryHash, verifySignatureLogChain } from '../../src/evidence/signature-log-chain.js'
import {
  CheckpointRefused, compareWithCheckpoint, issueCheckpoint, readCheckpoint, startCheckpoints, verifyCheckpoint
} from '../../src/evidence/signature-log-checkpoints.js'
import { childEnv } from '../helpers/cli.js'
import { PKI, ROOT } from '../helpers/example-pki.js'
import { TEST_DATABASE_URL, testDatabase, type TestPostgres } from '../helpers/database.js'
import { exampleHubIdentity, testHub } from '../helpers/hub.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'

// F13: deleting the LAST entries of the signature log leaves a valid, shorter chain. Signed
// checkpoints of the head (stored, and exported to files kept elsewhere) make it visible:
// `lienthong audit verify` names the truncation ("entries after #N are missing").

const hub = await exampleHubIdentity()
const HUB_FP = hub.fingerprintSha256
let serial = 0

async function append (db: Database, n: number): Promise<Array<{ id: number, entryHash: string }>> {
  const out: Array<{ id: number, entryHash: string }> = []
  for (let i = 0; i < n; i++) {
    serial++
    out.push(await db.transaction(async (tx) => await appendSignatureLog(tx, {
      requestId: `req-${serial}`, claimedAgency: '000.00.00.G22', digestSha256: createHash('sha256').update(`doc ${serial}`).digest('hex'), sizeBytes: serial, verdict: 'accepted'
    })))
  }
  return out
}

/** Deletes the entries with id > afterId as a superuser would (triggers disabled, then back on). */
async function truncateAfter (db: Database, afterId: number): Promise<void> {
  await db.query('ALTER TABLE signature_log DISABLE TRIGGER USER')
  await db.query('DELETE FROM signature_log WHERE id > $1', [afterId])
  await db.query('ALTER TABLE signature_log ENABLE TRIGGER USER')
}

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
async function cli (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', ENTRY, ...args], {
      cwd: ROOT, env: childEnv({ DATABASE_URL: '', LIENTHONG_DATA_DIR: '', LIENTHONG_HUB_CERT: '', LIENTHONG_HUB_KEY: '', LIENTHONG_HUB_CHAIN: '' }), stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('error', reject)
    child.on('close', (code) => { resolve({ code: code ?? -1, stdout, stderr }) })
  })
}
const on = (db: TestPostgres): string[] => ['--database-url', TEST_DATABASE_URL, '--schema', db.schema]

t.test('F13: tail truncation by a superuser (DELETE of the last entries) is reported by audit verify against the newest stored checkpoint', async (t) => {
  const db = await testDatabase(t)
  const entries = await append(db, 5)
  const issued = await cli(['audit', 'checkpoint', ...on(db)])
  t.equal(issued.code, 0, issued.stderr)
  t.match(issued.stdout, new RegExp(`^checkpoint #\\d+ signed: head #${entries[4]!.id} ${entries[4]!.entryHash}, 5 entries, `))

  const before = await cli(['audit', 'verify', ...on(db)])
  t.equal(before.code, 0, before.stderr)
  t.match(before.stdout, /^signature log intact: 5 entries, head #\d+ [0-9a-f]{64}\n {2}consistent with checkpoint #\d+ \(database\): head #\d+, 5 entries, signed /)

  await truncateAfter(db, entries[2]!.id)
  t.equal((await verifySignatureLogChain(db)).ok, true, 'the shortened chain is still a valid chain (what the old audit verify looked at)')
  const after = await cli(['audit', 'verify', ...on(db)])
  t.equal(after.code, 1, 'exit 1: the log is not intact')
  t.equal(after.stdout.split('\n')[0], `signature log TRUNCATED: entries after #${entries[2]!.id} are missing`, after.stdout + after.stderr)
  t.match(after.stdout, new RegExp(`names head #${entries[4]!.id} ${entries[4]!.entryHash} \\(5 entries\\); the log now ends at #${entries[2]!.id} with 3 entries: at least 2 entries were deleted`))
})

t.test('F13: a checkpoint file from before detects truncation even when the database\'s checkpoints were deleted too', async (t) => {
  const db = await testDatabase(t)
  const entries = await append(db, 4)
  const dir = t.testdir()
  const file = join(dir, 'checkpoint.json')
  const issued = await cli(['audit', 'checkpoint', ...on(db), '--out', file])
  t.equal(issued.code, 0, issued.stderr)
  const exported = join(dir, 'exported.json')
  const exportRun = await cli(['audit', 'export-checkpoint', ...on(db), '--out', exported])
  t.equal(exportRun.code, 0, exportRun.stderr)
  t.equal(readFileSync(exported, 'utf8'), readFileSync(file, 'utf8'), 'export writes the very document stored')
  t.match(verifyCheckpoint(JSON.parse(readFileSync(file, 'utf8')), [HUB_FP]), { ok: true, checkpoint: { headId: entries[3]!.id, entries: 4 } }, 'verifiable offline')

  await append(db, 2)
  await truncateAfter(db, entries[0]!.id)
  await db.query('ALTER TABLE signature_log_checkpoints DISABLE TRIGGER USER')
  await db.query('DELETE FROM signature_log_checkpoints')

  const blind = await cli(['audit', 'verify', ...on(db)])
  t.equal(blind.code, 0, 'from the database alone nothing can be seen any more...')
  t.match(blind.stdout, /no signed checkpoint in the database yet/, '...and it says so')
  const withFile = await cli(['audit', 'verify', ...on(db), '--checkpoint', file])
  t.equal(withFile.code, 1)
  t.equal(withFile.stdout.split('\n')[0], `signature log TRUNCATED: entries after #${entries[0]!.id} are missing`, withFile.stdout + withFile.stderr)
  t.match(withFile.stdout, /checkpoint file .*checkpoint\.json, signed by the hub/)
})

t.test('a checkpoint file that was altered or not signed by the hub is refused (exit 2), never trusted', async (t) => {
  const db = await testDatabase(t)
  await append(db, 3)
  const result = await issueCheckpoint(db, hub)
  t.ok(result.issued)
  const signed = result.issued ? result.stored.signed : undefined
  const dir = t.testdir()
  const altered = join(dir, 'altered.json')
  writeFileSync(altered, JSON.stringify({ ...signed, checkpoint: { ...signed!.checkpoint, entries: 2 } }))
  const run = await cli(['audit', 'verify', ...on(db), '--checkpoint', altered])
  t.equal(run.code, 2)
  t.match(run.stderr, /altered\.json: not a valid checkpoint signed by the hub: the signature does not verify/)

  // Signed with an agency's key: a valid signature, but not the hub's.
  const agency = await loadHubIdentity({ keyFile: join(PKI, 'agencies/000.00.00.G22/key.pem'), certFile: join(PKI, 'agencies/000.00.00.G22/cert.pem') })
  const other = await testDatabase(t)
  await append(other, 1)
  const foreign = await issueCheckpoint(other, agency)
  const foreignFile = join(dir, 'foreign.json')
  writeFileSync(foreignFile, foreign.issued ? foreign.stored.text : '')
  const refused = await cli(['audit', 'verify', ...on(db), '--checkpoint', foreignFile])
  t.equal(refused.code, 2)
  t.match(refused.stderr, /which is not the hub certificate given/)
  t.match(verifyCheckpoint(JSON.parse(foreignFile.length > 0 ? readFileSync(foreignFile, 'utf8') : '{}'), [agency.fingerprintSha256]), { ok: true }, 'it does verify for whoever trusts that key')
})

t.test('a log rewritten at the checkpoint head (entry changed, hashes recomputed) DIVERGES from the checkpoint', async (t) => {
  const db = await testDatabase(t)
  const entries = await append(db, 3)
  const result = await issueCheckpoint(db, hub)
  await db.query('ALTER TABLE signature_log DISABLE TRIGGER USER')
  await db.query('UPDATE signature_log SET verdict = \'rejected\' WHERE id = $1', [entries[2]!.id])
  const { rows: [row] } = await db.query<Parameters<typeof canonicalSignatureLogRow>[0] & { prev_hash: string }>('SELECT * FROM signature_log WHERE id = $1', [entries[2]!.id])
  await db.query('UPDATE signature_log SET entry_hash = $1 WHERE id = $2', [signatureLogEntryHash(row!.prev_hash, canonicalSignatureLogRow(row!)), entries[2]!.id])
  const report = await verifySignatureLogChain(db)
  t.equal(report.ok, true, 'the recomputed chain is valid')
  if (report.ok && result.issued) t.match(await compareWithCheckpoint(db, report, result.stored.signed.checkpoint), { ok: false, reason: 'diverged' })
  const run = await cli(['audit', 'verify', ...on(db)])
  t.equal(run.code, 1)
  t.match(run.stdout, /^signature log DIVERGES from a signed checkpoint: entry #\d+ has entry_hash/)
})

t.test('the hub never signs a truncated or broken chain; the worker issues checkpoints periodically, only when the head moved', async (t) => {
  const db = await testDatabase(t)
  t.same(await issueCheckpoint(db, hub).then((r) => r.issued && r.stored.signed.checkpoint), {
    format: 'lienthong-signature-log-checkpoint/1', headId: null, headHash: '0'.repeat(64), entries: 0, issuedAt: (await readCheckpoint(db))?.signed.checkpoint.issuedAt, hubCertificateSha256: HUB_FP
  }, 'an empty log can be checkpointed')
  const entries = await append(db, 3)
  const first = await issueCheckpoint(db, hub)
  t.match(first, { issued: true, stored: { signed: { checkpoint: { headId: entries[2]!.id, entries: 3 } } } })
  t.same(await issueCheckpoint(db, hub, { onlyIfChanged: true }), { issued: false, reason: 'the head did not change' })

  const seen: number[] = []
  const errors: unknown[] = []
  const worker = startCheckpoints(db, hub, { intervalMs: 100, onIssued: (c) => seen.push(c.signed.checkpoint.entries), onError: (e) => errors.push(e) })
  t.teardown(async () => { await worker.close() })
  await append(db, 2)
  for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  await new Promise((resolve) => setTimeout(resolve, 250))
  t.same(seen, [5], 'one checkpoint for the moved head, none for the unchanged one')
  t.same(errors, [])
  await worker.close()

  await truncateAfter(db, entries[1]!.id)
  await t.rejects(issueCheckpoint(db, hub), CheckpointRefused, 'a truncated log is not signed')
  await t.rejects(issueCheckpoint(db, hub), /entry #\d+, the head of checkpoint #\d+ .* is no longer in the log: entries were removed/)
})

t.test('F13: every acceptance receipt carries the hash of its signature-log entry; delivery receipts cite it too', async (t) => {
  const test = await testHub(t, { redisUrl: null })
  const res = await test.app.inject({
    method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/xml', authorization: `Bearer ${test.keys['000.00.00.G22']!}` }, payload: documentFromTo('000.00.00.G22', '000.00.00.G12', 9900 + Math.floor(Math.random() * 99))
  })
  t.equal(res.statusCode, 202, res.statusCode === 202 ? 'accepted' : res.body)
  const body = res.json<{ id: string, receipt: string, signatureLogEntry: number }>()
  const { rows: [entry] } = await test.db.query<{ entry_hash: string }>('SELECT entry_hash FROM signature_log WHERE id = $1', [body.signatureLogEntry])
  t.match(body.receipt, `<SignatureLogEntry>${body.signatureLogEntry}</SignatureLogEntry>\n  <SignatureLogEntryHash>${entry!.entry_hash}</SignatureLogEntryHash>`)

  // Pull: downloading and acknowledging issues the delivery receipt.
  const inbox = await test.app.inject({ url: '/v1/inbox', headers: { authorization: `Bearer ${test.keys['000.00.00.G12']!}` } })
  const item = inbox.json<{ items: Array<{ deliveryId: string, documentId: string }> }>().items.find((i) => i.documentId === body.id)
  t.ok(item, 'in the recipient\'s inbox')
  await test.app.inject({ url: `/v1/inbox/${item!.deliveryId}`, headers: { authorization: `Bearer ${test.keys['000.00.00.G12']!}` } })
  const ack = await test.app.inject({ method: 'POST', url: `/v1/inbox/${item!.deliveryId}/ack`, headers: { authorization: `Bearer ${test.keys['000.00.00.G12']!}`, 'content-type': 'application/json' }, payload: { result: 'done' } })
  t.equal(ack.statusCode < 300, true, ack.statusCode < 300 ? 'acknowledged' : ack.body)
  const { rows: [delivery] } = await test.db.query<{ xml: string }>('SELECT xml FROM receipts WHERE delivery_id = $1 AND kind = \'delivery\'', [item!.deliveryId])
  t.match(delivery?.xml, `<SignatureLogEntry>${body.signatureLogEntry}</SignatureLogEntry>\n  <SignatureLogEntryHash>${entry!.entry_hash}</SignatureLogEntryHash>`)
})
