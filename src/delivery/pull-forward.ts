import type { Queryable } from '../db/database.js'
import type { DeliveryQueue } from '../queue/delivery-queue.js'

/**
 * A push to a recipient that had been failing has just succeeded: the recipient is back, so its
 * other deliveries waiting for their own (exponentially spaced) retry time are made due now
 * instead of trickling in over the next minutes or hours. The per-recipient concurrency limit
 * of the worker still paces the burst, so the recipient is not flooded.
 * Returns how many deliveries were pulled forward.
 */
export async function pullForward (db: Queryable, queue: DeliveryQueue, recipientCode: string): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    `UPDATE deliveries SET next_attempt_at = now(), updated_at = now()
     WHERE recipient_code = $1 AND state = 'waiting_retry' AND next_attempt_at > now()
     RETURNING id`, [recipientCode])
  if (rows.length === 0) return 0
  await queue.promote(rows.map((r) => r.id))
  return rows.length
}
