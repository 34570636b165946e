import { Readable } from 'node:stream'
import type { Queryable } from '../db/database.js'
import type { SignatureLogRow } from './signature-log-chain.js'
import { entryAnswer, signatureLogBatches, type SignatureLogFilter } from './signature-log-search.js'

export type ExportFormat = 'csv' | 'ndjson'

/** The CSV columns, in order (the header line). NDJSON lines carry the API's entry objects. */
export const CSV_COLUMNS = [
  'id', 'logged_at', 'verdict', 'reason_code', 'claimed_agency', 'authenticated_agency', 'edxml_document_id',
  'hub_document_id', 'digest_sha256', 'size_bytes', 'cert_subject', 'cert_issuer', 'cert_serial', 'cert_fingerprint',
  'cert_not_before', 'cert_not_after', 'flags', 'detail', 'request_id', 'prev_hash', 'entry_hash'
] as const

/**
 * A text cell quoted per RFC 4180. A cell starting with = + - @ (or a tab/CR) is prefixed with an
 * apostrophe: spreadsheets run such cells as formulas, and `detail` and the certificate names
 * come from submitters. NDJSON carries every value exactly; the CSV is for reading.
 */
export function csvCell (value: unknown): string {
  if (value == null) return ''
  let text = value instanceof Date ? value.toISOString() : Array.isArray(value) ? value.join(';') : String(value)
  if (/^[=+\-@\t\r]/.test(text) && typeof value === 'string') text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

function csvLine (row: SignatureLogRow): string {
  return CSV_COLUMNS.map((c) => csvCell((row as Record<string, unknown>)[c])).join(',') + '\r\n'
}

function ndjsonLine (row: SignatureLogRow): string {
  return JSON.stringify(entryAnswer(row)) + '\n'
}

/**
 * The export as a byte stream: one keyset batch read per chunk, and the next batch is read only
 * when the consumer (the HTTP response) asks for more (Readable.from pulls the generator on
 * demand), so a slow client holds one batch in memory, not the log.
 */
export function signatureLogExport (db: Queryable, filter: SignatureLogFilter, format: ExportFormat, batchSize = 1000): Readable {
  const line = format === 'csv' ? csvLine : ndjsonLine
  async function * chunks (): AsyncGenerator<string> {
    if (format === 'csv') yield CSV_COLUMNS.join(',') + '\r\n'
    for await (const rows of signatureLogBatches(db, filter, batchSize)) {
      let chunk = ''
      for (const row of rows) chunk += line(row)
      yield chunk
    }
  }
  return Readable.from(chunks(), { objectMode: false })
}
