import type { Queryable } from '../db/database.js'
import {
  GENESIS_HASH, SIGNATURE_LOG_COLUMNS, canonicalSignatureLogRow, signatureLogEntryHashOf, type SignatureLogRow
} from './signature-log-canonical.js'
import { COPY_SELECT, SignatureLogCopyDecoder } from './signature-log-copy.js'

/**
 * The walk over the hash chain of `signature_log`: the one verification behind `lienthong audit
 * verify`, the integrity endpoint (signature-log-integrity.ts) and the check before a checkpoint is
 * signed (signature-log-checkpoints.ts). The canonical form and the entry hash it recomputes are
 * the writer's own (signature-log-canonical.ts, re-exported here).
 */
export * from './signature-log-canonical.js'

export interface BrokenLink {
  id: number
  reason: 'hash-mismatch' | 'link-broken'
  /** hash-mismatch: the recomputed entry_hash; link-broken: the previous entry's entry_hash. */
  expected: string
  /** hash-mismatch: the stored entry_hash; link-broken: the stored prev_hash. */
  found: string
}

export interface WalkOptions {
  /** Walk the entries with id > afterId (default 0: from the first entry). */
  afterId?: number
  /** The entry_hash the first walked entry must link to (default GENESIS_HASH). */
  anchor?: string
  /** Last id to walk (default: to the end of the log). */
  toId?: number
  /** Rows per COPY (or per query without COPY). Default DEFAULT_BATCH_SIZE. */
  batchSize?: number
}

export interface WalkReport {
  /** Entries verified intact (before the broken one, if any). */
  entries: number
  /** The first entry read (the broken one when the very first is broken); null: none. */
  firstId: number | null
  /** The last entry verified intact; null: none. */
  lastId: number | null
  /** entry_hash of the last entry verified intact (the anchor when none). */
  headHash: string
  broken: BrokenLink | null
}

/**
 * Rows per batch. PostgreSQL streams each batch (memory stays bounded whatever the size); PGlite
 * returns a batch whole (~1 KB per entry, so ~50 MB); a break is found at most one batch late.
 */
export const DEFAULT_BATCH_SIZE = 50_000

/** Decoded between two turns of the event loop (~1,000 entries, a few milliseconds). */
const SLICE_BYTES = 1 << 20

/**
 * Walks the log in id order and recomputes every link and hash; stops at the first break (later
 * entries prove nothing about earlier ones once the chain is broken): a row whose prev_hash is not
 * the previous row's entry_hash (a row was deleted or inserted before it, or its prev_hash was
 * changed) is `link-broken`; a row whose content no longer hashes to its entry_hash (it was
 * changed) is `hash-mismatch`.
 *
 * Rows are read `batchSize` at a time (keyset on id) as a binary COPY when the database offers it
 * (both PostgreSQL and PGlite do: signature-log-copy.ts), otherwise as row objects through the
 * writer's canonicalSignatureLogRow.
 */
export async function walkSignatureLog (db: Queryable, options: WalkOptions = {}): Promise<WalkReport> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE
  const toId = options.toId ?? Number.MAX_SAFE_INTEGER
  let afterId = options.afterId ?? 0
  // Written into the COPY's SQL (COPY takes no parameters): integers only.
  for (const [name, value] of [['batchSize', batchSize], ['afterId', afterId], ['toId', toId]] as const) {
    if (!Number.isSafeInteger(value) || (name === 'batchSize' && value < 1)) throw new RangeError(`${name} must be ${name === 'batchSize' ? 'a positive' : 'an'} integer, got ${value}`)
  }
  let expected = options.anchor ?? GENESIS_HASH
  let entries = 0
  let firstId: number | null = null
  let lastId: number | null = null
  let broken: BrokenLink | null = null
  let rows = 0
  // preimage: prev_hash + "\n" + canonical(row), as the hash takes it.
  const onEntry = (id: number, prevHash: string, entryHash: string, preimage: string | Uint8Array): boolean => {
    rows++
    firstId ??= id
    if (prevHash !== expected) {
      broken = { id, reason: 'link-broken', expected, found: prevHash }
      return false
    }
    const recomputed = signatureLogEntryHashOf(preimage)
    if (recomputed !== entryHash) {
      broken = { id, reason: 'hash-mismatch', expected: recomputed, found: entryHash }
      return false
    }
    entries++
    lastId = id
    expected = entryHash
    return true
  }
  for (;;) {
    rows = 0
    const where = `FROM signature_log WHERE id > ${afterId} AND id <= ${toId} ORDER BY id LIMIT ${batchSize}`
    if (db.copyBinaryOut != null) {
      const decoder = new SignatureLogCopyDecoder()
      let stopped = false
      for await (const chunk of db.copyBinaryOut(`SELECT ${COPY_SELECT} ${where}`)) {
        // After a break the rest of the batch is read and dropped: the connection (perhaps a
        // transaction's) is left in a clean state, never in the middle of a COPY.
        for (let start = 0; start < chunk.length && !stopped; start += SLICE_BYTES) {
          stopped = !decoder.push(chunk.subarray(start, start + SLICE_BYTES), onEntry)
          // A whole batch at once (PGlite): other requests of the hub get the event loop between slices.
          if (chunk.length > SLICE_BYTES) await new Promise((resolve) => setImmediate(resolve))
        }
      }
      if (!stopped) decoder.end()
    } else {
      const result = await db.query<SignatureLogRow>(`SELECT ${SIGNATURE_LOG_COLUMNS} ${where}`)
      for (const row of result.rows) {
        if (!onEntry(Number(row.id), row.prev_hash, row.entry_hash, `${row.prev_hash}\n${canonicalSignatureLogRow(row)}`)) break
      }
    }
    if (broken != null || rows < batchSize || lastId == null) return { entries, firstId, lastId, headHash: expected, broken }
    afterId = lastId
  }
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
  /** Rows per batch (see walkSignatureLog). Default DEFAULT_BATCH_SIZE. */
  batchSize?: number
}

/**
 * The whole log walked from genesis (walkSignatureLog). Deleting entries at the END of the log is
 * not visible here; that is what signed checkpoints of the head are for.
 */
export async function verifySignatureLogChain (db: Queryable, options: VerifyChainOptions = {}): Promise<ChainReport> {
  const walk = await walkSignatureLog(db, options.batchSize != null ? { batchSize: options.batchSize } : {})
  if (walk.broken != null) {
    const { id, reason, expected, found } = walk.broken
    return { ok: false, entries: walk.entries, firstBrokenId: id, reason, expected, found }
  }
  return { ok: true, entries: walk.entries, headId: walk.lastId, headHash: walk.headHash }
}
