import type { Queryable } from '../db/database.js'

/** Every SQL statement over upstream_received and upstream_sent (migration 018_upstream_exchange). */

export type ReceivedOutcome = 'accepted' | 'duplicate' | 'rejected'

export interface ReceivedRow {
  upstream_id: string
  upstream_doc_id: string
  message_type: 'edoc' | 'status'
  outcome: ReceivedOutcome
  document_id: string | null
  signature_log_id: string | null
  reason_code: string | null
  ack_status: 'done' | 'fail' | null
  acknowledged_at: Date | null
}

export async function findReceived (db: Queryable, upstreamId: string, upstreamDocId: string): Promise<ReceivedRow | undefined> {
  const { rows } = await db.query<ReceivedRow>(
    `SELECT upstream_id, upstream_doc_id, message_type, outcome, document_id, signature_log_id::text AS signature_log_id, reason_code, ack_status, acknowledged_at
     FROM upstream_received WHERE upstream_id = $1 AND upstream_doc_id = $2`, [upstreamId, upstreamDocId])
  return rows[0]
}

/** The decided items among these listed ids, in one query (a round over a long list costs one). */
export async function findReceivedMany (db: Queryable, upstreamId: string, upstreamDocIds: readonly string[]): Promise<Map<string, ReceivedRow>> {
  if (upstreamDocIds.length === 0) return new Map()
  const { rows } = await db.query<ReceivedRow>(
    `SELECT upstream_id, upstream_doc_id, message_type, outcome, document_id, signature_log_id::text AS signature_log_id, reason_code, ack_status, acknowledged_at
     FROM upstream_received WHERE upstream_id = $1 AND upstream_doc_id = ANY($2)`, [upstreamId, [...new Set(upstreamDocIds)]])
  return new Map(rows.map((r) => [r.upstream_doc_id, r]))
}

export interface NewReceived {
  upstreamId: string
  upstreamDocId: string
  messageType: 'edoc' | 'status'
  outcome: ReceivedOutcome
  documentId?: string | undefined
  signatureLogId?: number | undefined
  reasonCode?: string | undefined
  detail?: string | undefined
}

/**
 * Records what the accept path decided for a fetched item. A second poller that fetched the same
 * item at the same time (its accept answered `duplicate`) leaves the first record as it is.
 */
export async function recordReceived (db: Queryable, r: NewReceived): Promise<ReceivedRow> {
  await db.query(
    `INSERT INTO upstream_received (upstream_id, upstream_doc_id, message_type, outcome, document_id, signature_log_id, reason_code, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (upstream_id, upstream_doc_id) DO NOTHING`,
    [r.upstreamId, r.upstreamDocId, r.messageType, r.outcome, r.documentId ?? null, r.signatureLogId ?? null, r.reasonCode ?? null, r.detail?.slice(0, 2000) ?? null])
  return await findReceived(db, r.upstreamId, r.upstreamDocId) as ReceivedRow
}

export async function markAcknowledged (db: Queryable, upstreamId: string, upstreamDocId: string, status: 'done' | 'fail'): Promise<void> {
  await db.query(
    'UPDATE upstream_received SET ack_status = $3, acknowledged_at = now() WHERE upstream_id = $1 AND upstream_doc_id = $2 AND acknowledged_at IS NULL',
    [upstreamId, upstreamDocId, status])
}

/** The upstream's DocId for a delivery sent there (sendEdoc's answer); a resend keeps the latest. */
export async function recordSent (db: Queryable, deliveryId: string, upstreamId: string, upstreamDocId: string): Promise<void> {
  await db.query(
    `INSERT INTO upstream_sent (delivery_id, upstream_id, upstream_doc_id) VALUES ($1, $2, $3)
     ON CONFLICT (delivery_id) DO UPDATE SET upstream_id = EXCLUDED.upstream_id, upstream_doc_id = EXCLUDED.upstream_doc_id, sent_at = now()`,
    [deliveryId, upstreamId, upstreamDocId])
}

export interface SentRow {
  delivery_id: string
  upstream_id: string
  upstream_doc_id: string
  recipient_code: string
  send_status: string | null
  receive_status: string | null
  receive_status_desc: string | null
  sent_at: Date
  checked_at: Date | null
}

export async function sentToUpstream (db: Queryable, deliveryIds: readonly string[]): Promise<SentRow[]> {
  if (deliveryIds.length === 0) return []
  const { rows } = await db.query<SentRow>(
    `SELECT s.delivery_id, s.upstream_id, s.upstream_doc_id, x.recipient_code, s.send_status, s.receive_status, s.receive_status_desc, s.sent_at, s.checked_at
     FROM upstream_sent s JOIN deliveries x ON x.id = s.delivery_id WHERE s.delivery_id = ANY($1::uuid[])`, [deliveryIds])
  return rows
}

/**
 * What was sent to this upstream and not checked for `staleMs` (oldest check first), for the
 * getSentEdocList refresh; documents older than `maxAgeMs` are no longer followed.
 */
export async function sentToRefresh (db: Queryable, upstreamId: string, staleMs: number, maxAgeMs: number, limit: number): Promise<SentRow[]> {
  const { rows } = await db.query<SentRow>(
    `SELECT s.delivery_id, s.upstream_id, s.upstream_doc_id, x.recipient_code, s.send_status, s.receive_status, s.receive_status_desc, s.sent_at, s.checked_at
     FROM upstream_sent s JOIN deliveries x ON x.id = s.delivery_id
     WHERE s.upstream_id = $1
       AND s.sent_at > now() - $3::double precision * interval '1 millisecond'
       AND (s.checked_at IS NULL OR s.checked_at < now() - $2::double precision * interval '1 millisecond')
     ORDER BY s.checked_at NULLS FIRST, s.sent_at LIMIT $4`, [upstreamId, staleMs, maxAgeMs, limit])
  return rows
}

export async function recordUpstreamState (db: Queryable, deliveryId: string, state: { sendStatus?: string | undefined, receiveStatus?: string | undefined, receiveStatusDesc?: string | undefined }): Promise<void> {
  await db.query(
    'UPDATE upstream_sent SET send_status = $2, receive_status = $3, receive_status_desc = $4, checked_at = now() WHERE delivery_id = $1',
    [deliveryId, state.sendStatus ?? null, state.receiveStatus ?? null, state.receiveStatusDesc ?? null])
}

/** A listed item that failed before it was decided (upstream_fetch_failures, migration 025). */
export interface FetchFailure {
  upstreamDocId: string
  attempts: number
  nextAttemptAt: Date
}

/** The failures recorded for these listed ids (one query per round and message type). */
export async function fetchFailures (db: Queryable, upstreamId: string, upstreamDocIds: readonly string[]): Promise<Map<string, FetchFailure>> {
  if (upstreamDocIds.length === 0) return new Map()
  const { rows } = await db.query<{ upstream_doc_id: string, attempts: number, next_attempt_at: Date }>(
    'SELECT upstream_doc_id, attempts, next_attempt_at FROM upstream_fetch_failures WHERE upstream_id = $1 AND upstream_doc_id = ANY($2)',
    [upstreamId, [...new Set(upstreamDocIds)]])
  return new Map(rows.map((r) => [r.upstream_doc_id, { upstreamDocId: r.upstream_doc_id, attempts: r.attempts, nextAttemptAt: new Date(r.next_attempt_at) }]))
}

/**
 * One more failed attempt of a listed item. After the first the item is tried again next round
 * (most failures are passing: a crash, a timeout); after the n-th (n >= 2) it waits
 * baseMs * 2^(n-2), at most capMs. Answers the attempts so far.
 */
export async function recordFetchFailure (db: Queryable, upstreamId: string, upstreamDocId: string, error: string, backoff: { baseMs: number, capMs: number }): Promise<number> {
  const { rows } = await db.query<{ attempts: number }>(
    `INSERT INTO upstream_fetch_failures AS f (upstream_id, upstream_doc_id, attempts, last_error, next_attempt_at)
     VALUES ($1, $2, 1, $3, now())
     ON CONFLICT (upstream_id, upstream_doc_id) DO UPDATE SET
       attempts = f.attempts + 1, last_error = $3, last_failed_at = now(),
       next_attempt_at = now() + least($4::float8 * power(2, f.attempts - 1), $5::float8) * interval '1 millisecond'
     RETURNING attempts`,
    [upstreamId, upstreamDocId, error.slice(0, 2000), backoff.baseMs, backoff.capMs])
  return rows[0]?.attempts ?? 1
}

/** The item was decided (upstream_received has it): its failures are history. */
export async function clearFetchFailure (db: Queryable, upstreamId: string, upstreamDocId: string): Promise<void> {
  await db.query('DELETE FROM upstream_fetch_failures WHERE upstream_id = $1 AND upstream_doc_id = $2', [upstreamId, upstreamDocId])
}
