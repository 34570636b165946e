import { createHash } from 'node:crypto'
import type { Queryable } from '../db/database.js'

/**
 * The hash chain over `signature_log` (migration 001) and its verification.
 *
 * CANONICAL FORM OF A ROW (the exact definition; docs/signature-log.md repeats it with a recipe):
 *
 *   canonical(row) = compact JSON of ONE object whose members are exactly the 22 columns below,
 *   every object in it (this one and those inside the jsonb values) written with its keys sorted
 *   by Unicode code point (= UTF-8 byte order; Python's `sorted`), no whitespace at all, strings
 *   as JSON.stringify writes them (non-ASCII characters raw, not \u-escaped; `"` `\` and control
 *   characters escaped, \b \t \n \f \r short and the others as lower-case \u00xx) — i.e. what
 *   Python's `json.dumps(obj, sort_keys=True, separators=(',', ':'), ensure_ascii=False)` writes.
 *
 *   column                 value in the canonical object
 *   id                     integer
 *   logged_at              string, ISO-8601 UTC with milliseconds: "2025-03-01T08:15:30.123Z"
 *   request_id             string or null
 *   claimed_agency         string or null
 *   authenticated_agency   string or null
 *   edxml_document_id      string or null
 *   hub_document_id        string (lower-case hyphenated uuid, as PostgreSQL prints it) or null
 *   digest_sha256          string
 *   size_bytes             integer
 *   algorithms             the jsonb value (keys sorted, recursively) or null
 *   cert_subject           string or null
 *   cert_issuer            string or null
 *   cert_serial            string or null
 *   cert_fingerprint       string or null
 *   cert_not_before        string, ISO-8601 UTC with milliseconds, or null
 *   cert_not_after         string, ISO-8601 UTC with milliseconds, or null
 *   chain                  the jsonb value (keys sorted, recursively) or null
 *   revocation             the jsonb value (keys sorted, recursively) or null
 *   verdict                string: "accepted" | "rejected" | "duplicate"
 *   reason_code            string or null
 *   detail                 string or null
 *   flags                  array of strings, in stored order ([] when none)
 *
 *   prev_hash and entry_hash are not members. Numbers inside jsonb values are integers (the log
 *   only stores integers there) written in plain decimal.
 *
 *   entry_hash = lower-case hex SHA-256 of the UTF-8 bytes of  prev_hash + "\n" + canonical(row)
 *   prev_hash  = entry_hash of the row with the next lower id, or GENESIS_HASH for the first row.
 *
 * Timestamps are written with milliseconds and the log only ever stores millisecond values
 * (JavaScript Dates), so a timestamp read back from PostgreSQL gives the same string. The id is
 * part of the hash, so renumbering an entry (which receipts and documents cite by id) breaks it.
 */
export const GENESIS_HASH = '0'.repeat(64)

/** The hashed columns, in table order (the canonical JSON sorts them; this list only selects). */
export const CANONICAL_COLUMNS = [
  'id', 'logged_at', 'request_id', 'claimed_agency', 'authenticated_agency', 'edxml_document_id',
  'hub_document_id', 'digest_sha256', 'size_bytes', 'algorithms', 'cert_subject', 'cert_issuer',
  'cert_serial', 'cert_fingerprint', 'cert_not_before', 'cert_not_after', 'chain', 'revocation',
  'verdict', 'reason_code', 'detail', 'flags'
] as const

export type CanonicalColumn = typeof CANONICAL_COLUMNS[number]

const TIMESTAMP_COLUMNS = new Set<CanonicalColumn>(['logged_at', 'cert_not_before', 'cert_not_after'])
const INTEGER_COLUMNS = new Set<CanonicalColumn>(['id', 'size_bytes'])
const JSON_COLUMNS = new Set<CanonicalColumn>(['algorithms', 'chain', 'revocation'])

/**
 * A `signature_log` row as a driver returns it (pg and PGlite parse timestamptz to Date, jsonb to
 * values, text[] to arrays; the looser types are accepted too so rows from other sources work).
 */
export type SignatureLogRow = { [K in CanonicalColumn]: unknown } & { prev_hash: string, entry_hash: string }

/** The SELECT list that reads a full row (explicit, so a later column never slips in unhashed). */
export const SIGNATURE_LOG_COLUMNS = [...CANONICAL_COLUMNS, 'prev_hash', 'entry_hash'].join(', ')

/** The canonical JSON of a row (see the definition above). */
export function canonicalSignatureLogRow (row: { [K in CanonicalColumn]: unknown }): string {
  const object: Record<string, unknown> = {}
  for (const column of CANONICAL_COLUMNS) object[column] = normaliseColumn(column, row[column])
  return canonicalJson(object)
}

/** sha256(prev_hash + "\n" + canonical), lower-case hex. */
export function signatureLogEntryHash (prevHash: string, canonical: string): string {
  return createHash('sha256').update(`${prevHash}\n${canonical}`, 'utf8').digest('hex')
}

function normaliseColumn (column: CanonicalColumn, value: unknown): unknown {
  if (column === 'flags') {
    if (value == null) return []
    if (!Array.isArray(value)) throw new TypeError(`signature_log.flags: expected an array, got ${typeof value}`)
    return value.map((v) => String(v))
  }
  if (value == null) return null
  if (TIMESTAMP_COLUMNS.has(column)) return isoMillis(column, value)
  if (INTEGER_COLUMNS.has(column)) {
    const n = typeof value === 'bigint' ? Number(value) : typeof value === 'string' ? Number(value) : value
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new TypeError(`signature_log.${column}: not a safe integer: ${String(value)}`)
    return n
  }
  if (JSON_COLUMNS.has(column)) return typeof value === 'string' ? JSON.parse(value) : value
  if (typeof value !== 'string') throw new TypeError(`signature_log.${column}: expected text, got ${typeof value}`)
  return column === 'hub_document_id' ? value.toLowerCase() : value
}

function isoMillis (column: string, value: unknown): string {
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined
  if (date == null || Number.isNaN(date.getTime())) throw new TypeError(`signature_log.${column}: not a timestamp: ${String(value)}`)
  return date.toISOString()
}

/** Compact JSON with every object's keys sorted by code point; undefined members are dropped. */
export function canonicalJson (value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonical JSON: non-finite number ${value}`)
    return JSON.stringify(value)
  }
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Date) return JSON.stringify(value.toISOString())
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => compareCodePoints(a, b))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  throw new TypeError(`canonical JSON: cannot encode a ${typeof value}`)
}

const SURROGATE = /[\uD800-\uDFFF]/

/**
 * Code point order (what Python's sorted() and a UTF-8 byte comparison give), not UTF-16 order.
 * The two differ only when a surrogate pair is involved, so strings without one are compared as
 * JavaScript compares them (no Buffer per comparison: the chain verification sorts keys of
 * every row).
 */
function compareCodePoints (a: string, b: string): number {
  if (!SURROGATE.test(a) && !SURROGATE.test(b)) return a < b ? -1 : a > b ? 1 : 0
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

/**
 * The SELECT list of a row as text, for canonicalFromText: timestamps already in the canonical
 * form (formatted by PostgreSQL), integers and jsonb as text. The driver then builds no Date and
 * parses no JSON it would not need: what makes verifying a million entries fast. The id comes
 * back as text: order by `signature_log.id`, never by the output column (text order: '10' < '9').
 */
export const CANONICAL_TEXT_SELECT = CANONICAL_COLUMNS.map((c) => {
  if (TIMESTAMP_COLUMNS.has(c)) return `to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${c}`
  if (INTEGER_COLUMNS.has(c) || JSON_COLUMNS.has(c) || c === 'hub_document_id') return `${c}::text AS ${c}`
  return c
}).join(', ') + ', prev_hash, entry_hash'

// The members of the canonical object in their canonical (code point) order, with their JSON keys.
const SORTED_MEMBERS = [...CANONICAL_COLUMNS].sort(compareCodePoints).map((c) => ({ column: c, key: `${JSON.stringify(c)}:` }))

/**
 * canonicalSignatureLogRow for a row read with CANONICAL_TEXT_SELECT: the same string (the
 * tests compare both over varied rows), built without the generic sort and conversions.
 */
export function canonicalFromText (row: Record<string, unknown>): string {
  let out = '{'
  for (let i = 0; i < SORTED_MEMBERS.length; i++) {
    const { column, key } = SORTED_MEMBERS[i] as { column: CanonicalColumn, key: string }
    const value = row[column]
    let text: string
    if (column === 'flags') text = value == null ? '[]' : JSON.stringify((value as unknown[]).map(String))
    else if (value == null) text = 'null'
    else if (INTEGER_COLUMNS.has(column)) text = String(Number(value))
    else if (JSON_COLUMNS.has(column)) text = canonicalJson(JSON.parse(String(value)))
    else text = JSON.stringify(String(value))
    out += (i === 0 ? '' : ',') + key + text
  }
  return out + '}'
}

export type ChainReport =
  | { ok: true, entries: number, headId: number | null, headHash: string }
  | {
    ok: false
    /** Entries verified intact before the broken one. */
    entries: number
    firstBrokenId: number
    reason: 'hash-mismatch' | 'link-broken'
    /** hash-mismatch: the recomputed entry_hash; link-broken: the previous entry's entry_hash. */
    expected: string
    /** hash-mismatch: the stored entry_hash; link-broken: the stored prev_hash. */
    found: string
  }

export interface VerifyChainOptions {
  /** Rows read per query (keyset pagination on id). Default 1000. */
  batchSize?: number
}

/**
 * Walks the whole log in id order, batch by batch, and recomputes every link and hash. Stops at
 * the first break: a row whose prev_hash is not the previous row's entry_hash (a row was deleted
 * or inserted before it, or its prev_hash was changed) is `link-broken`; a row whose content no
 * longer hashes to its entry_hash (it was changed) is `hash-mismatch`. Deleting entries at the
 * END of the log is not visible here; that is what signed checkpoints of the head are for.
 */
export async function verifySignatureLogChain (db: Queryable, options: VerifyChainOptions = {}): Promise<ChainReport> {
  const batchSize = options.batchSize ?? 1000
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`)
  let entries = 0
  let headId: number | null = null
  let headHash = GENESIS_HASH
  const read = async (afterId: number): Promise<SignatureLogRow[]> => (await db.query<SignatureLogRow>(
    `SELECT ${CANONICAL_TEXT_SELECT} FROM signature_log WHERE id > $1 ORDER BY signature_log.id LIMIT $2`, [afterId, batchSize])).rows
  let pending = read(0)
  for (;;) {
    const rows = await pending
    // The next batch is read while this one is hashed (the database and the CPU work together).
    const last = rows[rows.length - 1]
    if (rows.length === batchSize && last != null) {
      pending = read(Number(last.id))
      // Left unread when this batch shows a break: never an unhandled rejection.
      pending.catch(() => {})
    }
    for (const row of rows) {
      const id = Number(row.id)
      if (row.prev_hash !== headHash) {
        return { ok: false, entries, firstBrokenId: id, reason: 'link-broken', expected: headHash, found: row.prev_hash }
      }
      const recomputed = signatureLogEntryHash(row.prev_hash, canonicalFromText(row))
      if (recomputed !== row.entry_hash) {
        return { ok: false, entries, firstBrokenId: id, reason: 'hash-mismatch', expected: recomputed, found: row.entry_hash }
      }
      entries++
      headId = id
      headHash = row.entry_hash
    }
    if (rows.length < batchSize) break
  }
  return { ok: true, entries, headId, headHash }
}
