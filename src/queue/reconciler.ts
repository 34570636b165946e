import type { Queryable } from '../db/database.js'
import type { DeliveryQueue } from './delivery-queue.js'

/**
 * Transactional outbox: a delivery row is committed before its job exists. This puts every row
 * that is not known to be in Redis (enqueue failed, process crashed between commit and enqueue)
 * into the queue. Idempotent: jobId = delivery id.
 */
export async function enqueuePending (db: Queryable, queue: DeliveryQueue, limit = 500): Promise<number> {
  const { rows } = await db.query<{ id: string, recipient_code: string }>(
    'SELECT id, recipient_code FROM deliveries WHERE NOT enqueued AND state = \'queued\' ORDER BY created_at LIMIT $1', [limit])
  if (rows.length === 0) return 0
  const ids = rows.map((r) => r.id)
  await queue.enqueue(rows.map((r) => ({ id: r.id, recipient: r.recipient_code })))
  await markEnqueued(db, ids)
  return ids.length
}

export async function markEnqueued (db: Queryable, ids: readonly string[]): Promise<void> {
  await db.query('UPDATE deliveries SET enqueued = true, updated_at = now() WHERE id = ANY($1)', [ids])
}

/**
 * Deliveries that should be in Redis but are not (Redis flushed or restarted without
 * persistence, a job removed by hand): re-added with their schedule. Rows left `sending` by a
 * crashed worker are picked up by BullMQ's stalled-job check while their job exists, and by this
 * when it does not. Only rows untouched for `graceMs` are examined, so a job being added right
 * now is not mistaken for a lost one.
 */
export async function repairLostJobs (db: Queryable, queue: DeliveryQueue, graceMs = 10_000, limit = 1000): Promise<number> {
  const { rows } = await db.query<{ id: string, recipient_code: string, next_attempt_at: Date | null }>(
    `SELECT id, recipient_code, next_attempt_at FROM deliveries
     WHERE enqueued AND state IN ('queued', 'sending', 'waiting_retry') AND updated_at < now() - ($1 || ' milliseconds')::interval
     ORDER BY updated_at LIMIT $2`, [String(graceMs), limit])
  if (rows.length === 0) return 0
  const lost = new Set(await queue.missing(rows.map((r) => r.id)))
  const toAdd = rows.filter((r) => lost.has(r.id)).map((r) => ({ id: r.id, recipient: r.recipient_code, delayUntil: r.next_attempt_at }))
  await queue.enqueue(toAdd)
  return toAdd.length
}

/** Runs the reconciliation every intervalMs until stopped; failures wait for the next round. */
export function startReconciler (db: Queryable, queue: DeliveryQueue, intervalMs: number, onError: (err: unknown) => void): () => void {
  let running = false
  const timer = setInterval(() => {
    if (running) return
    running = true
    enqueuePending(db, queue).then(async () => await repairLostJobs(db, queue)).catch(onError).finally(() => { running = false })
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}
