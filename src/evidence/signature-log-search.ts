import type { Queryable } from '../db/database.js'
import { cursorTimeSql, decodeCursor, encodeCursor, type KeysetPosition } from '../store/keyset-cursor.js'
import { GENESIS_HASH, SIGNATURE_LOG_COLUMNS, canonicalSignatureLogRow, signatureLogEntryHash, type SignatureLogRow } from './signature-log-chain.js'
import { signatureLogEntryFromRow, type SignatureLogEntry, type SignatureLogVerdict } from './signature-log.js'

/**
 * The auditor's search over the signature log: filters, newest-first keyset pages on
 * (logged_at, id), and batched reads for exports of any size (indexes: migration 021).
 */
export interface SignatureLogFilter {
  /** logged_at >= from (inclusive). */
  from?: string
  /** logged_at < to (exclusive), so consecutive ranges never count an entry twice. */
  to?: string
  /** The claimed sender or the authenticated submitter. */
  agency?: string
  verdict?: SignatureLogVerdict
  reasonCode?: string
  /** SHA-256 of the signer certificate, hex (colons and case ignored). */
  certFingerprint?: string
  /** Serial number, hex (colons and case ignored). */
  certSerial?: string
  /** Part of the issuer's distinguished name, case-insensitive. */
  certIssuer?: string
  /** The hub's document uuid or the edXML document id. */
  documentId?: string
  /** Only entries flagged `weak` (allowed SHA-1), or only those not flagged. */
  weak?: boolean
}

export const SIGNATURE_LOG_CURSOR = 'slog'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The WHERE clause of a filter, its parameters numbered from `first`. */
export function signatureLogWhere (filter: SignatureLogFilter, first = 1): { sql: string, params: unknown[] } {
  const clauses: string[] = []
  const params: unknown[] = []
  const param = (value: unknown, cast = ''): string => { params.push(value); return `$${first + params.length - 1}${cast}` }
  if (filter.from != null) clauses.push(`logged_at >= ${param(filter.from, '::timestamptz')}`)
  if (filter.to != null) clauses.push(`logged_at < ${param(filter.to, '::timestamptz')}`)
  if (filter.agency != null) {
    const p = param(filter.agency)
    clauses.push(`(claimed_agency = ${p} OR authenticated_agency = ${p})`)
  }
  if (filter.verdict != null) clauses.push(`verdict = ${param(filter.verdict)}`)
  if (filter.reasonCode != null) clauses.push(`reason_code = ${param(filter.reasonCode)}`)
  if (filter.certFingerprint != null) clauses.push(`cert_fingerprint = ${param(hexOf(filter.certFingerprint))}`)
  if (filter.certSerial != null) clauses.push(`cert_serial = ${param(hexOf(filter.certSerial))}`)
  // strpos, not LIKE: the value is text to find, never a pattern (no % or _ to escape).
  if (filter.certIssuer != null) clauses.push(`strpos(lower(cert_issuer), lower(${param(filter.certIssuer)})) > 0`)
  if (filter.documentId != null) {
    // Two parameters: one placeholder cannot be both a uuid and text.
    clauses.push(UUID.test(filter.documentId)
      ? `(hub_document_id = ${param(filter.documentId.toLowerCase(), '::uuid')} OR edxml_document_id = ${param(filter.documentId)})`
      : `edxml_document_id = ${param(filter.documentId)}`)
  }
  if (filter.weak === true) clauses.push('\'weak\' = ANY (flags)')
  if (filter.weak === false) clauses.push('NOT (\'weak\' = ANY (flags))')
  return { sql: clauses.length === 0 ? 'TRUE' : clauses.join(' AND '), params }
}

function hexOf (value: string): string {
  return value.replaceAll(':', '').trim().toLowerCase()
}

/** An entry as the API answers it (times as ISO strings). */
export type SignatureLogEntryAnswer = Omit<SignatureLogEntry, 'loggedAt'> & { loggedAt: string }

export function entryAnswer (row: SignatureLogRow): SignatureLogEntryAnswer {
  const entry = signatureLogEntryFromRow(row)
  return { ...entry, loggedAt: entry.loggedAt.toISOString() }
}

export interface SignatureLogPage {
  entries: SignatureLogEntryAnswer[]
  /** Cursor of the next (older) page; null on the last one. */
  next: string | null
}

/** The invalid-cursor case is the caller's to answer (400): its text is not one the hub issued. */
export type PageResult = SignatureLogPage | 'bad-cursor'

/** One newest-first page matching the filter, after the cursor (absent: from the newest). */
export async function searchSignatureLog (db: Queryable, filter: SignatureLogFilter, options: { limit: number, after?: string }): Promise<PageResult> {
  let position: KeysetPosition | undefined
  if (options.after != null) {
    position = decodeCursor(SIGNATURE_LOG_CURSOR, options.after)
    if (position == null) return 'bad-cursor'
  }
  const where = signatureLogWhere(filter)
  const params = [...where.params]
  let keyset = ''
  if (position != null) {
    params.push(position.time, position.id)
    keyset = ` AND (logged_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::bigint)`
  }
  params.push(options.limit + 1)
  const { rows } = await db.query<SignatureLogRow & { cursor_time: string }>(
    `SELECT ${SIGNATURE_LOG_COLUMNS}, ${cursorTimeSql('logged_at')} AS cursor_time
       FROM signature_log WHERE ${where.sql}${keyset}
      ORDER BY logged_at DESC, id DESC LIMIT $${params.length}`, params)
  const page = rows.slice(0, options.limit)
  const last = page[page.length - 1]
  return {
    entries: page.map(entryAnswer),
    next: rows.length > options.limit && last != null ? encodeCursor(SIGNATURE_LOG_CURSOR, { time: last.cursor_time, id: String(last.id) }) : null
  }
}

/**
 * Every entry matching the filter, oldest first, in batches of `batchSize` rows read by keyset
 * (one query per batch, never the whole result in memory). Bounded by the head at the start:
 * entries appended during a long export are not chased, so an export is a fixed set.
 */
export async function * signatureLogBatches (db: Queryable, filter: SignatureLogFilter, batchSize = 1000): AsyncGenerator<SignatureLogRow[]> {
  const { rows: [head] } = await db.query<{ id: string | null }>('SELECT max(id)::text AS id FROM signature_log')
  if (head?.id == null) return
  const where = signatureLogWhere(filter)
  let position: KeysetPosition | undefined
  for (;;) {
    const params = [...where.params, head.id]
    let keyset = ''
    if (position != null) {
      params.push(position.time, position.id)
      keyset = ` AND (logged_at, id) > ($${params.length - 1}::timestamptz, $${params.length}::bigint)`
    }
    params.push(batchSize)
    const { rows } = await db.query<SignatureLogRow & { cursor_time: string }>(
      `SELECT ${SIGNATURE_LOG_COLUMNS}, ${cursorTimeSql('logged_at')} AS cursor_time
         FROM signature_log WHERE ${where.sql} AND id <= $${where.params.length + 1}::bigint${keyset}
        ORDER BY logged_at, id LIMIT $${params.length}`, params)
    if (rows.length === 0) return
    yield rows
    if (rows.length < batchSize) return
    const last = rows[rows.length - 1] as SignatureLogRow & { cursor_time: string }
    position = { time: last.cursor_time, id: String(last.id) }
  }
}

/** An entry and its neighbours in the chain (by id order), with whether each link holds. */
export interface EntryWithNeighbours {
  entry: SignatureLogEntryAnswer
  previous: SignatureLogEntryAnswer | null
  next: SignatureLogEntryAnswer | null
  links: {
    /** The entry still hashes to its entry_hash. */
    hashValid: boolean
    /** previous.entryHash === entry.prevHash; null for the first entry (checked against genesis in hashValid's stead). */
    previousLinks: boolean | null
    /** next.prevHash === entry.entryHash; null at the head. */
    nextLinks: boolean | null
  }
}

export async function signatureLogEntryWithNeighbours (db: Queryable, id: string): Promise<EntryWithNeighbours | undefined> {
  const { rows } = await db.query<SignatureLogRow & { role: string }>(
    `(SELECT ${SIGNATURE_LOG_COLUMNS}, 'entry' AS role FROM signature_log WHERE id = $1::bigint)
     UNION ALL (SELECT ${SIGNATURE_LOG_COLUMNS}, 'previous' FROM signature_log WHERE id < $1::bigint ORDER BY id DESC LIMIT 1)
     UNION ALL (SELECT ${SIGNATURE_LOG_COLUMNS}, 'next' FROM signature_log WHERE id > $1::bigint ORDER BY id LIMIT 1)`, [id])
  const byRole = new Map(rows.map((r) => [r.role, r]))
  const entry = byRole.get('entry')
  if (entry == null) return undefined
  const { role: _entryRole, ...entryRow } = entry
  const previousRow = byRole.get('previous')
  const nextRow = byRole.get('next')
  const links = {
    hashValid: signatureLogEntryHash(entry.prev_hash, canonicalSignatureLogRow(entryRow as SignatureLogRow)) === entry.entry_hash,
    previousLinks: previousRow == null ? (entry.prev_hash === GENESIS_HASH ? null : false) : previousRow.entry_hash === entry.prev_hash,
    nextLinks: nextRow == null ? null : nextRow.prev_hash === entry.entry_hash
  }
  const answer = (role: string): SignatureLogEntryAnswer | null => {
    const row = byRole.get(role)
    if (row == null) return null
    const { role: _role, ...rest } = row
    return entryAnswer(rest as SignatureLogRow)
  }
  return { entry: answer('entry') as SignatureLogEntryAnswer, previous: answer('previous'), next: answer('next'), links }
}

export interface CheckpointSummary {
  id: number
  issuedAt: string
  headId: number | null
  headHash: string
  entries: number
  hubFingerprint: string
}

/** Stored checkpoints, newest first, keyset pages on the id (`next` -> `before`). */
export async function listCheckpoints (db: Queryable, options: { limit: number, before?: number }): Promise<{ checkpoints: CheckpointSummary[], next: number | null }> {
  const { rows } = await db.query<{ id: string, issued_at: Date, head_id: string | null, head_hash: string, entries: string, hub_fingerprint: string }>(
    `SELECT id::text, issued_at, head_id::text, head_hash, entries::text, hub_fingerprint FROM signature_log_checkpoints
      WHERE ($1::bigint IS NULL OR id < $1::bigint) ORDER BY signature_log_checkpoints.id DESC LIMIT $2`, [options.before ?? null, options.limit + 1])
  const page = rows.slice(0, options.limit).map((r) => ({
    id: Number(r.id),
    issuedAt: new Date(r.issued_at).toISOString(),
    headId: r.head_id == null ? null : Number(r.head_id),
    headHash: r.head_hash,
    entries: Number(r.entries),
    hubFingerprint: r.hub_fingerprint
  }))
  return { checkpoints: page, next: rows.length > options.limit ? (page[page.length - 1] as CheckpointSummary).id : null }
}
