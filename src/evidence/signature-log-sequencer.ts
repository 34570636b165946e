import type { Database, Queryable } from '../db/database.js'
import {
  prepareSignatureLogEntry, readSignatureLogHead, SIGNATURE_LOG_LOCK,
  type PreparedSignatureLogEntry, type SignatureLogEntryInput, type SignatureLogHead
} from './signature-log.js'

/**
 * Appending to the signature log without holding its lock across round trips (issue 15, "accept
 * path at verification cost").
 *
 * The acceptance receipt cites its own log entry (id and entry_hash), so the entry must be known
 * before the receipt is signed, and both must commit together. appendSignatureLog learns the head
 * under the lock, so signing would have to happen with the lock held, in a transaction of several
 * round trips. Instead this process keeps the head it expects (`tail`): each append gets the next
 * slot synchronously (id, prev hash, entry hash), its caller prepares what depends on it (signs the
 * receipt, off the main thread) while later appends prepare theirs, and the writes go to the
 * database one after another in slot order, each one statement (migration 014) that appends only
 * if its `prev` is still the head.
 *
 * The database decides; this only guesses well. When the head moved (another process appended,
 * a rejection was logged by appendSignatureLog, an earlier slot failed) the write is refused with
 * SQLSTATE LTSTL and the actual head; the tail is reset to it and the append starts over on a new
 * slot. After MAX_OPTIMISTIC refusals it takes the lock first and prepares under it (the old way),
 * so a busy multi-process hub still makes progress.
 *
 * Two processes appending at full rate would otherwise interleave slot by slot: each refusal
 * throws away the slot and every later one this process prepared on the same guess (their
 * receipts signed for nothing), and the retries collide again. So a refused process backs off:
 * for a random time, doubling with each refusal in a row (up to BACKOFF_MAX_MS) and halving back
 * with each success, no new slot of it is taken, while the other process appends unhindered on a
 * head it knows. The appends come in runs instead of alternating. The chain does not depend on
 * this (the database still checks every prev); only fewer guesses are wasted.
 */

/** How an append reaches the database: `fn` on the pool (one statement, its own transaction), or inside the caller's transaction. */
export type Run = <T>(fn: (q: Queryable) => Promise<T>, needsTransaction: boolean) => Promise<T>

export interface AppendStep<P, R> {
  /** Work that depends on the entry (e.g. sign the receipt citing it); runs in parallel with other slots. */
  prepare: (entry: PreparedSignatureLogEntry) => Promise<P>
  /** The write: must append `entry` with lienthong_append_signature_log (directly or inside lienthong_accept_document). */
  write: (entry: PreparedSignatureLogEntry, prepared: P, run: Run) => Promise<R>
}

const STALE_HEAD = 'LTSTL'
export const MAX_OPTIMISTIC = 4
/** The longest back-off after refusals in a row (the first is up to 1 ms, then 2, 4, 8, 16). */
export const BACKOFF_MAX_MS = 16

export interface SequencerOptions {
  /** The back-off's upper bound in ms; 0 switches it off (for comparison in tests and benches). */
  backoffMaxMs?: number
}

export class SignatureLogSequencer {
  private tail: SignatureLogHead | undefined
  private loading: Promise<SignatureLogHead> | undefined
  /** Bumped whenever the tail is reset: slots of an older generation do not reset it again. */
  private generation = 0
  private lastWrite: Promise<unknown> = Promise.resolve()
  /** Counters for tests and benchmarks: how often the guess was wrong, and the locked fallback. */
  readonly stats = { appended: 0, stale: 0, locked: 0, backoffs: 0 }
  /** Refusals in a row (decays by one per success), and the time before which no slot is taken. */
  private contention = 0
  private notBefore = 0
  private readonly backoffMaxMs: number

  constructor (private readonly db: Database, options: SequencerOptions = {}) {
    this.backoffMaxMs = options.backoffMaxMs ?? BACKOFF_MAX_MS
  }

  async append<P, R>(entry: SignatureLogEntryInput, step: AppendStep<P, R>): Promise<R> {
    for (let attempt = 0; attempt < MAX_OPTIMISTIC; attempt++) {
      await this.waitOutBackoff()
      const outcome = await this.tryOptimistic(entry, step)
      if (outcome.done) return outcome.result
      this.stats.stale++
    }
    return await this.appendLocked(entry, step)
  }

  /** The log-only append (rejections, duplicates): one statement. */
  async appendEntry (entry: SignatureLogEntryInput): Promise<PreparedSignatureLogEntry> {
    return await this.append(entry, {
      prepare: async () => undefined,
      write: async (prepared, _p, run) => {
        await run(async (q) => await callAppend(q, prepared), false)
        return prepared
      }
    })
  }

  private async tryOptimistic<P, R>(entry: SignatureLogEntryInput, step: AppendStep<P, R>): Promise<{ done: true, result: R } | { done: false }> {
    const tail = this.tail ?? await this.loadTail()
    // Synchronous from here to the assignment: no other slot can take the same prev.
    const current = this.tail ?? tail
    const generation = this.generation
    const prepared = prepareSignatureLogEntry(entry, current)
    this.tail = { id: prepared.id, hash: prepared.entryHash }
    const previous = this.lastWrite
    const run: Run = async (fn, needsTransaction) => needsTransaction ? await this.db.transaction(fn) : await fn(this.db)
    const write = (async () => {
      const value = await step.prepare(prepared)
      // In slot order: a write sent before its predecessor committed would find the head moved.
      await previous
      return await step.write(prepared, value, run)
    })()
    this.lastWrite = write.then(() => undefined, () => undefined)
    try {
      const result = await write
      this.stats.appended++
      if (this.contention > 0) this.contention--
      return { done: true, result }
    } catch (err) {
      const head = staleHead(err)
      if (generation === this.generation) {
        this.generation++
        // Stale: the database told us the head. Anything else (constraint violation, lost
        // connection...): the head is unknown, read it again before the next slot.
        this.tail = head
        this.loading = undefined
        if (head != null) this.backOff()
      }
      if (head != null) return { done: false }
      throw err
    }
  }

  /** After a refusal: no new slot for a random time up to 2^(refusals in a row - 1) ms (capped). */
  private backOff (): void {
    if (this.backoffMaxMs <= 0) return
    this.contention = Math.min(this.contention + 1, 16)
    const bound = Math.min(this.backoffMaxMs, 2 ** (this.contention - 1))
    // Random, so that two processes refused by each other do not come back at the same moment.
    this.notBefore = Math.max(this.notBefore, Date.now() + Math.random() * bound)
    this.stats.backoffs++
  }

  private async waitOutBackoff (): Promise<void> {
    // A loop: a later refusal may push notBefore on while this one waits.
    for (let wait = this.notBefore - Date.now(); wait > 0; wait = this.notBefore - Date.now()) {
      await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }

  /** The fallback: the lock first, then the head, the preparation and the write in one transaction. */
  private async appendLocked<P, R>(entry: SignatureLogEntryInput, step: AppendStep<P, R>): Promise<R> {
    this.stats.locked++
    const result = await this.db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(${SIGNATURE_LOG_LOCK})`)
      const head = await readSignatureLogHead(tx)
      const prepared = prepareSignatureLogEntry(entry, head)
      const value = await step.prepare(prepared)
      return { prepared, result: await step.write(prepared, value, async (fn) => await fn(tx)) }
    })
    if (this.tail == null || result.prepared.id > this.tail.id) {
      this.generation++
      this.tail = { id: result.prepared.id, hash: result.prepared.entryHash }
    }
    return result.result
  }

  private async loadTail (): Promise<SignatureLogHead> {
    const generation = this.generation
    this.loading ??= readSignatureLogHead(this.db)
    const loading = this.loading
    try {
      const head = await loading
      // Set once, by the first of the waiters; later ones find it set (and may have moved it on).
      if (this.tail == null && generation === this.generation) this.tail = head
      return head
    } finally {
      if (this.loading === loading) this.loading = undefined
    }
  }
}

/** Appends a prepared entry (one statement); throws with SQLSTATE LTSTL when the head moved. */
export async function callAppend (q: Queryable, entry: PreparedSignatureLogEntry): Promise<void> {
  await q.query('SELECT lienthong_append_signature_log($1, $2, $3, $4) AS id', [entry.prev.id, entry.prev.hash, entry.canonical, entry.entryHash])
}

/** The actual head from a stale-head refusal, or undefined for any other error. */
export function staleHead (err: unknown): SignatureLogHead | undefined {
  const e = err as { code?: unknown, detail?: unknown }
  if (e?.code !== STALE_HEAD || typeof e.detail !== 'string') return undefined
  const head = JSON.parse(e.detail) as { id: number, hash: string }
  return { id: Number(head.id), hash: head.hash }
}

const sequencers = new WeakMap<Database, SignatureLogSequencer>()

/** The sequencer of this process for `db` (one per database handle, so per test schema too). */
export function sequencerFor (db: Database): SignatureLogSequencer {
  let sequencer = sequencers.get(db)
  if (sequencer == null) {
    sequencer = new SignatureLogSequencer(db)
    sequencers.set(db, sequencer)
  }
  return sequencer
}
