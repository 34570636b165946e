import { createHash } from 'node:crypto'
import type { Queryable } from '../../src/db/database.js'
import { CANONICAL_COLUMNS, GENESIS_HASH, canonicalSignatureLogRow, signatureLogEntryHash } from '../../src/evidence/signature-log-chain.js'

/** The stored columns of one synthetic entry (canonical columns; prev/entry hash are computed). */
export type BulkEntry = { [K in typeof CANONICAL_COLUMNS[number]]: unknown }

const COLUMN_TYPES: Record<string, string> = {
  id: 'bigint',
  logged_at: 'timestamptz',
  request_id: 'text',
  claimed_agency: 'text',
  authenticated_agency: 'text',
  edxml_document_id: 'text',
  hub_document_id: 'uuid',
  digest_sha256: 'text',
  size_bytes: 'bigint',
  algorithms: 'jsonb',
  cert_subject: 'text',
  cert_issuer: 'text',
  cert_serial: 'text',
  cert_fingerprint: 'text',
  cert_not_before: 'timestamptz',
  cert_not_after: 'timestamptz',
  chain: 'jsonb',
  revocation: 'jsonb',
  verdict: 'text',
  reason_code: 'text',
  detail: 'text',
  flags: 'text[]',
  prev_hash: 'text',
  entry_hash: 'text'
}
const ALL = [...CANONICAL_COLUMNS, 'prev_hash', 'entry_hash']

/**
 * Appends many entries as one valid chain, far faster than appendSignatureLog (which takes the
 * lock and reads back per entry): hashes computed here, rows inserted `batch` at a time through
 * jsonb_to_recordset. For tests and benchmarks that need 10^5..10^6 entries; the hub itself only
 * ever appends through appendSignatureLog. Continues the existing chain (ids after the head).
 */
export async function bulkAppend (db: Queryable, count: number, make: (index: number) => Partial<BulkEntry>, batch = 5000): Promise<{ firstId: number, lastId: number }> {
  const { rows: [head] } = await db.query<{ id: string | null, entry_hash: string | null }>('SELECT id::text, entry_hash FROM signature_log ORDER BY signature_log.id DESC LIMIT 1')
  let prev = head?.entry_hash ?? GENESIS_HASH
  let id = Number(head?.id ?? 0)
  const firstId = id + 1
  for (let start = 0; start < count; start += batch) {
    const rows: Array<Record<string, unknown>> = []
    for (let i = start; i < Math.min(count, start + batch); i++) {
      id++
      // One object per row, completed and then changed in place (after its hash is taken): at
      // 10^5 rows, copying it twice more cost more CPU than the hashing.
      const row: Record<string, unknown> = Object.assign(defaults(i, id), make(i))
      row.id = id
      for (const c of CANONICAL_COLUMNS) if (row[c] === undefined) row[c] = null
      const entryHash = signatureLogEntryHash(prev, canonicalSignatureLogRow(row as BulkEntry))
      row.logged_at = toIso(row.logged_at)
      row.cert_not_before = toIso(row.cert_not_before)
      row.cert_not_after = toIso(row.cert_not_after)
      row.prev_hash = prev
      row.entry_hash = entryHash
      rows.push(row)
      prev = entryHash
    }
    await db.query(
      `INSERT INTO signature_log (${ALL.join(', ')})
       SELECT ${ALL.join(', ')} FROM jsonb_to_recordset($1::jsonb) AS r(${ALL.map((c) => `${c} ${COLUMN_TYPES[c] as string}`).join(', ')})`,
      [JSON.stringify(rows)])
  }
  await db.query('SELECT setval(pg_get_serial_sequence(\'signature_log\', \'id\'), $1)', [id])
  return { firstId, lastId: id }
}

function toIso (value: unknown): string | null {
  return value == null ? null : value instanceof Date ? value.toISOString() : String(value)
}

function defaults (index: number, id: number): Partial<BulkEntry> {
  return {
    logged_at: new Date(Date.UTC(2026, 0, 1) + id * 1000),
    request_id: `bulk-${id}`,
    claimed_agency: '000.00.00.G22',
    authenticated_agency: '000.00.00.G22',
    digest_sha256: createHash('sha256').update(`bulk ${index}`).digest('hex'),
    size_bytes: 1000 + (index % 5000),
    verdict: 'accepted',
    flags: []
  }
}
