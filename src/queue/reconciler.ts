import type { Queryable } from '../db/database.js'
import type { DeliveryQueue } from './delivery-queue.js'

/**
 * Transactional outbox: a delivery row is committed before its job exists. This puts every row
 * that is not known to be in Redis (enqueue failed, process crashed between commit and enqueue)
 * into the queue. Idempotent: jobId = delivery id.
 */
export async function enqueuePending (db: Queryable, queue: DeliveryQueue, limit = 500): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    'SELECT id FROM deliveries WHERE NOT enqueued AND state = \'queued\' ORDER BY created_at LIMIT $1', [limit])
  if (rows.length === 0) return 0
  const ids = rows.map((r) => r.id)
  await queue.enqueue(ids)
  await markEnqueued(db, ids)
  return ids.length
}

export async function markEnqueued (db: Queryable, ids: readonly string[]): Promise<void> {
  await db.query('UPDATE deliveries SET enqueued = true, updated_at = now() WHERE id = ANY($1)', [ids])
}

/** Runs enqueuePending every intervalMs until stopped; failures wait for the next round. */
export function startReconciler (db: Queryable, queue: DeliveryQueue, intervalMs: number, onError: (err: unknown) => void): () => void {
  let running = false
  const timer = setInterval(() => {
    if (running) return
    running = true
    enqueuePending(db, queue).catch(onError).finally(() => { running = false })
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}
