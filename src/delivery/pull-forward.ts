import type { Queryable } from '../db/database.js'
import type { DeliveryQueue } from '../queue/delivery-queue.js'
import { dueDeliveryIds, makeWaitingDueNow } from '../store/deliveries.js'

/**
 * A push to a recipient that had been failing has just succeeded: the recipient is back, so its
 * other deliveries waiting for their own (exponentially spaced) retry time are made due now
 * instead of trickling in over the next minutes or hours. The per-recipient concurrency limit
 * of the worker still paces the burst, so the recipient is not flooded.
 * Returns how many deliveries were pulled forward.
 */
export async function pullForward (db: Queryable, queue: DeliveryQueue, recipientCode: string): Promise<number> {
  const ids = await makeWaitingDueNow(db, recipientCode)
  // Deliveries due already whose jobs a worker parked while the recipient was held (another
  // process's, or this one's): promoted too (a job not delayed is left alone by promote).
  const due = await dueDeliveryIds(db, recipientCode)
  const all = [...new Set([...ids, ...due])]
  if (all.length > 0) await queue.promote(all)
  return ids.length
}
