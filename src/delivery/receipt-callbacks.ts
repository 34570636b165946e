import type { Database, Queryable } from '../db/database.js'
import type { DeliveryRow } from '../store/deliveries.js'
import type { PushTls } from '../outbound/push-client.js'
import { startPeriodicTask } from '../background/periodic-task.js'
import { sendAndSettle, type OutboundKind } from '../outbound/pipeline.js'
import type { RetryPolicy } from '../outbound/retry-policy.js'
import type { PushSettings } from '../registry/push-endpoint.js'
import { pinFromColumns } from '../store/push-pins.js'
import {
  claimDueCallbacks, insertReceiptCallback, markCallbackDelivered, markCallbackFailed, scheduleCallbackRetry,
  type ClaimedCallback
} from '../store/receipt-callbacks.js'

/**
 * Receipts reach a sender that receives by push the way its documents do: POSTed to its
 * registered endpoint (x-lienthong-kind: receipt). The receipt_callbacks row is written in the
 * transaction that issues the receipt, so a receipt is never issued without its callback; the
 * worker sends due rows (see startReceiptCallbacks). Senders that receive by pull get no row:
 * they read GET /v1/receipts.
 */
export async function scheduleReceiptCallback (tx: Queryable, receiptId: string, delivery: Pick<DeliveryRow, 'document_id' | 'sender_code'>): Promise<void> {
  await insertReceiptCallback(tx, receiptId, delivery.document_id, delivery.sender_code)
}

export interface ReceiptCallbackOptions {
  db: Database
  tls?: PushTls
  timeoutMs: number
  retry: RetryPolicy
  /** How often due callbacks are looked for. */
  intervalMs: number
  /** Callbacks claimed per round. */
  batch?: number
  onError?: (err: unknown) => void
  /** Development relaxations of the push rules (http://, unpinned); default from the environment. */
  pushSettings?: PushSettings
}

/**
 * One round: claims due callbacks (SKIP LOCKED: several workers never send the same one at
 * once; a row left `sending` by a crashed worker is due again after twice the timeout), sends
 * them in parallel through the outbound pipeline, records each outcome. Returns how many were
 * attempted.
 */
export async function sendDueCallbacks (options: ReceiptCallbackOptions): Promise<number> {
  const claimed = await claimDueCallbacks(options.db, options.batch ?? 32, options.timeoutMs * 2)
  const kind = receiptCallback(options.db)
  const settings = { retry: options.retry, timeoutMs: options.timeoutMs, tls: options.tls, pushSettings: options.pushSettings }
  await Promise.all(claimed.map(async (c) => { await sendAndSettle(kind, c, settings) }))
  return claimed.length
}

/**
 * Rounds until one claims less than a full batch (at most `maxRounds`): at 100 deliveries per
 * second a push sender gets 100 receipts per second, more than one batch per interval, and
 * taking one batch per interval would let them pile up without end.
 */
export async function sendAllDueCallbacks (options: ReceiptCallbackOptions, maxRounds = 20): Promise<number> {
  const batch = options.batch ?? 32
  let sent = 0
  for (let round = 0; round < maxRounds; round++) {
    const n = await sendDueCallbacks(options)
    sent += n
    if (n < batch) break
  }
  return sent
}

/** A receipt callback as an outbound kind: the signed receipt XML to the sender's endpoint. */
function receiptCallback (db: Queryable): OutboundKind<ClaimedCallback, boolean> {
  return {
    attempts: (c) => c.attempts,
    windowStart: (c) => c.created_at,
    message: async (c) => ({
      url: c.push_url,
      body: Buffer.from(c.xml, 'utf8'),
      headers: {
        'content-type': 'application/xml',
        'idempotency-key': c.id,
        'x-lienthong-kind': 'receipt',
        'x-lienthong-receipt-kind': c.kind,
        'x-lienthong-receipt-id': c.receipt_id,
        'x-lienthong-document-id': c.document_id,
        ...(c.delivery_id != null ? { 'x-lienthong-delivery-id': c.delivery_id } : {})
      },
      pin: pinFromColumns(c.push_server_certificates, c.push_server_subject),
      agency: c.agency_code
    }),
    delivered: async (c, sent) => await markCallbackDelivered(db, c, sent.status),
    retry: async (c, sent, at, reason) => await scheduleCallbackRetry(db, c, sent.status, reason, at),
    fail: async (c, sent, reason) => await markCallbackFailed(db, c, sent.status, reason)
  }
}

/**
 * Runs sendDueCallbacks every intervalMs (one round at a time) until closed. Every worker runs it:
 * the rows are claimed one by one (SKIP LOCKED), so the work is shared rather than leased.
 */
export function startReceiptCallbacks (options: ReceiptCallbackOptions): { close: () => Promise<void> } {
  const task = startPeriodicTask({
    name: 'receipt-callbacks',
    intervalMs: options.intervalMs,
    run: async () => { await sendAllDueCallbacks(options) },
    onError: (err) => options.onError?.(err)
  })
  return { close: task.close }
}
