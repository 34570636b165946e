import t from 'tap'
import { appendSignatureLog, type SignatureLogEntryInput } from '../../src/evidence/signature-log.js'
import type { Database } from '../../src/db/database.js'
import {
  SIGNATURE_LOG_COLUMNS, canonicalSignatureLogRow, verifySignatureLogChain, type SignatureLogRow
} from '../../src/evidence/signature-log-chain.js'
import { COPY_SELECT, SignatureLogCopyDecoder } from '../../src/evidence/signature-log-copy.js'
import { testDatabase, testPglite } from '../helpers/database.js'

// The binary COPY path of the chain walk must give exactly the writer's canonical form (of the row
// the driver returns) for every kind of value the log holds, on both databases.
const CASES: Array<{ name: string, entry: SignatureLogEntryInput }> = [
  { name: 'minimal', entry: { digestSha256: '', sizeBytes: 0, verdict: 'rejected', flags: [] } },
  {
    name: 'every column, Vietnamese text',
    entry: {
      loggedAt: new Date('2026-03-01T08:15:30.123Z'),
      requestId: 'req-1',
      claimedAgency: '000.00.00.G22',
      authenticatedAgency: '000.00.00.H41',
      edxmlDocumentId: '000.00.00.G22,2026/03/01,1/UBND-VP',
      hubDocumentId: '0B7E8F0C-4A51-4D0E-9A3E-5F1C2D3E4F50',
      digestSha256: 'ab'.repeat(32),
      sizeBytes: 123456,
      algorithms: { signature: 'rsa-sha256', digest: ['sha256'], nested: { z: 1, a: null } },
      signer: { subject: 'CN=Nguyễn Văn Ánh, O=Ủy ban', issuer: 'CN=CA "quoted" \\ back', serialNumber: '0a1b', fingerprintSha256: 'cd'.repeat(32), notBefore: '2025-01-01T00:00:00.000Z', notAfter: '9999-12-31T23:59:59.000Z' },
      chain: [{ subject: 'CN=Root', issuer: 'CN=Root', serialNumber: '01', fingerprintSha256: 'ef'.repeat(32), notBefore: '2020-01-01T00:00:00.000Z', notAfter: '2040-01-01T00:00:00.000Z' }],
      revocation: { crlNumber: 7, source: 'crl' },
      verdict: 'accepted',
      flags: ['weak', 'body-not-read']
    }
  },
  { name: 'control characters and tabs', entry: { digestSha256: 'x', sizeBytes: 1, verdict: 'rejected', reasonCode: 'MALFORMED_XML', detail: 'line 1\n\tline 2\u0001\u001f\u007f "end"' } },
  { name: 'astral characters in keys and values (code point key order)', entry: { digestSha256: 'y', sizeBytes: 2, verdict: 'duplicate', algorithms: { '\u{1F600}': 'emoji', '\uFFFD': 'replacement', a: '𝒜' } } }
]

/** The canonical form of entry `id` as the chain walk decodes it, fed one byte at a time or whole. */
async function decoded (db: Database, id: number, byteByByte: boolean): Promise<string[]> {
  const out: string[] = []
  const decoder = new SignatureLogCopyDecoder()
  for await (const chunk of db.copyBinaryOut!(`SELECT ${COPY_SELECT} FROM signature_log WHERE id = ${id}`)) {
    const pieces = byteByByte ? [...chunk].map((b) => Buffer.from([b])) : [chunk]
    for (const piece of pieces) decoder.push(piece, (_id, _prev, _hash, preimage) => { out.push(Buffer.from(preimage).toString('utf8')); return true })
  }
  decoder.end()
  return out
}

for (const [name, open] of [['PostgreSQL', testDatabase], ['PGlite', testPglite]] as const) {
  t.test(`${name}: the binary COPY decoder gives the writer's canonical form for every kind of row`, async (t) => {
    const db = await open(t)
    for (const c of CASES) {
      const { id } = await db.transaction(async (tx) => await appendSignatureLog(tx, c.entry))
      const { rows: [reference] } = await db.query<SignatureLogRow>(`SELECT ${SIGNATURE_LOG_COLUMNS} FROM signature_log WHERE id = $1`, [id])
      const expected = `${reference!.prev_hash}\n${canonicalSignatureLogRow(reference as SignatureLogRow)}`
      t.same(await decoded(db, id, false), [expected], c.name)
      t.same(await decoded(db, id, true), [expected], `${c.name}, fed byte by byte`)
    }
    t.match(await verifySignatureLogChain(db), { ok: true, entries: CASES.length })
  })

  // Stored values the writer cannot have written (it hashes JavaScript Dates and string arrays):
  // the driver's row objects round some of them to what was hashed; the walk reports the change.
  t.test(`${name}: values no writer produced are reported as changed, not rounded`, async (t) => {
    const db = await open(t)
    const ids: number[] = []
    for (let i = 0; i < 5; i++) ids.push((await db.transaction(async (tx) => await appendSignatureLog(tx, { digestSha256: `d${i}`, sizeBytes: i, verdict: 'accepted', flags: ['weak'] }))).id)
    await db.query('ALTER TABLE signature_log DISABLE TRIGGER USER')
    const tampering: Array<[string, string]> = [
      ['microseconds added to logged_at', "UPDATE signature_log SET logged_at = logged_at + interval '7 microseconds' WHERE id = $1"],
      ['logged_at set to infinity', "UPDATE signature_log SET logged_at = 'infinity' WHERE id = $1"],
      ['a NULL added to flags', 'UPDATE signature_log SET flags = flags || NULL::text WHERE id = $1'],
      ['flags made two-dimensional', "UPDATE signature_log SET flags = '{{weak}}' WHERE id = $1"]
    ]
    for (const [what, sql] of tampering) {
      const id = ids[1] as number
      const { rows: [before] } = await db.query<{ logged_at: unknown, flags: unknown }>('SELECT logged_at, flags FROM signature_log WHERE id = $1', [id])
      await db.query(sql, [id])
      t.match(await verifySignatureLogChain(db, { batchSize: 2 }), { ok: false, entries: 1, firstBrokenId: id, reason: 'hash-mismatch' }, what)
      await db.query('UPDATE signature_log SET logged_at = $2, flags = $3 WHERE id = $1', [id, before?.logged_at, before?.flags])
      t.match(await verifySignatureLogChain(db), { ok: true, entries: 5 }, `${what}: undone, intact again`)
    }
  })
}
