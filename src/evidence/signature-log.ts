import type { Queryable } from '../db/database.js'
import type { CertificateSummary, Verdict } from '../domain/verdict.js'
import {
  CANONICAL_COLUMNS, GENESIS_HASH, SIGNATURE_LOG_COLUMNS, canonicalSignatureLogRow, signatureLogEntryHash,
  type CanonicalColumn, type SignatureLogRow
} from './signature-log-chain.js'

/**
 * Appending to the signature log (one row per verification attempt, accepted or not) and reading
 * rows back. The chain itself (canonical form, hash, verification) is in signature-log-chain.ts.
 */

export type SignatureLogVerdict = 'accepted' | 'rejected' | 'duplicate'

export interface SignatureLogEntryInput {
  /** Default: now (taken once the append holds the lock). Stored with millisecond precision. */
  loggedAt?: Date
  requestId?: string
  /** The agency the document says it is from (From/OrganId), whether or not that held. */
  claimedAgency?: string
  /** The agency of the credential that submitted it. */
  authenticatedAgency?: string
  edxmlDocumentId?: string
  /** The hub's uuid of the stored document (accepted) or of the original (duplicate). */
  hubDocumentId?: string
  digestSha256: string
  sizeBytes: number
  algorithms?: object
  signer?: CertificateSummary
  chain?: CertificateSummary[]
  revocation?: object
  verdict: SignatureLogVerdict
  reasonCode?: string
  detail?: string
  flags?: string[]
}

export interface SignatureLogEntry {
  id: number
  loggedAt: Date
  requestId?: string
  claimedAgency?: string
  authenticatedAgency?: string
  edxmlDocumentId?: string
  hubDocumentId?: string
  digestSha256: string
  sizeBytes: number
  algorithms?: object
  /** Rebuilt from the cert_* columns (keyBits is not a column; see `chain` for it). */
  signer?: CertificateSummary
  chain?: CertificateSummary[]
  revocation?: object
  verdict: SignatureLogVerdict
  reasonCode?: string
  detail?: string
  flags: string[]
  prevHash: string
  entryHash: string
}

export interface AppendedEntry {
  id: number
  entryHash: string
  loggedAt: Date
}

/**
 * Key of the transaction-scoped advisory lock that serialises appenders across processes
 * (migrate() uses 727001). Advisory locks are per database, not per schema.
 */
export const SIGNATURE_LOG_LOCK = 727002

const VERDICTS = new Set<string>(['accepted', 'rejected', 'duplicate'])

const INSERT_COLUMNS = CANONICAL_COLUMNS
const CASTS: Partial<Record<CanonicalColumn, string>> = {
  logged_at: 'timestamptz',
  hub_document_id: 'uuid',
  algorithms: 'jsonb',
  cert_not_before: 'timestamptz',
  cert_not_after: 'timestamptz',
  chain: 'jsonb',
  revocation: 'jsonb',
  flags: 'text[]'
}
const INSERT_SQL = `INSERT INTO signature_log (${INSERT_COLUMNS.join(', ')}, prev_hash, entry_hash)
  VALUES (${INSERT_COLUMNS.map((c, i) => `$${i + 1}${CASTS[c] != null ? `::${CASTS[c]}` : ''}`).join(', ')}, $${INSERT_COLUMNS.length + 1}, $${INSERT_COLUMNS.length + 2})
  RETURNING ${SIGNATURE_LOG_COLUMNS}`

/**
 * Appends one entry. MUST run inside a READ COMMITTED transaction (`db.transaction(tx => ...)`):
 * it takes the advisory lock, reads the head, computes
 * `entry_hash = sha256(prev_hash + "\n" + canonical(row))` and inserts; the lock is held until the
 * transaction ends, so concurrent appenders (in any process) queue behind it and each links to
 * the committed head. The row is read back (RETURNING) and its canonical form compared with the
 * one that was hashed, so an entry that would not verify later is refused now (the transaction
 * then rolls back).
 *
 * Strings are stored with NUL characters and unpaired surrogates replaced by U+FFFD (PostgreSQL
 * cannot store the former and UTF-8 cannot carry the latter), so attacker-supplied text can never
 * make a rejection unloggable.
 */
export async function appendSignatureLog (tx: Queryable, entry: SignatureLogEntryInput): Promise<AppendedEntry> {
  const values = rowValues(entry)
  const first = await tx.query<{ xid: string }>(
    `SELECT txid_current()::text AS xid FROM (SELECT pg_advisory_xact_lock(${SIGNATURE_LOG_LOCK})) AS locked`)
  // A fresh statement after the lock: in READ COMMITTED it sees every entry committed before.
  const { rows: [state] } = await tx.query<{ xid: string, isolation: string, id: number | string, head: string | null }>(
    `SELECT txid_current()::text AS xid, current_setting('transaction_isolation') AS isolation,
       nextval(pg_get_serial_sequence('signature_log', 'id')) AS id,
       (SELECT entry_hash FROM signature_log ORDER BY id DESC LIMIT 1) AS head`)
  if (state == null || first.rows[0]?.xid !== state.xid) {
    throw new Error('appendSignatureLog must be called inside a transaction (db.transaction(tx => ...))')
  }
  if (state.isolation !== 'read committed') {
    throw new Error(`appendSignatureLog needs a READ COMMITTED transaction, not ${state.isolation}: its snapshot would miss the current head`)
  }
  // Default time taken under the lock, so logged_at follows id order (on one clock).
  const row = { ...values, ...(entry.loggedAt == null ? { logged_at: new Date() } : {}), id: Number(state.id) }
  const prevHash = state.head ?? GENESIS_HASH
  const canonical = canonicalSignatureLogRow(row)
  const entryHash = signatureLogEntryHash(prevHash, canonical)
  const params = INSERT_COLUMNS.map((c) => toParam(c, row[c]))
  const { rows: [stored] } = await tx.query<SignatureLogRow>(INSERT_SQL, [...params, prevHash, entryHash])
  if (stored == null) throw new Error('signature_log insert returned no row')
  const readBack = canonicalSignatureLogRow(stored)
  if (readBack !== canonical) {
    throw new Error(`signature log entry does not round-trip through the database; refusing to append it\n  hashed: ${canonical}\n  stored: ${readBack}`)
  }
  return { id: row.id, entryHash, loggedAt: row.logged_at }
}

/** The head an entry is chained onto: the last entry's id and hash (0 and GENESIS_HASH when empty). */
export interface SignatureLogHead {
  id: number
  hash: string
}

/** An entry computed before it is stored: what lienthong_append_signature_log (migration 014) takes. */
export interface PreparedSignatureLogEntry extends AppendedEntry {
  prev: SignatureLogHead
  /** canonical(row) as hashed; the function writes the row from it, so what is stored is what was hashed. */
  canonical: string
}

/**
 * The entry with id `prev.id + 1` on top of `prev`, hashed, without touching the database. Used by
 * the sequencer (signature-log-sequencer.ts), which stores it with lienthong_append_signature_log:
 * the function appends it only if `prev` is still the head, under the same lock as
 * appendSignatureLog, so the two kinds of appenders never fork the chain.
 */
export function prepareSignatureLogEntry (entry: SignatureLogEntryInput, prev: SignatureLogHead): PreparedSignatureLogEntry {
  const values = rowValues(entry)
  const row = { ...values, ...(entry.loggedAt == null ? { logged_at: new Date() } : {}), id: prev.id + 1 }
  const canonical = canonicalSignatureLogRow(row)
  return { id: row.id, loggedAt: row.logged_at, prev, canonical, entryHash: signatureLogEntryHash(prev.hash, canonical) }
}

/** The committed head, read without the lock (a hint: the append function checks it again). */
export async function readSignatureLogHead (db: Queryable): Promise<SignatureLogHead> {
  const { rows: [head] } = await db.query<{ id: number | string, entry_hash: string }>('SELECT id, entry_hash FROM signature_log ORDER BY id DESC LIMIT 1')
  return head == null ? { id: 0, hash: GENESIS_HASH } : { id: Number(head.id), hash: head.entry_hash }
}

/** The column values of an entry, normalised exactly as they will be stored (id comes later). */
function rowValues (entry: SignatureLogEntryInput): Omit<Record<CanonicalColumn, unknown>, 'id' | 'logged_at'> & { logged_at: Date } {
  if (!VERDICTS.has(entry.verdict)) throw new TypeError(`signature log: unknown verdict ${String(entry.verdict)}`)
  if (typeof entry.digestSha256 !== 'string') throw new TypeError('signature log: digestSha256 is required')
  if (!Number.isSafeInteger(entry.sizeBytes) || entry.sizeBytes < 0) throw new TypeError(`signature log: sizeBytes must be a non-negative integer, got ${entry.sizeBytes}`)
  const loggedAt = new Date(entry.loggedAt?.getTime() ?? Date.now())
  if (Number.isNaN(loggedAt.getTime())) throw new TypeError('signature log: loggedAt is not a valid date')
  const signer = entry.signer
  return {
    logged_at: loggedAt,
    request_id: text(entry.requestId),
    claimed_agency: text(entry.claimedAgency),
    authenticated_agency: text(entry.authenticatedAgency),
    edxml_document_id: text(entry.edxmlDocumentId),
    hub_document_id: entry.hubDocumentId?.toLowerCase() ?? null,
    digest_sha256: clean(entry.digestSha256),
    size_bytes: entry.sizeBytes,
    algorithms: json(entry.algorithms),
    cert_subject: text(signer?.subject),
    cert_issuer: text(signer?.issuer),
    cert_serial: text(signer?.serialNumber),
    cert_fingerprint: text(signer?.fingerprintSha256),
    cert_not_before: timestamp(signer?.notBefore, 'signer.notBefore'),
    cert_not_after: timestamp(signer?.notAfter, 'signer.notAfter'),
    chain: json(entry.chain),
    revocation: json(entry.revocation),
    verdict: entry.verdict,
    reason_code: text(entry.reasonCode),
    detail: text(entry.detail),
    flags: (entry.flags ?? []).map((f) => clean(String(f)))
  }
}

function toParam (column: CanonicalColumn, value: unknown): unknown {
  if (value == null) return null
  // pg would turn a JS array into a PostgreSQL array literal: jsonb goes over as JSON text.
  if (CASTS[column] === 'jsonb') return JSON.stringify(value)
  if (value instanceof Date) return value.toISOString()
  return value
}

function text (value: string | undefined): string | null {
  return value == null ? null : clean(String(value))
}

function timestamp (value: string | undefined, what: string): Date | null {
  if (value == null) return null
  const date = new Date(value)
  if (Number.isNaN(date.getTime())) throw new TypeError(`signature log: ${what} is not a date: ${value}`)
  return date
}

/** A JSON value as jsonb will give it back (undefined members dropped, Dates as strings), cleaned. */
function json (value: unknown): unknown {
  if (value == null) return null
  return cleanDeep(JSON.parse(JSON.stringify(value)))
}

function cleanDeep (value: unknown): unknown {
  if (typeof value === 'string') return clean(value)
  if (Array.isArray(value)) return value.map(cleanDeep)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [clean(k), cleanDeep(v)]))
  }
  return value
}

// eslint-disable-next-line no-control-regex
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

function clean (value: string): string {
  return value.replace(UNSTORABLE, '\uFFFD')
}

/**
 * The entry for a verification verdict. Accepted: sender, document id, signer, chain, algorithms,
 * revocation and flags (`weak` for an allowed SHA-1 signature). Rejected: the reason code and
 * detail plus whatever was learned before the rejection (claimed sender, signer...). The caller
 * may override fields (e.g. turn an accepted verdict into a SENDER_MISMATCH rejection).
 */
export function entryFromVerdict (
  verdict: Verdict,
  context: { requestId?: string | undefined, authenticatedAgency?: string | undefined, sizeBytes: number, hubDocumentId?: string | undefined }
): SignatureLogEntryInput {
  const common = {
    ...(context.requestId != null ? { requestId: context.requestId } : {}),
    ...(context.authenticatedAgency != null ? { authenticatedAgency: context.authenticatedAgency } : {}),
    ...(context.hubDocumentId != null ? { hubDocumentId: context.hubDocumentId } : {}),
    sizeBytes: context.sizeBytes,
    digestSha256: verdict.digestSha256
  }
  if (verdict.verdict === 'accepted') {
    return {
      ...common,
      claimedAgency: verdict.envelope.from.organId,
      ...(verdict.envelope.documentId != null ? { edxmlDocumentId: verdict.envelope.documentId } : {}),
      algorithms: verdict.algorithms,
      signer: verdict.signer,
      chain: verdict.chain,
      revocation: verdict.revocation,
      verdict: 'accepted',
      flags: [...verdict.flags]
    }
  }
  const claimed = verdict.envelope?.from.organId ?? verdict.claimedSender
  return {
    ...common,
    ...(claimed != null && claimed !== '' ? { claimedAgency: claimed } : {}),
    ...(verdict.envelope?.documentId != null ? { edxmlDocumentId: verdict.envelope.documentId } : {}),
    ...(verdict.algorithms != null ? { algorithms: verdict.algorithms } : {}),
    ...(verdict.signer != null ? { signer: verdict.signer } : {}),
    ...(verdict.revocation != null ? { revocation: verdict.revocation } : {}),
    verdict: 'rejected',
    reasonCode: verdict.code,
    detail: verdict.detail,
    flags: []
  }
}

/** One entry by id, or undefined. */
export async function readSignatureLogEntry (db: Queryable, id: number): Promise<SignatureLogEntry | undefined> {
  const { rows: [row] } = await db.query<SignatureLogRow>(`SELECT ${SIGNATURE_LOG_COLUMNS} FROM signature_log WHERE id = $1`, [id])
  return row != null ? signatureLogEntryFromRow(row) : undefined
}

/** A stored row in the shape of the API (absent values omitted). */
export function signatureLogEntryFromRow (row: SignatureLogRow): SignatureLogEntry {
  const str = (v: unknown): string | undefined => (v == null ? undefined : String(v))
  const iso = (v: unknown): string | undefined => (v == null ? undefined : (v instanceof Date ? v : new Date(String(v))).toISOString())
  const obj = (v: unknown): object | undefined => (v == null ? undefined : (typeof v === 'string' ? JSON.parse(v) as object : v as object))
  const fields: Record<string, unknown> = {
    id: Number(row.id),
    loggedAt: row.logged_at instanceof Date ? row.logged_at : new Date(String(row.logged_at)),
    requestId: str(row.request_id),
    claimedAgency: str(row.claimed_agency),
    authenticatedAgency: str(row.authenticated_agency),
    edxmlDocumentId: str(row.edxml_document_id),
    hubDocumentId: str(row.hub_document_id),
    digestSha256: String(row.digest_sha256),
    sizeBytes: Number(row.size_bytes),
    algorithms: obj(row.algorithms),
    signer: row.cert_fingerprint == null && row.cert_subject == null
      ? undefined
      : {
          subject: str(row.cert_subject) ?? '',
          issuer: str(row.cert_issuer) ?? '',
          serialNumber: str(row.cert_serial) ?? '',
          fingerprintSha256: str(row.cert_fingerprint) ?? '',
          notBefore: iso(row.cert_not_before) ?? '',
          notAfter: iso(row.cert_not_after) ?? ''
        },
    chain: obj(row.chain),
    revocation: obj(row.revocation),
    verdict: row.verdict,
    reasonCode: str(row.reason_code),
    detail: str(row.detail),
    flags: Array.isArray(row.flags) ? row.flags.map(String) : [],
    prevHash: row.prev_hash,
    entryHash: row.entry_hash
  }
  for (const key of Object.keys(fields)) if (fields[key] === undefined) delete fields[key]
  return fields as unknown as SignatureLogEntry
}
