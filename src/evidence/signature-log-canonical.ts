import { hash } from 'node:crypto'

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

const SURROGATE = /[\uD800-\uDFFF]/

/** The hashed columns, in table order (the canonical JSON sorts them; this list only selects). */
export const CANONICAL_COLUMNS = [
  'id', 'logged_at', 'request_id', 'claimed_agency', 'authenticated_agency', 'edxml_document_id',
  'hub_document_id', 'digest_sha256', 'size_bytes', 'algorithms', 'cert_subject', 'cert_issuer',
  'cert_serial', 'cert_fingerprint', 'cert_not_before', 'cert_not_after', 'chain', 'revocation',
  'verdict', 'reason_code', 'detail', 'flags'
] as const

export type CanonicalColumn = typeof CANONICAL_COLUMNS[number]

export const TIMESTAMP_COLUMNS = new Set<CanonicalColumn>(['logged_at', 'cert_not_before', 'cert_not_after'])
export const INTEGER_COLUMNS = new Set<CanonicalColumn>(['id', 'size_bytes'])
export const JSON_COLUMNS = new Set<CanonicalColumn>(['algorithms', 'chain', 'revocation'])

/**
 * A `signature_log` row as a driver returns it (pg and PGlite parse timestamptz to Date, jsonb to
 * values, text[] to arrays; the looser types are accepted too so rows from other sources work).
 */
export type SignatureLogRow = { [K in CanonicalColumn]: unknown } & { prev_hash: string, entry_hash: string }

/** The SELECT list that reads a full row (explicit, so a later column never slips in unhashed). */
export const SIGNATURE_LOG_COLUMNS = [...CANONICAL_COLUMNS, 'prev_hash', 'entry_hash'].join(', ')

/**
 * The canonical JSON of a row (see the definition above): what the writer hashes. The verifier
 * (signature-log-walk.ts) builds the same string from rows decoded off a binary COPY, through the
 * same canonicalFromMembers and the same per-column encoding (canonicalMember / canonicalJson).
 */
export function canonicalSignatureLogRow (row: { [K in CanonicalColumn]: unknown }): string {
  const members = new Array<string>(CANONICAL_COLUMNS.length)
  for (let i = 0; i < CANONICAL_COLUMNS.length; i++) {
    const column = CANONICAL_COLUMNS[i] as CanonicalColumn
    members[i] = canonicalMember(column, row[column])
  }
  return canonicalFromMembers(members)
}

/** One column's value as it appears in the canonical object: canonical JSON of the normalised value. */
export function canonicalMember (column: CanonicalColumn, value: unknown): string {
  return canonicalJson(normaliseColumn(column, value))
}

/** The columns in the order of the canonical object's members: code point order of their names. */
export const CANONICAL_MEMBER_ORDER: readonly CanonicalColumn[] = [...CANONICAL_COLUMNS].sort(compareCodePoints)

/** What precedes each member (in CANONICAL_MEMBER_ORDER): `{"key":` for the first, `,"key":` after. */
export const CANONICAL_MEMBER_PREFIXES: readonly string[] = CANONICAL_MEMBER_ORDER.map((column, position) => `${position === 0 ? '{' : ','}${JSON.stringify(column)}:`)

/** What closes the canonical object after the last member. */
export const CANONICAL_SUFFIX = '}'

const SORTED_MEMBERS = CANONICAL_MEMBER_ORDER.map((column, position) => ({ index: CANONICAL_COLUMNS.indexOf(column), prefix: CANONICAL_MEMBER_PREFIXES[position] as string }))

/**
 * The canonical object from its members' JSON texts (indexed as CANONICAL_COLUMNS): the keys in
 * code point order, no whitespace. canonicalJson of the object of the same values gives the same
 * string (an object's canonical form is its members' canonical forms under the sorted keys).
 */
export function canonicalFromMembers (members: readonly string[]): string {
  let out = ''
  for (let i = 0; i < SORTED_MEMBERS.length; i++) {
    const m = SORTED_MEMBERS[i] as { index: number, prefix: string }
    out += m.prefix + (members[m.index] as string)
  }
  return out + CANONICAL_SUFFIX
}

/** sha256(prev_hash + "\n" + canonical), lower-case hex: the entry_hash the writer stores. */
export function signatureLogEntryHash (prevHash: string, canonical: string): string {
  return signatureLogEntryHashOf(`${prevHash}\n${canonical}`)
}

/**
 * The same hash of `prev_hash + "\n" + canonical` laid out already, as a string or as its UTF-8
 * bytes (the chain walk builds those straight from a binary COPY). One-shot crypto.hash: no Hash
 * object per entry.
 */
export function signatureLogEntryHashOf (preimage: string | Uint8Array): string {
  return hash('sha256', preimage, 'hex')
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
