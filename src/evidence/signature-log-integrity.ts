import type { Queryable } from '../db/database.js'
import { CANONICAL_TEXT_SELECT, GENESIS_HASH, canonicalFromText, signatureLogEntryHash, type SignatureLogRow } from './signature-log-chain.js'
import { compareWithCheckpoint, readCheckpoint, verifyCheckpoint } from './signature-log-checkpoints.js'

/**
 * The integrity check behind GET /api/signature-log/integrity: the chain (or a range of it)
 * recomputed, and the log compared with the newest signed checkpoint.
 */
export interface RangeOptions {
  /** First id to check (default: the first entry). */
  fromId?: number
  /** Last id to check (default: the head). */
  toId?: number
  batchSize?: number
}

export interface BrokenLink {
  id: number
  reason: 'hash-mismatch' | 'link-broken'
  /** hash-mismatch: the recomputed entry_hash; link-broken: the previous entry's entry_hash. */
  expected: string
  /** hash-mismatch: the stored entry_hash; link-broken: the stored prev_hash. */
  found: string
}

export interface RangeReport {
  ok: boolean
  /** Entries verified intact (before the first broken one, if any). */
  checked: number
  firstId: number | null
  lastId: number | null
  /**
   * The entry_hash the first checked entry must link to: genesis for the first entry, otherwise
   * the stored hash of the entry before the range (trusted, not recomputed: check the whole
   * chain to vouch for it too).
   */
  anchor: string
  broken: BrokenLink | null
}

/**
 * Walks the range in id order, `batchSize` rows per query, recomputing every link and hash; stops
 * at the first break (later entries prove nothing about earlier ones once the chain is broken).
 */
export async function verifySignatureLogRange (db: Queryable, options: RangeOptions = {}): Promise<RangeReport> {
  const batchSize = options.batchSize ?? 5000
  const fromId = options.fromId ?? 1
  const toId = options.toId ?? Number.MAX_SAFE_INTEGER
  const { rows: [before] } = await db.query<{ entry_hash: string }>(
    'SELECT entry_hash FROM signature_log WHERE id < $1 ORDER BY id DESC LIMIT 1', [fromId])
  const anchor = before?.entry_hash ?? GENESIS_HASH
  let expected = anchor
  let checked = 0
  let firstId: number | null = null
  let lastId: number | null = null
  const read = async (afterId: number): Promise<SignatureLogRow[]> => (await db.query<SignatureLogRow>(
    `SELECT ${CANONICAL_TEXT_SELECT} FROM signature_log WHERE id > $1 AND id <= $2 ORDER BY signature_log.id LIMIT $3`, [afterId, toId, batchSize])).rows
  let pending = read(fromId - 1)
  for (;;) {
    const rows = await pending
    // The next batch is read while this one is hashed; left unread (and its error ignored) on a break.
    const last = rows[rows.length - 1]
    if (rows.length === batchSize && last != null) {
      pending = read(Number(last.id))
      pending.catch(() => {})
    }
    for (const row of rows) {
      const id = Number(row.id)
      firstId ??= id
      if (row.prev_hash !== expected) {
        return { ok: false, checked, firstId, lastId, anchor, broken: { id, reason: 'link-broken', expected, found: row.prev_hash } }
      }
      const recomputed = signatureLogEntryHash(row.prev_hash, canonicalFromText(row))
      if (recomputed !== row.entry_hash) {
        return { ok: false, checked, firstId, lastId, anchor, broken: { id, reason: 'hash-mismatch', expected: recomputed, found: row.entry_hash } }
      }
      checked++
      lastId = id
      expected = row.entry_hash
    }
    if (rows.length < batchSize) return { ok: true, checked, firstId, lastId, anchor, broken: null }
  }
}

export interface CheckpointCheck {
  id: number
  headId: number | null
  entries: number
  issuedAt: string
  /** The signature verifies with the hub's certificate. */
  signatureValid: boolean
  /** The log still holds the checkpoint's head with its hash (null: not checked, see detail). */
  consistent: boolean | null
  detail: string
}

export interface IntegrityReport {
  ok: boolean
  range: RangeReport
  headId: number | null
  /** The newest stored checkpoint, or null when none was issued yet. */
  checkpoint: CheckpointCheck | null
}

/**
 * The chain or a range verified, then the newest stored checkpoint: its signature (by one of the
 * trusted hub certificates) and whether the log still holds its head with the signed hash (a log
 * truncated or rewritten since is not ok even when what remains is a valid chain).
 */
export async function checkSignatureLogIntegrity (db: Queryable, trustedFingerprints: readonly string[], options: RangeOptions = {}): Promise<IntegrityReport> {
  const range = await verifySignatureLogRange(db, options)
  const { rows: [head] } = await db.query<{ id: string | null }>('SELECT max(id)::text AS id FROM signature_log')
  const headId = head?.id == null ? null : Number(head.id)
  const stored = await readCheckpoint(db)
  if (stored == null) return { ok: range.ok, range, headId, checkpoint: null }
  const verdict = verifyCheckpoint(stored.signed, trustedFingerprints)
  const statement = stored.signed.checkpoint
  const base = { id: stored.id, headId: statement.headId, entries: statement.entries, issuedAt: statement.issuedAt }
  if (!verdict.ok) {
    return { ok: false, range, headId, checkpoint: { ...base, signatureValid: false, consistent: null, detail: `the checkpoint does not verify: ${verdict.reason}` } }
  }
  let checkpoint: CheckpointCheck
  if (!range.ok) {
    checkpoint = { ...base, signatureValid: true, consistent: null, detail: 'not compared: the chain is broken' }
  } else {
    const comparison = await compareWithCheckpoint(db, { ok: true, entries: range.checked, headId, headHash: '' }, statement)
    checkpoint = comparison.ok
      ? { ...base, signatureValid: true, consistent: true, detail: `the log still holds entry #${String(statement.headId)} with the signed hash` }
      : comparison.reason === 'truncated'
        ? { ...base, signatureValid: true, consistent: false, detail: `entries after #${String(comparison.lastId)} are missing: the checkpoint names head #${String(statement.headId)}` }
        : { ...base, signatureValid: true, consistent: false, detail: comparison.detail }
  }
  return { ok: range.ok && checkpoint.consistent !== false, range, headId, checkpoint }
}
