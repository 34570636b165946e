/*
 * THE INVARIANT (docs/delivery.md, "Nothing lost"):
 *
 *   Every delivery that is not final either has a live job in Redis, or is due for re-enqueue
 *   within one reconcile interval.
 *
 * - Final: `delivered`, `failed`, `cancelled`, `acknowledged` (TERMINAL_STATES in
 *   src/store/deliveries.ts). Final rows never need a job; the reconciler never adds one for them.
 * - Job-driven: only `mode = 'push'` deliveries use jobs, in the open push states `queued`,
 *   `sending`, `waiting_retry` (OPEN_PUSH_STATES). Pull deliveries (`available`, `downloaded`) are
 *   not final either, but they wait for the recipient's inbox, not for a job: attemptDelivery
 *   ignores them, and so does this.
 * - Live job: one BullMQ holds under the delivery id in a state a worker will run
 *   (waiting, delayed, prioritized, waiting-children, active). A `completed` or `failed` job with
 *   that id is not live (no worker will ever run it again) and, worse, would make a plain add a
 *   no-op: the reconciler removes it before re-adding.
 * - Due: an open push row untouched for `graceMs` (LIENTHONG_RECONCILE_GRACE_MS, 10 s by default;
 *   so a job being added right now, between the row's commit and the add, is not mistaken for a
 *   lost one). A `sending` row is due only once untouched for max(graceMs, sendingGraceMs), the
 *   hub passing the push timeout plus a second: when Redis lost the job of a POST still in flight
 *   (FLUSHALL, a restart without persistence), a second worker must not send it at the same
 *   time. Every pass
 *   examines every due row, whatever its `enqueued` flag says (the flag is only a hint for the
 *   fast path below: a job can exist with the flag false when markEnqueued failed, and be gone
 *   with the flag true when Redis lost it). A row without a live job is re-added with jobId =
 *   delivery id (idempotent: a second reconciler, or the accept path, adding the same id is a
 *   no-op) and with its schedule: a
 *   `waiting_retry` row waits the rest of its delay (next_attempt_at), it is not sent at once.
 *
 * So a non-final push row is without a live job for at most graceMs + one interval, as long as a
 * pass covers all open push rows (up to `maxRows`, 10,000 by default). A larger backlog is covered
 * in ceil(open / maxRows) passes: each pass is bounded (one query of at most maxRows rows, keyset
 * over ids; `batch` rows per Redis round trip), and the next pass carries on after the last id.
 * The open states are those of OPEN_PUSH_STATES (src/store/deliveries.ts), written out in the
 * query (src/store/delivery-outbox.ts) so that it matches the partial index deliveries_open.
 *
 * Re-adding a job for a row that is being finalised at the same moment is harmless: attemptDelivery
 * locks the row and leaves a final one alone.
 */
import type { Queryable } from '../db/database.js'
import type { DeliveryQueue } from './delivery-queue.js'
import { startPeriodicTask } from '../background/periodic-task.js'
import { flagEnqueued, openPushRowsUntouched, unenqueuedQueued, type OpenPushRow } from '../store/delivery-outbox.js'

/**
 * Transactional outbox, the fast path: a delivery row is committed before its job exists. This puts
 * every `queued` row that is not known to be in Redis (enqueue failed, process crashed between commit
 * and enqueue) into the queue at once, without the grace period. Idempotent: jobId = delivery id.
 * Rows in other states with the flag false are the sweep's (repairLostJobs).
 */
export async function enqueuePending (db: Queryable, queue: DeliveryQueue, limit = 500): Promise<number> {
  const rows = await unenqueuedQueued(db, limit)
  if (rows.length === 0) return 0
  const ids = rows.map((r) => r.id)
  await queue.enqueue(rows.map((r) => ({ id: r.id, recipient: r.recipient_code })))
  // Not markEnqueued: updated_at is the grace period's clock, and a flag set here must not hide
  // the row from the sweep (a finished job under its id made this add a no-op: the sweep fixes it).
  await flagEnqueued(db, ids)
  return ids.length
}

/** Where the next sweep carries on (the last id examined; null: from the start). */
export interface SweepCursor { after: string | null }

export interface SweepOptions {
  /** Rows per Redis round trip. */
  batch?: number
  /** At most this many rows per pass; the cursor keeps the place for the next pass. */
  maxRows?: number
  /** Shared across passes (startReconciler keeps one); a fresh one starts from the first id. */
  cursor?: SweepCursor
  /** A `sending` row is due after max(graceMs, this): its POST may last up to the push timeout. */
  sendingGraceMs?: number
}

/**
 * Enforces the invariant above: every open push delivery untouched for `graceMs` (any `enqueued`
 * flag) whose job is absent or dead (completed/failed) gets exactly one job again, with its
 * remaining delay; rows found with a live job but `enqueued = false` get the flag set. Returns
 * how many jobs were (re-)added.
 */
export async function repairLostJobs (db: Queryable, queue: DeliveryQueue, graceMs = 10_000, options: SweepOptions = {}): Promise<number> {
  const batch = Math.max(1, options.batch ?? 500)
  const maxRows = Math.max(1, options.maxRows ?? 10_000)
  const cursor = options.cursor ?? { after: null }
  const rows = await openPushRowsUntouched(db, graceMs, cursor.after, maxRows, options.sendingGraceMs ?? graceMs)
  // A full page: the next pass carries on after its last id; a short one reached the end.
  cursor.after = rows.length === maxRows ? (rows[rows.length - 1]?.id ?? null) : null
  let added = 0
  for (let i = 0; i < rows.length; i += batch) added += await repairBatch(db, queue, rows.slice(i, i + batch))
  return added
}

async function repairBatch (db: Queryable, queue: DeliveryQueue, rows: readonly OpenPushRow[]): Promise<number> {
  const liveness = await queue.liveness(rows.map((r) => r.id))
  const dead = rows.filter((r) => liveness.get(r.id) === 'dead').map((r) => r.id)
  // A finished job under this id would turn the add into a no-op: it goes first.
  await queue.removeFinished(dead)
  const toAdd = rows.filter((r) => liveness.get(r.id) !== 'live')
  await queue.enqueue(toAdd.map((r) => ({ id: r.id, recipient: r.recipient_code, delayUntil: r.next_attempt_at })))
  // The flag is a hint for enqueuePending only; set it where a job now exists (without touching
  // updated_at: that is the row's own history and the grace period's clock).
  const flagged = rows.filter((r) => !r.enqueued).map((r) => r.id)
  await flagEnqueued(db, flagged)
  return toAdd.length
}

/**
 * One reconcile pass: the sweep that enforces the invariant, then the outbox fast path for rows
 * committed within the grace period. Returns the jobs (re-)added by each.
 */
export async function reconcileOnce (db: Queryable, queue: DeliveryQueue, graceMs = 10_000, options: SweepOptions = {}): Promise<{ repaired: number, pending: number }> {
  const repaired = await repairLostJobs(db, queue, graceMs, options)
  const pending = await enqueuePending(db, queue)
  return { repaired, pending }
}

/**
 * Runs the reconciliation every intervalMs until stopped, in one process at a time across the
 * cluster (a lease in PostgreSQL: src/background/periodic-task.ts); every process runs the loop,
 * so when the lease holder dies another takes the sweep over within about two intervals. A failed
 * round (Redis or PostgreSQL down) waits for the next one. Resolves the returned stop function
 * once a round in progress has finished.
 */
export function startReconciler (db: Queryable, queue: DeliveryQueue, intervalMs: number, onError: (err: unknown) => void, graceMs?: number, sendingGraceMs?: number): () => Promise<void> {
  const cursor: SweepCursor = { after: null }
  const task = startPeriodicTask({
    name: 'outbox-reconciler',
    intervalMs,
    lease: { db },
    run: async () => { await reconcileOnce(db, queue, graceMs, { cursor, ...(sendingGraceMs != null ? { sendingGraceMs } : {}) }) },
    onError
  })
  return task.close
}
