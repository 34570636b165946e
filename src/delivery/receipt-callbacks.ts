import { randomUUID } from 'node:crypto'
import type { Database, Queryable } from '../db/database.js'
import type { DeliveryRow } from './delivery-store.js'
import { push, PushRefusedError, type PushResponse, type PushTls } from './push-client.js'
import type { PushSettings } from '../registry/push-endpoint.js'
import { pinFromColumns } from '../store/push-pins.js'
import { classifyResponse, nextAttemptAt, parseRetryAfter, type RetryPolicy } from './retry-policy.js'

/**
 * Receipts reach a sender that receives by push the way its documents do: POSTed to its
 * registered endpoint (x-lienthong-kind: receipt). The receipt_callbacks row is written in the
 * transaction that issues the receipt, so a receipt is never issued without its callback; the
 * worker sends due rows (see startReceiptCallbacks). Senders that receive by pull get no row:
 * they read GET /v1/receipts.
 */
export async function scheduleReceiptCallback (tx: Queryable, receiptId: string, delivery: Pick<DeliveryRow, 'document_id' | 'sender_code'>): Promise<void> {
  await tx.query(
    `INSERT INTO receipt_callbacks (id, receipt_id, document_id, agency_code)
     SELECT $1, $2, $3, code FROM agencies WHERE code = $4 AND delivery_mode = 'push' AND push_url IS NOT NULL`,
    [randomUUID(), receiptId, delivery.document_id, delivery.sender_code])
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

interface Claimed {
  id: string
  receipt_id: string
  document_id: string
  attempts: number
  created_at: Date
  xml: string
  kind: string
  delivery_id: string | null
  agency_code: string
  push_url: string | null
  push_server_certificates: string[] | null
  push_server_subject: unknown
}

/**
 * One round: claims due callbacks (SKIP LOCKED: several workers never send the same one at
 * once; a row left `sending` by a crashed worker is due again after twice the timeout), POSTs
 * them in parallel, records each outcome. Returns how many were attempted.
 */
export async function sendDueCallbacks (options: ReceiptCallbackOptions): Promise<number> {
  const { db } = options
  const claimed = await db.transaction(async (tx) => {
    const { rows } = await tx.query<Claimed>(
      `SELECT c.id, c.receipt_id, c.document_id, c.attempts, c.created_at, r.xml, r.kind, r.delivery_id, c.agency_code, a.push_url, a.push_server_certificates, a.push_server_subject
       FROM receipt_callbacks c JOIN receipts r ON r.id = c.receipt_id JOIN agencies a ON a.code = c.agency_code
       WHERE (c.state IN ('queued', 'waiting_retry') AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= now()))
          OR (c.state = 'sending' AND c.updated_at < now() - ($2 || ' milliseconds')::interval)
       ORDER BY c.created_at LIMIT $1 FOR UPDATE OF c SKIP LOCKED`, [options.batch ?? 32, String(options.timeoutMs * 2)])
    if (rows.length > 0) {
      await tx.query('UPDATE receipt_callbacks SET state = \'sending\', attempts = attempts + 1, updated_at = now() WHERE id = ANY($1)', [rows.map((r) => r.id)])
    }
    return rows.map((r) => ({ ...r, attempts: r.attempts + 1 }))
  })
  await Promise.all(claimed.map(async (c) => { await sendOne(options, c) }))
  return claimed.length
}

async function sendOne (options: ReceiptCallbackOptions, c: Claimed): Promise<void> {
  let response: PushResponse | undefined
  let networkError: string | undefined
  let refused = false
  if (c.push_url == null) {
    networkError = 'the sender has no push URL any more'
  } else {
    try {
      response = await push({
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
        timeoutMs: options.timeoutMs,
        ...(options.tls != null ? { tls: options.tls } : {}),
        pin: pinFromColumns(c.push_server_certificates, c.push_server_subject),
        agency: c.agency_code,
        ...(options.pushSettings != null ? { settings: options.pushSettings } : {})
      })
    } catch (err) {
      networkError = (err as Error).message
      refused = err instanceof PushRefusedError
    }
  }
  const outcome = c.push_url == null || refused ? { kind: 'permanent' as const, reason: networkError as string } : classifyResponse(response?.status, networkError)
  const status = response?.status ?? null
  if (outcome.kind === 'delivered') {
    await options.db.query('UPDATE receipt_callbacks SET state = \'delivered\', next_attempt_at = NULL, last_status = $2, last_error = NULL, updated_at = now() WHERE id = $1', [c.id, status])
    return
  }
  const retryAfter = response?.headers['retry-after']
  const retryAt = outcome.kind === 'retry'
    ? nextAttemptAt(options.retry, c.attempts, c.created_at, Date.now(), parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter))
    : undefined
  if (retryAt == null) {
    await options.db.query('UPDATE receipt_callbacks SET state = \'failed\', next_attempt_at = NULL, last_status = $2, last_error = $3, updated_at = now() WHERE id = $1', [c.id, status, outcome.reason])
    return
  }
  await options.db.query('UPDATE receipt_callbacks SET state = \'waiting_retry\', next_attempt_at = $4, last_status = $2, last_error = $3, updated_at = now() WHERE id = $1', [c.id, status, outcome.reason, retryAt])
}

/** Runs sendDueCallbacks every intervalMs (one round at a time) until closed. */
export function startReceiptCallbacks (options: ReceiptCallbackOptions): { close: () => Promise<void> } {
  let round: Promise<void> | undefined
  let closed = false
  const timer = setInterval(() => {
    if (round != null || closed) return
    round = sendDueCallbacks(options).then(() => {}, (err: unknown) => options.onError?.(err)).finally(() => { round = undefined })
  }, options.intervalMs)
  timer.unref()
  return {
    close: async () => {
      closed = true
      clearInterval(timer)
      await round
    }
  }
}
