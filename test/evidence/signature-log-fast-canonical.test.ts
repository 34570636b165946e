import t from 'tap'
import { appendSignatureLog, type SignatureLogEntryInput } from '../../src/evidence/signature-log.js'
import {
  CANONICAL_TEXT_SELECT, SIGNATURE_LOG_COLUMNS, canonicalFromText, canonicalSignatureLogRow, verifySignatureLogChain, type SignatureLogRow
} from '../../src/evidence/signature-log-chain.js'
import { testDatabase } from '../helpers/database.js'

// The fast text path of the chain verification must give exactly the canonical form of the
// reference path for every kind of value the log holds.
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

t.test('canonicalFromText equals canonicalSignatureLogRow for every kind of row', async (t) => {
  const db = await testDatabase(t)
  for (const c of CASES) {
    const { id } = await db.transaction(async (tx) => await appendSignatureLog(tx, c.entry))
    const { rows: [reference] } = await db.query<SignatureLogRow>(`SELECT ${SIGNATURE_LOG_COLUMNS} FROM signature_log WHERE id = $1`, [id])
    const { rows: [text] } = await db.query<Record<string, unknown>>(`SELECT ${CANONICAL_TEXT_SELECT} FROM signature_log WHERE id = $1`, [id])
    t.equal(canonicalFromText(text as Record<string, unknown>), canonicalSignatureLogRow(reference as SignatureLogRow), c.name)
  }
  t.match(await verifySignatureLogChain(db), { ok: true, entries: CASES.length })
})
