import { randomUUID } from 'node:crypto'
import type { Database, Queryable } from '../db/database.js'
import type { HubIdentity } from '../evidence/hub-identity.js'
import { issueDeliveryReceipt, issueFailureNotice } from './delivery-receipts.js'
import { loadDelivery, loadRaw, recordEvent, TERMINAL_STATES } from './delivery-store.js'
import { push, PushRefusedError, type PushResponse, type PushTls } from './push-client.js'
import type { PushSettings } from '../registry/push-endpoint.js'
import { pinFromColumns } from '../store/push-pins.js'
import { classifyResponse, nextAttemptAt, parseRetryAfter, type RetryPolicy } from './retry-policy.js'
import { carriesSignedReceipt, checkRecipientReceipt, recordRecipientReceipt } from './recipient-receipt.js'
import type { VerificationPolicy } from '../verification/verification-policy.js'

export interface DeliveryDependencies {
  db: Database
  hub: HubIdentity
  retry: RetryPolicy
  timeoutMs: number
  tls?: PushTls
  /**
   * How to verify a recipient's own signed receipt returned with a 2xx (its trust store and
   * registry); without it such receipts are kept only as the raw answer.
   */
  receiptPolicy?: () => VerificationPolicy
  /** Who acts, for the delivery trail (e.g. worker host:pid). */
  actor: string
  /** Development relaxations of the push rules (http://, unpinned); default from the environment. */
  pushSettings?: PushSettings
  now?: () => number
}

export type AttemptResult =
  | { state: 'delivered' | 'failed' | 'cancelled' | 'acknowledged' | 'available' | 'downloaded' | 'queued', changed: boolean, recovered?: boolean, latencySeconds?: number }
  /** `attempted: false`: the job came early and nothing was sent (the row's retry time stands). */
  | { state: 'waiting_retry', retryAt: Date, attempted?: false }
  /**
   * This attempt lost its claim (its job lock expired, another worker claimed the delivery): its
   * outcome was not recorded (the fenced UPDATE changed 0 rows) and the job is not this worker's.
   */
  | { state: 'superseded', changed: false, outcome: 'delivered' | 'waiting_retry' | 'failed' }

/**
 * One delivery attempt of a push delivery; safe to run twice for the same delivery (duplicate
 * job, worker killed mid-POST and the job re-run): terminal rows are left alone, and a repeated
 * POST carries the same Idempotency-Key (= delivery id) so a recipient that honours it applies the
 * document once. The PostgreSQL row is the truth, the BullMQ job only a reminder.
 */
export async function attemptDelivery (deps: DeliveryDependencies, deliveryId: string): Promise<AttemptResult> {
  const { db } = deps
  const now = deps.now ?? Date.now
  const claimed = await db.transaction(async (tx): Promise<{ done: AttemptResult } | { row: NonNullable<Awaited<ReturnType<typeof loadDelivery>>>, claim: string }> => {
    const row = await loadDelivery(tx, deliveryId, true)
    if (row == null) return { done: { state: 'cancelled', changed: false } }
    if (TERMINAL_STATES.has(row.state) || row.mode === 'pull' || row.state === 'available' || row.state === 'downloaded') {
      return { done: { state: row.state, changed: false } as AttemptResult }
    }
    if (row.next_attempt_at != null && row.next_attempt_at.getTime() > now() + 1000) {
      return { done: { state: 'waiting_retry', retryAt: row.next_attempt_at, attempted: false } as AttemptResult }
    }
    // A fresh claim token fences this attempt's outcome (migration 011_delivery_claims).
    const claim = randomUUID()
    await tx.query('UPDATE deliveries SET state = \'sending\', attempts = attempts + 1, claim_token = $2, updated_at = now() WHERE id = $1', [deliveryId, claim])
    return { row: { ...row, attempts: row.attempts + 1 }, claim }
  })
  if ('done' in claimed) return claimed.done
  const { row, claim } = claimed

  let response: PushResponse | undefined
  let networkError: string | undefined
  let refused = false
  if (row.push_url == null) {
    networkError = 'the recipient has no push URL'
  } else {
    try {
      response = await push({
        url: row.push_url,
        body: await loadRaw(db, row.document_id),
        headers: {
          'content-type': 'application/xml',
          'idempotency-key': row.id,
          'x-lienthong-delivery-id': row.id,
          'x-lienthong-document-id': row.document_id,
          'x-lienthong-kind': row.kind,
          'x-lienthong-sender': row.sender_code,
          'x-lienthong-digest-sha256': row.digest_sha256,
          ...(row.edxml_document_id != null ? { 'x-lienthong-edxml-document-id': encodeURIComponent(row.edxml_document_id) } : {})
        },
        timeoutMs: deps.timeoutMs,
        ...(deps.tls != null ? { tls: deps.tls } : {}),
        pin: pinFromColumns(row.push_server_certificates, row.push_server_subject),
        agency: row.recipient_code,
        ...(deps.pushSettings != null ? { settings: deps.pushSettings } : {})
      })
    } catch (err) {
      networkError = (err as Error).message
      refused = err instanceof PushRefusedError
    }
  }

  // No push URL, or one the hub refuses to use (plain http, no pin): permanent. A server that
  // presents another certificate than the registered one is a network-level failure (retried: the
  // recipient may be renewing its certificate and the registry be updated within the window;
  // nothing was sent to it), with that reason as the last error.
  const outcome = row.push_url == null || refused ? { kind: 'permanent' as const, reason: networkError as string } : classifyResponse(response?.status, networkError)
  // The recipient's own receipt is verified before the transaction (CPU work, no locks held).
  const receipt = outcome.kind === 'delivered' && response != null && deps.receiptPolicy != null && carriesSignedReceipt(response)
    ? { body: response.body, verdict: await checkRecipientReceipt(deps.receiptPolicy(), row, response) }
    : undefined
  const answer = response != null ? `HTTP ${response.status} ${response.body.toString('utf8', 0, 2000)}` : networkError ?? null
  const at = new Date(now())
  return await db.transaction(async (tx) => {
    const current = await loadDelivery(tx, deliveryId, true)
    // Cancelled, or cancelled and resent (queued again), while we were sending: keep what the
    // operator decided; a resent delivery is attempted again by the same job.
    if (current == null || current.state === 'cancelled' || current.state === 'queued') return { state: (current?.state ?? 'cancelled') as 'cancelled' | 'queued', changed: false }
    // Delivered, failed or scheduled for retry meanwhile: only another worker's attempt does that,
    // after this one lost its job lock and the delivery was taken over. Its record stands.
    const mine = outcome.kind === 'delivered' ? 'delivered' : outcome.kind === 'permanent' ? 'failed' : 'waiting_retry'
    if (current.state !== 'sending') return await superseded(tx, deps, deliveryId, row.attempts, mine, `the delivery is ${current.state} now`)
    // Every outcome UPDATE is fenced by this attempt's claim ($4): a worker whose claim was taken
    // over (lock lost while paused or stalled) changes 0 rows and records nothing else.
    const bookkeeping = [response?.status ?? null, answer, deliveryId, claim]
    if (outcome.kind === 'delivered') {
      // Accepted -> delivered, both on PostgreSQL's clock, for the latency metric.
      const { rows: [timing] } = await tx.query<{ seconds: number | string }>(
        `UPDATE deliveries SET state = 'delivered', delivered_at = now(), next_attempt_at = NULL, last_status = $1, last_response = $2, last_error = NULL, updated_at = now()
         WHERE id = $3 AND claim_token = $4 RETURNING extract(epoch FROM delivered_at - created_at) AS seconds`, bookkeeping)
      if (timing == null) return await superseded(tx, deps, deliveryId, row.attempts, 'delivered', `HTTP ${response?.status ?? ''}`)
      await issueDeliveryReceipt(tx, deps.hub, row, 'push', at)
      await recordEvent(tx, deliveryId, 'delivered', deps.actor, `attempt ${row.attempts}: HTTP ${response?.status ?? ''}`)
      if (receipt != null) {
        const recorded = await recordRecipientReceipt(tx, row, receipt.body, receipt.verdict)
        await recordEvent(tx, deliveryId, 'recipient-receipt', deps.actor, recorded.verified
          ? `signed receipt verified, about ${receipt.verdict.ok ? receipt.verdict.about ?? 'this delivery' : ''} (signature log ${recorded.signatureLogId})`
          : `receipt NOT verified: ${receipt.verdict.ok ? '' : `${receipt.verdict.code}: ${receipt.verdict.detail}`} (signature log ${recorded.signatureLogId})`)
      }
      // An earlier attempt had failed: the recipient is back (the worker pulls its other waiting
      // deliveries forward).
      return { state: 'delivered', changed: true, recovered: row.attempts > 1, latencySeconds: Number(timing?.seconds) }
    }
    const retryAt = outcome.kind === 'retry'
      ? nextAttemptAt(deps.retry, row.attempts, row.created_at, now(), parseRetryAfter(header(response, 'retry-after'), now()))
      : undefined
    if (retryAt == null) {
      const reason = outcome.kind === 'retry' ? `retry window exhausted after ${row.attempts} attempts; last: ${outcome.reason}` : `refused by the recipient: ${outcome.reason}`
      const { rows: failed } = await tx.query('UPDATE deliveries SET state = \'failed\', next_attempt_at = NULL, last_status = $1, last_response = $2, last_error = $5, updated_at = now() WHERE id = $3 AND claim_token = $4 RETURNING id', [...bookkeeping, reason])
      if (failed.length === 0) return await superseded(tx, deps, deliveryId, row.attempts, 'failed', reason)
      await issueFailureNotice(tx, deps.hub, row, reason, at)
      await recordEvent(tx, deliveryId, 'failed', deps.actor, reason)
      return { state: 'failed', changed: true }
    }
    const { rows: scheduled } = await tx.query('UPDATE deliveries SET state = \'waiting_retry\', next_attempt_at = $5, last_status = $1, last_response = $2, last_error = $6, updated_at = now() WHERE id = $3 AND claim_token = $4 RETURNING id', [...bookkeeping, retryAt, outcome.reason])
    if (scheduled.length === 0) return await superseded(tx, deps, deliveryId, row.attempts, 'waiting_retry', outcome.reason)
    await recordEvent(tx, deliveryId, 'retry-scheduled', deps.actor, `attempt ${row.attempts}: ${outcome.reason}; next at ${retryAt.toISOString()}`)
    return { state: 'waiting_retry', retryAt }
  })
}

/**
 * The fenced outcome UPDATE changed 0 rows: another worker claimed the delivery after this one's
 * job lock expired. Nothing is recorded but a trail entry saying the late outcome was dropped.
 */
async function superseded (tx: Queryable, deps: DeliveryDependencies, deliveryId: string, attempt: number, outcome: 'delivered' | 'waiting_retry' | 'failed', detail: string): Promise<AttemptResult> {
  await recordEvent(tx, deliveryId, 'outcome-dropped', deps.actor, `attempt ${attempt} lost its claim (another worker took the delivery over); its outcome ${outcome} (${detail.slice(0, 200)}) was not recorded`)
  return { state: 'superseded', changed: false, outcome }
}

function header (response: PushResponse | undefined, name: string): string | undefined {
  const value = response?.headers[name]
  return Array.isArray(value) ? value[0] : value
}
