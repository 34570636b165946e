import { randomUUID } from 'node:crypto'
import type { Database, Queryable } from '../db/database.js'

/**
 * The one home of delivery state: the typed row and every transition a delivery goes through,
 * each a named function over SQL that lives only here. Callers (the outbound pipeline, the pull
 * inbox, operator controls, the reconciler) never write `UPDATE deliveries` themselves, so a
 * state can only change the ways listed below.
 *
 *   push:  queued -> sending -> delivered | waiting_retry -> sending ... | failed
 *   pull:  available -> downloaded -> acknowledged | failed
 *   any open state -> cancelled (operator); failed | cancelled -> queued | available (resend)
 */

export type PushState = 'queued' | 'sending' | 'waiting_retry'
export type PullState = 'available' | 'downloaded'
export type FinalState = 'delivered' | 'failed' | 'cancelled' | 'acknowledged'
export type DeliveryState = PushState | PullState | FinalState

export const FINAL_STATES: ReadonlySet<string> = new Set<FinalState>(['delivered', 'failed', 'cancelled', 'acknowledged'])
/** Kept under its old name for the invariant's readers (reconciler, tests). */
export const TERMINAL_STATES = FINAL_STATES
/** The states in which a push delivery is driven by a BullMQ job (the partial index deliveries_open). */
export const OPEN_PUSH_STATES = ['queued', 'sending', 'waiting_retry'] as const satisfies readonly PushState[]

export function isFinal (state: DeliveryState): state is FinalState {
  return FINAL_STATES.has(state)
}

/** A delivery with what delivering it needs (the document's and the recipient's columns joined). */
export interface DeliveryRow {
  id: string
  document_id: string
  recipient_code: string
  mode: 'push' | 'pull'
  state: DeliveryState
  attempts: number
  created_at: Date
  next_attempt_at: Date | null
  push_url: string | null
  /** The push endpoint's server-certificate pin (migration 009_push_endpoint_pins). */
  push_server_certificates: string[] | null
  push_server_subject: Record<string, string> | string | null
  sender_code: string
  digest_sha256: string
  edxml_document_id: string | null
  kind: 'document' | 'status'
  /** The document's acceptance entry in the signature log (cited by delivery receipts). */
  signature_log_id: number | string | null
  signature_log_hash: string | null
  /** Where the recipient's route led at acceptance (migration 015): the worker dispatches on it. */
  route_kind: 'local' | 'peer' | 'upstream'
  /** The peer hub id or upstream id; null for a local agency. */
  route_target: string | null
  route_rule: string | null
  last_error: string | null
  /** The last time the delivery was held for want of a sender for its route kind (migration 022). */
  held_at: Date | null
}

/** The columns of a DeliveryRow, over `x` (deliveries), `d` (documents) and `a` (agencies). */
const ROW_COLUMNS = `x.id, x.document_id, x.recipient_code, x.mode, x.state, x.attempts, x.created_at, x.next_attempt_at,
            a.push_url, a.push_server_certificates, a.push_server_subject, d.sender_code, d.digest_sha256, d.edxml_document_id, d.kind,
            d.signature_log_id, (SELECT sl.entry_hash FROM signature_log sl WHERE sl.id = d.signature_log_id) AS signature_log_hash,
            x.route_kind, x.route_target, x.route_rule, x.last_error, x.held_at`

/** The delivery; row-locked (FOR UPDATE) when `forUpdate`, inside a transaction. */
export async function loadDelivery (db: Queryable, id: string, forUpdate = false): Promise<DeliveryRow | undefined> {
  const { rows } = await db.query<DeliveryRow>(
    `SELECT ${ROW_COLUMNS}
     FROM deliveries x JOIN documents d ON d.id = x.document_id
       -- LEFT: a recipient behind a peer or upstream is no agency of this hub (no push URL, no pin).
       LEFT JOIN agencies a ON a.code = x.recipient_code
     WHERE x.id = $1${forUpdate ? ' FOR UPDATE OF x' : ''}`, [id])
  return rows[0]
}

/** One line of a delivery's trail (who did what, when): delivery_events. */
export async function recordEvent (db: Queryable, deliveryId: string, event: string, actor: string, detail?: string): Promise<void> {
  await db.query('INSERT INTO delivery_events (delivery_id, event, actor, detail) VALUES ($1, $2, $3, $4)', [deliveryId, event, actor, detail ?? null])
}

/** Whether the document already has a delivery to this recipient (a status answering a document). */
export async function hasDeliveryTo (db: Queryable, documentId: string, recipientCode: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM deliveries WHERE document_id = $1 AND recipient_code = $2', [documentId, recipientCode])
  return rows.length > 0
}

// ---- push: claim and the three fenced outcomes -------------------------------------------------

export type Claim =
  /**
   * Claimed for one attempt: `token` fences this attempt's outcome (migration 011_delivery_claims).
   * `raw`: the document's signed bytes, read by the claim itself for a local push delivery with a
   * push URL whose bytes are still kept; undefined otherwise (the caller reads them if it needs
   * them, and gets ContentExpiredError for removed ones).
   */
  | { claimed: true, row: DeliveryRow, token: string, raw?: Buffer }
  /** Nothing to send: gone, final or pull. */
  | { claimed: false, state: FinalState | PullState | 'gone' }
  /** Not due yet: its retry time stands (the job came early). */
  | { claimed: false, state: 'waiting_retry', retryAt: Date }

/**
 * Claims a push delivery for one attempt: `sending`, attempts + 1 and a fresh claim token. A row
 * that is final, pull, or due later than `now + earlyMs` is not claimed.
 *
 * One statement in the usual case (issue 15: a round trip per step of a delivery is most of its
 * cost): the UPDATE's WHERE is the claimable condition, so it locks the row and re-checks it
 * after any concurrent change (READ COMMITTED re-evaluates a changed row), exactly what the
 * locked read-then-update did; it returns the joined row and, for a local push, the bytes to
 * send. Only when it claims nothing does a second look say why (gone, final, pull, not yet due).
 */
export async function claimPushDelivery (db: Database, id: string, now: number, earlyMs = 1000): Promise<Claim> {
  const token = randomUUID()
  const { rows } = await db.query<DeliveryRow & { raw: Uint8Array | null }>(
    `WITH c AS (
       UPDATE deliveries SET state = 'sending', attempts = attempts + 1, claim_token = $2, updated_at = now()
       WHERE id = $1 AND mode = 'push' AND state IN ('queued', 'sending', 'waiting_retry')
         AND (next_attempt_at IS NULL OR next_attempt_at <= $3)
       RETURNING *
     )
     SELECT ${ROW_COLUMNS},
            -- The bytes only where they are sent as they are: a local agency's push endpoint.
            CASE WHEN x.route_kind = 'local' AND a.push_url IS NOT NULL THEN d.raw END AS raw
     FROM c x JOIN documents d ON d.id = x.document_id
       LEFT JOIN agencies a ON a.code = x.recipient_code`, [id, token, new Date(now + earlyMs)])
  const claimed = rows[0]
  if (claimed == null) return await claimPushDeliveryLocked(db, id, now, earlyMs)
  const { raw, ...row } = claimed
  return { claimed: true, row, token, ...(raw != null ? { raw: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength) } : {}) }
}

/**
 * The claim as a locked read then an update: says why a row is not claimed, and claims one that
 * became claimable since the one-statement attempt.
 */
async function claimPushDeliveryLocked (db: Database, id: string, now: number, earlyMs: number): Promise<Claim> {
  return await db.transaction(async (tx): Promise<Claim> => {
    const row = await loadDelivery(tx, id, true)
    if (row == null) return { claimed: false, state: 'gone' }
    const state = row.state
    if (isFinal(state) || state === 'available' || state === 'downloaded') return { claimed: false, state }
    // A pull delivery is never in a push state; should one be, it is not sent.
    if (row.mode === 'pull') return { claimed: false, state: 'gone' }
    if (row.next_attempt_at != null && row.next_attempt_at.getTime() > now + earlyMs) return { claimed: false, state: 'waiting_retry', retryAt: row.next_attempt_at }
    const token = randomUUID()
    await tx.query('UPDATE deliveries SET state = \'sending\', attempts = attempts + 1, claim_token = $2, updated_at = now() WHERE id = $1', [id, token])
    return { claimed: true, row: { ...row, state: 'sending', attempts: row.attempts + 1 }, token }
  })
}

/** What the recipient answered (kept on the row as evidence of the last attempt). */
export interface AttemptRecord {
  status: number | null
  /** `HTTP <status> <start of body>` or the network error. */
  answer: string | null
}

/**
 * sending -> delivered, only while `token` is still this attempt's claim. Returns the seconds
 * from acceptance to delivery (PostgreSQL's clock on both ends), or undefined when the claim
 * was taken over (0 rows changed: the outcome is not this attempt's to record).
 */
export async function markDelivered (tx: Queryable, id: string, token: string, record: AttemptRecord): Promise<number | undefined> {
  const { rows } = await tx.query<{ seconds: number | string }>(
    `UPDATE deliveries SET state = 'delivered', delivered_at = now(), next_attempt_at = NULL, last_status = $1, last_response = $2, last_error = NULL, updated_at = now()
     WHERE id = $3 AND claim_token = $4 RETURNING extract(epoch FROM delivered_at - created_at) AS seconds`, [record.status, record.answer, id, token])
  return rows[0] == null ? undefined : Number(rows[0].seconds)
}

/** The hub's delivery receipt of a push, signed before the record (src/delivery/delivery-receipts.ts). */
export interface SignedDeliveryReceipt {
  id: string
  xml: string
}

/**
 * sending -> delivered with everything that goes with it, in ONE statement (one round trip, its
 * own transaction): the fenced UPDATE, the hub's delivery receipt, its callback row when the
 * sender receives by push (as scheduleReceiptCallback), and the trail entry. The inserts read
 * from the UPDATE's result, so they happen exactly when the row changed. Unlike markDelivered
 * it also requires the row to be `sending`: a row an operator cancelled or resent meanwhile
 * (its claim token unchanged) is left alone and undefined returned, as when the claim was taken
 * over; the caller then records the outcome the long way (settle), which says which it was.
 * Returns the seconds from acceptance to delivery.
 */
export async function recordPushDelivered (
  db: Queryable,
  delivery: Pick<DeliveryRow, 'id' | 'sender_code'>,
  token: string,
  record: AttemptRecord,
  receipt: SignedDeliveryReceipt,
  event: { actor: string, detail: string }
): Promise<number | undefined> {
  const { rows } = await db.query<{ seconds: number | string }>(
    `WITH u AS (
       UPDATE deliveries SET state = 'delivered', delivered_at = now(), next_attempt_at = NULL, last_status = $1, last_response = $2, last_error = NULL, updated_at = now()
       WHERE id = $3 AND claim_token = $4 AND state = 'sending'
       RETURNING id, document_id, extract(epoch FROM delivered_at - created_at) AS seconds
     ), r AS (
       INSERT INTO receipts (id, document_id, delivery_id, kind, xml) SELECT $5, u.document_id, u.id, 'delivery', $6 FROM u
     ), cb AS (
       INSERT INTO receipt_callbacks (id, receipt_id, document_id, agency_code)
       SELECT $7, $5, u.document_id, a.code FROM u JOIN agencies a ON a.code = $8 AND a.delivery_mode = 'push' AND a.push_url IS NOT NULL
     ), e AS (
       INSERT INTO delivery_events (delivery_id, event, actor, detail) SELECT u.id, 'delivered', $9, $10 FROM u
     )
     SELECT seconds FROM u`,
    [record.status, record.answer, delivery.id, token, receipt.id, receipt.xml, randomUUID(), delivery.sender_code, event.actor, event.detail])
  return rows[0] == null ? undefined : Number(rows[0].seconds)
}

/** sending -> waiting_retry at `retryAt`, fenced like markDelivered; false when the claim was lost. */
export async function scheduleRetry (tx: Queryable, id: string, token: string, record: AttemptRecord, retryAt: Date, reason: string): Promise<boolean> {
  const { rows } = await tx.query(
    `UPDATE deliveries SET state = 'waiting_retry', next_attempt_at = $5, last_status = $1, last_response = $2, last_error = $6, updated_at = now()
     WHERE id = $3 AND claim_token = $4 RETURNING id`, [record.status, record.answer, id, token, retryAt, reason])
  return rows.length > 0
}

/**
 * scheduleRetry and its trail entry in ONE statement (like recordPushDelivered): only while the
 * row is `sending` under this claim; false otherwise (the caller then takes the long way, which
 * says why).
 */
export async function recordRetryScheduled (db: Queryable, id: string, token: string, record: AttemptRecord, retryAt: Date, reason: string, event: { actor: string, detail: string }): Promise<boolean> {
  const { rows } = await db.query(
    `WITH u AS (
       UPDATE deliveries SET state = 'waiting_retry', next_attempt_at = $5, last_status = $1, last_response = $2, last_error = $6, updated_at = now()
       WHERE id = $3 AND claim_token = $4 AND state = 'sending' RETURNING id
     ), e AS (
       INSERT INTO delivery_events (delivery_id, event, actor, detail) SELECT u.id, 'retry-scheduled', $7, $8 FROM u
     )
     SELECT id FROM u`, [record.status, record.answer, id, token, retryAt, reason, event.actor, event.detail])
  return rows.length > 0
}

/**
 * sending -> waiting_retry without counting the attempt: nothing was sent because this worker
 * has no sender for the delivery's route kind (peer, upstream). Fenced like markDelivered.
 */
export async function holdUnsent (tx: Queryable, id: string, token: string, retryAt: Date, reason: string): Promise<boolean> {
  const { rows } = await tx.query(
    `UPDATE deliveries SET state = 'waiting_retry', attempts = greatest(attempts - 1, 0), next_attempt_at = $3, last_error = $4, held_at = now(), updated_at = now()
     WHERE id = $1 AND claim_token = $2 RETURNING id`, [id, token, retryAt, reason])
  return rows.length > 0
}

/** sending -> failed, fenced like markDelivered; false when the claim was lost. */
export async function markPushFailed (tx: Queryable, id: string, token: string, record: AttemptRecord, reason: string): Promise<boolean> {
  const { rows } = await tx.query(
    `UPDATE deliveries SET state = 'failed', next_attempt_at = NULL, last_status = $1, last_response = $2, last_error = $5, updated_at = now()
     WHERE id = $3 AND claim_token = $4 RETURNING id`, [record.status, record.answer, id, token, reason])
  return rows.length > 0
}

/**
 * A recipient that had been failing is back: its deliveries waiting for a later retry are made
 * due now. Returns their ids (the caller promotes their delayed jobs).
 */
export async function makeWaitingDueNow (db: Queryable, recipientCode: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `UPDATE deliveries SET next_attempt_at = now(), updated_at = now()
     WHERE recipient_code = $1 AND state = 'waiting_retry' AND next_attempt_at > now()
     RETURNING id`, [recipientCode])
  return rows.map((r) => r.id)
}

/**
 * Push deliveries to the recipient that are due (queued, or waiting_retry whose time has come),
 * at most `limit`: their jobs may be resting in another worker that held them while the recipient
 * was down (delivery-worker.ts); the caller promotes them.
 */
export async function dueDeliveryIds (db: Queryable, recipientCode: string, limit = 5000): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM deliveries
     WHERE recipient_code = $1 AND mode = 'push' AND (state = 'queued' OR (state = 'waiting_retry' AND next_attempt_at <= now()))
     LIMIT $2`, [recipientCode, limit])
  return rows.map((r) => r.id)
}

// ---- pull: the recipient's inbox ---------------------------------------------------------------

/** available -> downloaded on the first download; false when it was not `available`. */
export async function markDownloaded (tx: Queryable, id: string): Promise<boolean> {
  const { rows } = await tx.query('UPDATE deliveries SET state = \'downloaded\', updated_at = now() WHERE id = $1 AND state = \'available\' RETURNING id', [id])
  return rows.length > 0
}

/** The recipient confirmed (VDXP updateStatus done): -> acknowledged. The caller holds the row lock. */
export async function markAcknowledged (tx: Queryable, id: string): Promise<void> {
  await tx.query('UPDATE deliveries SET state = \'acknowledged\', delivered_at = now(), updated_at = now() WHERE id = $1', [id])
}

/** The recipient reported failure (VDXP updateStatus fail): -> failed. The caller holds the row lock. */
export async function markPullFailed (tx: Queryable, id: string, reason: string): Promise<void> {
  await tx.query('UPDATE deliveries SET state = \'failed\', last_error = $2, updated_at = now() WHERE id = $1', [id, reason])
}

// ---- operator controls ------------------------------------------------------------------------

/** Any open state -> cancelled. The caller holds the row lock and checked the state. */
export async function markCancelled (tx: Queryable, id: string): Promise<void> {
  await tx.query('UPDATE deliveries SET state = \'cancelled\', next_attempt_at = NULL, updated_at = now() WHERE id = $1', [id])
}

/**
 * failed | cancelled -> queued (push) or available (pull), with a fresh retry window (created_at
 * restarts) and no attempts. A push row gets enqueued = false: the outbox reconciler owns it until
 * its job is known to exist. The caller holds the row lock and checked the state.
 */
export async function resetForResend (tx: Queryable, id: string, mode: 'push' | 'pull'): Promise<'queued' | 'available'> {
  const state = mode === 'pull' ? 'available' : 'queued'
  await tx.query(`UPDATE deliveries SET state = $2, enqueued = $3, attempts = 0, next_attempt_at = NULL, last_error = NULL,
    created_at = now(), held_at = NULL, updated_at = now() WHERE id = $1`, [id, state, mode === 'pull'])
  return state
}
