import type { Database, Queryable } from '../db/database.js'
import type { DeliveryQueue } from '../queue/delivery-queue.js'
import { markEnqueued } from '../store/delivery-outbox.js'
import { loadDelivery, markCancelled, recordEvent, resetForResend } from '../store/deliveries.js'
import { hasStoredBytes } from '../store/documents.js'
import { rateLimitedErrorLog } from '../logging/rate-limited-error-log.js'

const cancelJobError = rateLimitedErrorLog('cancel: removing the queued job failed')

export type ControlResult = { ok: true, state: string } | { ok: false, reason: 'not-found' | 'conflict', detail: string }

/**
 * Runs inside the control's transaction once the change is made (the admin-audit row of a
 * person's resend): the change and its record commit together or not at all.
 */
export type InTransaction = (tx: Queryable, state: string) => Promise<void>

/**
 * Clerk/operator controls, both recorded in the delivery trail with who did it.
 * Resend: a failed (or cancelled) push delivery starts over with a fresh retry window; a failed
 * pull delivery becomes available again. Cancel: a push delivery not yet delivered stops.
 */
export async function resendDelivery (db: Database, queue: DeliveryQueue | undefined, deliveryId: string, actor: string, onlyForSender?: string, alsoInTransaction?: InTransaction): Promise<ControlResult> {
  const result = await db.transaction(async (tx): Promise<ControlResult> => {
    const row = await loadDelivery(tx, deliveryId, true)
    if (row == null || (onlyForSender != null && row.sender_code !== onlyForSender)) return { ok: false, reason: 'not-found', detail: `no delivery ${deliveryId}` }
    if (row.state !== 'failed' && row.state !== 'cancelled') return { ok: false, reason: 'conflict', detail: `only a failed or cancelled delivery can be resent; this one is ${row.state}` }
    if (!(await hasStoredBytes(tx, row.document_id))) return { ok: false, reason: 'conflict', detail: 'the document\'s bytes were removed after the retention period: it cannot be resent' }
    // A fresh retry window; a push row is the outbox reconciler's until its job is known to exist.
    const state = await resetForResend(tx, deliveryId, row.mode)
    await recordEvent(tx, deliveryId, 'resent', actor)
    await alsoInTransaction?.(tx, state)
    return { ok: true, state }
  })
  if (result.ok && result.state === 'queued' && queue != null) {
    try {
      const job = await queue.queue.getJob(deliveryId)
      // A job still running (the cancelled attempt in flight) sees the row queued again when it
      // ends and runs once more (delivery-worker.ts); any other job with this id would make the
      // add a no-op, so it is removed first.
      if (job != null && (await job.getState()) === 'active') {
        await markEnqueued(db, [deliveryId])
      } else {
        await job?.remove()
        await queue.enqueue([deliveryId])
        await markEnqueued(db, [deliveryId])
      }
    } catch {
      // Redis unavailable: the reconciler enqueues it later (the row says enqueued = false).
    }
  }
  return result
}

export async function cancelDelivery (db: Database, queue: DeliveryQueue | undefined, deliveryId: string, actor: string, onlyForSender?: string): Promise<ControlResult> {
  const result = await db.transaction(async (tx): Promise<ControlResult> => {
    const row = await loadDelivery(tx, deliveryId, true)
    if (row == null || (onlyForSender != null && row.sender_code !== onlyForSender)) return { ok: false, reason: 'not-found', detail: `no delivery ${deliveryId}` }
    if (!['queued', 'waiting_retry', 'sending', 'available'].includes(row.state)) {
      return { ok: false, reason: 'conflict', detail: `a ${row.state} delivery cannot be cancelled` }
    }
    await markCancelled(tx, deliveryId)
    await recordEvent(tx, deliveryId, 'cancelled', actor)
    return { ok: true, state: 'cancelled' }
  })
  // The row is cancelled either way; a job left in Redis finds it so and does nothing.
  if (result.ok && queue != null) await (await queue.queue.getJob(deliveryId).catch(cancelJobError))?.remove().catch(cancelJobError)
  return result
}
