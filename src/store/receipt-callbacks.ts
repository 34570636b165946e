import { randomUUID } from 'node:crypto'
import type { Database, Queryable } from '../db/database.js'

/**
 * receipt_callbacks: receipts pushed to senders that receive by push (migration
 * 007_receipt_callbacks), with the same states as a push delivery: queued -> sending ->
 * delivered | waiting_retry -> ... | failed.
 */

/**
 * In the transaction that issues the receipt, so a receipt is never issued without its callback;
 * only for a sender that receives by push and has a URL (pull senders read GET /v1/receipts).
 */
export async function insertReceiptCallback (tx: Queryable, receiptId: string, documentId: string, senderCode: string): Promise<void> {
  await tx.query(
    `INSERT INTO receipt_callbacks (id, receipt_id, document_id, agency_code)
     SELECT $1, $2, $3, code FROM agencies WHERE code = $4 AND delivery_mode = 'push' AND push_url IS NOT NULL`,
    [randomUUID(), receiptId, documentId, senderCode])
}

/** A claimed callback with what sending it needs; `attempts` counts this attempt and fences its outcome. */
export interface ClaimedCallback {
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
 * Claims up to `batch` due callbacks (SKIP LOCKED: several workers never claim the same one): due
 * queued or waiting_retry rows, and rows left `sending` for longer than `staleMs` (their worker
 * crashed). Each gets state `sending` and attempts + 1.
 */
export async function claimDueCallbacks (db: Database, batch: number, staleMs: number): Promise<ClaimedCallback[]> {
  // One statement (one round trip, its own transaction): the due rows locked SKIP LOCKED, marked
  // `sending` with attempts + 1, and returned with what sending them needs.
  const { rows } = await db.query<ClaimedCallback>(
    `WITH due AS (
       SELECT c.id FROM receipt_callbacks c
       WHERE (c.state IN ('queued', 'waiting_retry') AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= now()))
          OR (c.state = 'sending' AND c.updated_at < now() - ($2 || ' milliseconds')::interval)
       ORDER BY c.created_at LIMIT $1 FOR UPDATE OF c SKIP LOCKED
     ), u AS (
       UPDATE receipt_callbacks c SET state = 'sending', attempts = c.attempts + 1, updated_at = now()
       FROM due WHERE c.id = due.id
       RETURNING c.id, c.receipt_id, c.document_id, c.attempts, c.created_at, c.agency_code
     )
     SELECT u.id, u.receipt_id, u.document_id, u.attempts, u.created_at, r.xml, r.kind, r.delivery_id, u.agency_code, a.push_url, a.push_server_certificates, a.push_server_subject
     FROM u JOIN receipts r ON r.id = u.receipt_id JOIN agencies a ON a.code = u.agency_code
     ORDER BY u.created_at`, [batch, String(staleMs)])
  return rows
}

// The outcome UPDATEs are fenced by (state 'sending', attempts): a worker whose claim went stale
// and was claimed again by another (attempts + 1) changes 0 rows instead of overwriting it.

export async function markCallbackDelivered (db: Queryable, c: Pick<ClaimedCallback, 'id' | 'attempts'>, status: number | null): Promise<boolean> {
  const { rows } = await db.query(`UPDATE receipt_callbacks SET state = 'delivered', next_attempt_at = NULL, last_status = $2, last_error = NULL, updated_at = now()
    WHERE id = $1 AND state = 'sending' AND attempts = $3 RETURNING id`, [c.id, status, c.attempts])
  return rows.length > 0
}

export async function scheduleCallbackRetry (db: Queryable, c: Pick<ClaimedCallback, 'id' | 'attempts'>, status: number | null, reason: string, at: Date): Promise<boolean> {
  const { rows } = await db.query(`UPDATE receipt_callbacks SET state = 'waiting_retry', next_attempt_at = $4, last_status = $2, last_error = $3, updated_at = now()
    WHERE id = $1 AND state = 'sending' AND attempts = $5 RETURNING id`, [c.id, status, reason, at, c.attempts])
  return rows.length > 0
}

export async function markCallbackFailed (db: Queryable, c: Pick<ClaimedCallback, 'id' | 'attempts'>, status: number | null, reason: string): Promise<boolean> {
  const { rows } = await db.query(`UPDATE receipt_callbacks SET state = 'failed', next_attempt_at = NULL, last_status = $2, last_error = $3, updated_at = now()
    WHERE id = $1 AND state = 'sending' AND attempts = $4 RETURNING id`, [c.id, status, reason, c.attempts])
  return rows.length > 0
}
