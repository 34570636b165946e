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
 * Group commit: the writes wait in slot order in `pending`; whenever none is in flight, every slot
 * at the front that is ready (prepared) and can be grouped goes to the database in ONE statement
 * (lienthong_append_group, migration 027: each item through the same per-document function, each
 * prev still checked), so N documents cost one round trip and one commit. Slots that become ready
 * while a group is in flight form the next group: no timer, an idle hub writes each slot at once.
 * A group is bounded (GROUP_MAX_ITEMS, GROUP_MAX_BYTES) and holds slots of one generation only; a
 * slot without a group item (a large document, a custom write) is written alone by its own write.
 * A group refused as stale (another process appended before it) fails every item as stale, as
 * each would have failed alone; any other error rolls the group back whole and its items are
 * written one by one, so each document's outcome is its own (a duplicate fails alone, the items
 * after it are refused as stale and start over on a new slot).
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
  /**
   * The same write as an item of a group commit: what lienthong_append_group takes besides the
   * entry (`document`, null for a log-only entry), its size in bytes, and the result the write
   * would give. Undefined (or no `group`): this slot is written alone by `write`.
   */
  group?: (entry: PreparedSignatureLogEntry, prepared: P) => GroupItem<R> | undefined
}

export interface GroupItem<R> {
  document: Record<string, unknown> | null
  bytes: number
  result: R
}

/** A group holds at most this many slots and (beyond its first) this many bytes. */
export const GROUP_MAX_ITEMS = 64
export const GROUP_MAX_BYTES = 4 * 1024 * 1024

/** A slot waiting for its turn to be written, in slot order. */
interface PendingSlot {
  entry: PreparedSignatureLogEntry
  generation: number
  /** Set once prepared: how to write it (alone, or as a group item), or why it cannot be. */
  ready?: { write: () => Promise<unknown>, item?: GroupItem<unknown> } | { failed: unknown }
  resolve: (value: unknown) => void
  reject: (err: unknown) => void
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
  /** Slots not yet written, in slot order; `writing`: a write (one slot or a group) is in flight. */
  private readonly pending: PendingSlot[] = []
  private writing = false
  /** Counters for tests and benchmarks: how often the guess was wrong, and the locked fallback. */
  readonly stats = { appended: 0, stale: 0, locked: 0, backoffs: 0 }
  /**
   * Group commit: statements that wrote a group, the slots they held, and groups rolled back by
   * an error other than a stale head and then written one by one.
   */
  readonly groupStats = { groups: 0, grouped: 0, fallbacks: 0 }
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
      },
      group: (prepared) => ({ document: null, bytes: prepared.canonical.length, result: prepared })
    })
  }

  private async tryOptimistic<P, R>(entry: SignatureLogEntryInput, step: AppendStep<P, R>): Promise<{ done: true, result: R } | { done: false }> {
    const tail = this.tail ?? await this.loadTail()
    // Synchronous from here to the assignment: no other slot can take the same prev.
    const current = this.tail ?? tail
    const generation = this.generation
    const prepared = prepareSignatureLogEntry(entry, current)
    this.tail = { id: prepared.id, hash: prepared.entryHash }
    const write = this.enqueue(prepared, generation, step)
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

  /** Queues the slot's write behind the earlier slots; it goes out once prepared and at the front. */
  private async enqueue<P, R>(entry: PreparedSignatureLogEntry, generation: number, step: AppendStep<P, R>): Promise<R> {
    const run: Run = async (fn, needsTransaction) => needsTransaction ? await this.db.transaction(fn) : await fn(this.db)
    const written = new Promise<unknown>((resolve, reject) => {
      const slot: PendingSlot = { entry, generation, resolve, reject }
      this.pending.push(slot)
      // Never rejects: whatever happens, the slot becomes ready (or failed) so the queue moves on.
      const preparing = (async () => {
        try {
          const value = await step.prepare(entry)
          slot.ready = { write: async () => await step.write(entry, value, run), item: step.group?.(entry, value) }
        } catch (err) {
          slot.ready = { failed: err }
        }
        this.flush()
      })()
      preparing.catch(() => {})
    })
    return await (written as Promise<R>)
  }

  /** Starts the next write if none is in flight and the front slot is prepared. */
  private flush (): void {
    if (this.writing || this.pending[0]?.ready == null) return
    this.writing = true
    const done = (): void => {
      this.writing = false
      this.flush()
    }
    // writeFront settles every slot it takes and does not throw; `done` runs either way.
    this.writeFront().then(done, done)
  }

  /** Writes the front slot, or the group of ready slots at the front; settles each slot's promise. */
  private async writeFront (): Promise<void> {
    const first = this.pending[0]
    const ready = first?.ready
    if (first == null || ready == null) return
    if ('failed' in ready) {
      this.pending.shift()
      first.reject(ready.failed)
      return
    }
    const group = ready.item != null ? this.takeGroup(first) : [this.pending.shift() as PendingSlot]
    if (group.length === 1) {
      await settle(first, ready.write)
      return
    }
    const items = group.map((slot) => {
      const { entry } = slot
      const item = (slot.ready as { item: GroupItem<unknown> }).item
      return { prev_id: entry.prev.id, prev_hash: entry.prev.hash, canonical: entry.canonical, entry_hash: entry.entryHash, document: item.document }
    })
    try {
      await this.db.query('SELECT lienthong_append_group($1::jsonb) AS id', [JSON.stringify(items)])
    } catch (err) {
      if (staleHead(err) != null) {
        // The first item's prev was not the head; the others chain on it: all stale, nothing written.
        for (const slot of group) slot.reject(err)
        return
      }
      // Rolled back whole: each item alone, so only the one at fault fails with its own error.
      this.groupStats.fallbacks++
      for (const slot of group) await settle(slot, (slot.ready as { write: () => Promise<unknown> }).write)
      return
    }
    this.groupStats.groups++
    this.groupStats.grouped += group.length
    for (const slot of group) slot.resolve((slot.ready as { item: GroupItem<unknown> }).item.result)
  }

  /** Removes and returns the ready, groupable slots at the front (same generation, within the bounds). */
  private takeGroup (first: PendingSlot): PendingSlot[] {
    let bytes = 0
    let count = 0
    for (const slot of this.pending) {
      const ready = slot.ready
      if (ready == null || 'failed' in ready || ready.item == null || slot.generation !== first.generation) break
      if (count >= GROUP_MAX_ITEMS || (count > 0 && bytes + ready.item.bytes > GROUP_MAX_BYTES)) break
      bytes += ready.item.bytes
      count++
    }
    return this.pending.splice(0, count)
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

async function settle (slot: PendingSlot, write: () => Promise<unknown>): Promise<void> {
  try {
    slot.resolve(await write())
  } catch (err) {
    slot.reject(err)
  }
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
