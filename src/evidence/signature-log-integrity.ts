import type { Queryable } from '../db/database.js'
import { GENESIS_HASH, walkSignatureLog, type BrokenLink } from './signature-log-chain.js'
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

export type { BrokenLink }

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

/** The range walked (walkSignatureLog, the same walk as `lienthong audit verify`) from the entry before it. */
export async function verifySignatureLogRange (db: Queryable, options: RangeOptions = {}): Promise<RangeReport> {
  const fromId = options.fromId ?? 1
  if (!Number.isSafeInteger(fromId)) throw new RangeError(`fromId must be an integer, got ${fromId}`)
  const { rows: [before] } = await db.query<{ entry_hash: string }>(
    'SELECT entry_hash FROM signature_log WHERE id < $1 ORDER BY id DESC LIMIT 1', [fromId])
  const anchor = before?.entry_hash ?? GENESIS_HASH
  const walk = await walkSignatureLog(db, {
    afterId: fromId - 1,
    anchor,
    ...(options.toId != null ? { toId: options.toId } : {}),
    ...(options.batchSize != null ? { batchSize: options.batchSize } : {})
  })
  return { ok: walk.broken == null, checked: walk.entries, firstId: walk.firstId, lastId: walk.lastId, anchor, broken: walk.broken }
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
