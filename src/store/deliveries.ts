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

/** The delivery; row-locked (FOR UPDATE) when `forUpdate`, inside a transaction. */
export async function loadDelivery (db: Queryable, id: string, forUpdate = false): Promise<DeliveryRow | undefined> {
  const { rows } = await db.query<DeliveryRow>(
    `SELECT x.id, x.document_id, x.recipient_code, x.mode, x.state, x.attempts, x.created_at, x.next_attempt_at,
            a.push_url, a.push_server_certificates, a.push_server_subject, d.sender_code, d.digest_sha256, d.edxml_document_id, d.kind,
            d.signature_log_id, (SELECT sl.entry_hash FROM signature_log sl WHERE sl.id = d.signature_log_id) AS signature_log_hash,
            x.route_kind, x.route_target, x.route_rule, x.last_error, x.held_at
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
  /** Claimed for one attempt: `token` fences this attempt's outcome (migration 011_delivery_claims). */
  | { claimed: true, row: DeliveryRow, token: string }
  /** Nothing to send: gone, final or pull. */
  | { claimed: false, state: FinalState | PullState | 'gone' }
  /** Not due yet: its retry time stands (the job came early). */
  | { claimed: false, state: 'waiting_retry', retryAt: Date }

/**
 * Claims a push delivery for one attempt: `sending`, attempts + 1 and a fresh claim token, in one
 * short transaction with the row locked. A row that is final, pull, or due later than
 * `now + earlyMs` is not claimed.
 */
export async function claimPushDelivery (db: Database, id: string, now: number, earlyMs = 1000): Promise<Claim> {
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

/** sending -> waiting_retry at `retryAt`, fenced like markDelivered; false when the claim was lost. */
export async function scheduleRetry (tx: Queryable, id: string, token: string, record: AttemptRecord, retryAt: Date, reason: string): Promise<boolean> {
  const { rows } = await tx.query(
    `UPDATE deliveries SET state = 'waiting_retry', next_attempt_at = $5, last_status = $1, last_response = $2, last_error = $6, updated_at = now()
     WHERE id = $3 AND claim_token = $4 RETURNING id`, [record.status, record.answer, id, token, retryAt, reason])
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
