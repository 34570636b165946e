import type { Database, Queryable } from '../db/database.js'
import type { HubIdentity } from '../evidence/hub-identity.js'
import { randomUUID } from 'node:crypto'
import { issueReceipt, type ReceiptFields } from '../evidence/receipts.js'
import { deliveryReceiptFields, issueDeliveryReceipt, issueFailureNotice } from './delivery-receipts.js'
import {
  claimPushDelivery, holdUnsent, loadDelivery, markDelivered, markPushFailed, recordEvent, recordPushDelivered, recordRetryScheduled, scheduleRetry,
  type AttemptRecord, type DeliveryRow, type FinalState, type PullState
} from '../store/deliveries.js'
import { loadRaw } from '../store/documents.js'
import { pinFromColumns } from '../store/push-pins.js'
import type { PushTls } from '../outbound/push-client.js'
import { settleSent, type OutboundKind } from '../outbound/pipeline.js'
import type { RouteSenders, RouteSendOutcome } from '../outbound/route-sender.js'
import { describeTarget, type RemoteTarget } from '../routing/route.js'
import { DEFAULT_HOLD_MS, holdReason, remoteTarget, sendByRoute } from './route-delivery.js'
import { sendMessage, type SendResult } from '../outbound/send-message.js'
import type { RetryPolicy } from '../outbound/retry-policy.js'
import type { PushSettings } from '../registry/push-endpoint.js'
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
  /**
   * Signs a hub receipt off the event loop (the gateway's receipt signing pool,
   * src/evidence/receipt-signing-pool.ts); default: issueReceipt on this thread.
   */
  signReceipt?: (fields: ReceiptFields) => Promise<string>
  /** Development relaxations of the push rules (http://, unpinned); default from the environment. */
  pushSettings?: PushSettings
  /** Senders for deliveries routed to a peer hub or an upstream axis (issue 13); a missing one keeps them waiting. */
  routeSenders?: RouteSenders
  /** How long such a waiting delivery rests before it is looked at again (default 60 s). */
  holdMs?: number
  now?: () => number
}

/**
 * How the attempt went at the recipient, for its adaptive concurrency limit
 * (recipient-slots.ts): present only when this run sent (or tried to send) something.
 */
export interface AttemptFeedback {
  /** HTTP status of the answer, null without one. */
  status: number | null
  retryAfterMs: number | undefined
  latencyMs: number
  timedOut: boolean
  /** False when nothing went to the recipient (the hub refused to send): no news of its health. */
  sent: boolean
  /** The answer was 2xx, or a permanent refusal that is not overload: the recipient works. */
  reached: boolean
}

export type AttemptResult =
  /** Nothing was attempted: the row is final, pull, or gone (`gone`: deleted). */
  | { state: FinalState | PullState | 'gone', changed: false }
  | { state: 'delivered', changed: true, recovered: boolean, latencySeconds: number, feedback: AttemptFeedback }
  | { state: 'failed', changed: true, feedback: AttemptFeedback }
  /** `attempted: false`: the job came early and nothing was sent (the row's retry time stands). */
  | { state: 'waiting_retry', retryAt: Date, attempted: false }
  | { state: 'waiting_retry', retryAt: Date, feedback: AttemptFeedback }
  /**
   * The row was cancelled, or cancelled and resent (`queued` again), while this attempt was in
   * flight: the operator's decision stands, nothing of this attempt is recorded.
   */
  | { state: 'cancelled' | 'queued' | 'gone', changed: false, feedback: AttemptFeedback }
  /**
   * This attempt lost its claim (its job lock expired, another worker claimed the delivery): its
   * outcome was not recorded (the fenced UPDATE changed 0 rows) and the job is not this worker's.
   */
  | { state: 'superseded', changed: false, outcome: 'delivered' | 'waiting_retry' | 'failed', feedback: AttemptFeedback }

interface Claimed { row: DeliveryRow, token: string, raw?: Buffer | undefined }

/**
 * One delivery attempt of a push delivery; safe to run twice for the same delivery (duplicate
 * job, worker killed mid-POST and the job re-run): final rows are left alone, and a repeated
 * POST carries the same Idempotency-Key (= delivery id) so a recipient that honours it applies the
 * document once. The PostgreSQL row is the truth, the BullMQ job only a reminder.
 */
export async function attemptDelivery (deps: DeliveryDependencies, deliveryId: string, onSent?: (feedback: AttemptFeedback) => void): Promise<AttemptResult> {
  const now = deps.now ?? Date.now
  const claim = await claimPushDelivery(deps.db, deliveryId, now())
  if (!claim.claimed) {
    return claim.state === 'waiting_retry'
      ? { state: 'waiting_retry', retryAt: claim.retryAt, attempted: false }
      : { state: claim.state, changed: false }
  }
  const target = remoteTarget(claim.row)
  if (target != null) return await attemptRoute(deps, { row: claim.row, token: claim.token }, target)
  const kind = documentPush(deps)
  const item: Claimed = { row: claim.row, token: claim.token, raw: claim.raw }
  const sent = await sendMessage(await kind.message(item), { timeoutMs: deps.timeoutMs, tls: deps.tls, pushSettings: deps.pushSettings, now })
  // The exchange with the recipient is over: what remains (its receipt checked, the hub's receipt
  // signed, the outcome recorded) is the hub's own work, which the recipient's slot need not wait for.
  onSent?.(feedbackOf(sent))
  const { result } = await settleSent(kind, item, sent, { retry: deps.retry, now })
  return withFeedback(result, sent)
}

type Settled =
  | { state: 'delivered', changed: true, recovered: boolean, latencySeconds: number }
  | { state: 'failed', changed: true }
  | { state: 'waiting_retry', retryAt: Date }
  | { state: 'cancelled' | 'queued' | 'gone', changed: false }
  | { state: 'superseded', changed: false, outcome: 'delivered' | 'waiting_retry' | 'failed' }

function withFeedback (result: Settled, sent: SendResult): AttemptResult {
  return { ...result, feedback: feedbackOf(sent) }
}

function feedbackOf (sent: SendResult): AttemptFeedback {
  const overloaded = sent.status === 429 || sent.status === 503
  const reached = sent.outcome.kind === 'delivered' || (sent.outcome.kind === 'permanent' && sent.status != null && !overloaded)
  return { status: sent.status, retryAfterMs: sent.retryAfterMs, latencyMs: sent.latencyMs, timedOut: sent.timedOut, sent: sent.sent, reached }
}

/** The document push as an outbound kind: the original signed bytes to the recipient's endpoint. */
function documentPush (deps: DeliveryDependencies): OutboundKind<Claimed, Settled> {
  const { db } = deps
  const now = deps.now ?? Date.now
  const record = (sent: SendResult): AttemptRecord => ({ status: sent.status, answer: sent.answer })
  return {
    attempts: ({ row }) => row.attempts,
    windowStart: ({ row }) => row.created_at,
    message: async ({ row, raw }) => ({
      url: row.push_url,
      // The claim read the bytes with the row when they are kept; otherwise loadRaw says why not.
      body: row.push_url == null ? Buffer.alloc(0) : raw ?? await loadRaw(db, row.document_id),
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
      pin: pinFromColumns(row.push_server_certificates, row.push_server_subject),
      agency: row.recipient_code
    }),
    delivered: async ({ row, token }, sent) => {
      // The recipient's own receipt is verified before the transaction (CPU work, no locks held).
      const response = sent.response
      const receipt = response != null && deps.receiptPolicy != null && carriesSignedReceipt(response)
        ? { body: response.body, verdict: await checkRecipientReceipt(deps.receiptPolicy(), row, response) }
        : undefined
      if (receipt == null) {
        // The usual case: the hub's receipt signed first (off the event loop, no lock held), then
        // the row, the receipt, its callback and the trail in one statement. Nothing recorded
        // (cancelled, resent or taken over meanwhile): the long way below says which, and
        // records it.
        const at = new Date(now())
        const fields = deliveryReceiptFields(row, 'push', at)
        const signed = { id: randomUUID(), xml: deps.signReceipt != null ? await deps.signReceipt(fields) : issueReceipt(fields, deps.hub) }
        const seconds = await recordPushDelivered(db, row, token, record(sent), signed, { actor: deps.actor, detail: `attempt ${row.attempts}: HTTP ${sent.status ?? ''}` })
        if (seconds != null) return { state: 'delivered', changed: true, recovered: row.attempts > 1, latencySeconds: seconds }
      }
      return await settle(deps, row, 'delivered', async (tx) => {
        const seconds = await markDelivered(tx, row.id, token, record(sent))
        if (seconds == null) return undefined
        await issueDeliveryReceipt(tx, deps.hub, row, 'push', new Date(now()))
        await recordEvent(tx, row.id, 'delivered', deps.actor, `attempt ${row.attempts}: HTTP ${sent.status ?? ''}`)
        if (receipt != null) {
          const recorded = await recordRecipientReceipt(tx, row, receipt.body, receipt.verdict)
          await recordEvent(tx, row.id, 'recipient-receipt', deps.actor, recorded.verified
            ? `signed receipt verified, about ${receipt.verdict.ok ? receipt.verdict.about ?? 'this delivery' : ''} (signature log ${recorded.signatureLogId})`
            : `receipt NOT verified: ${receipt.verdict.ok ? '' : `${receipt.verdict.code}: ${receipt.verdict.detail}`} (signature log ${recorded.signatureLogId})`)
        }
        // An earlier attempt had failed: the recipient is back (the worker pulls its other waiting
        // deliveries forward).
        return { state: 'delivered', changed: true, recovered: row.attempts > 1, latencySeconds: seconds }
      }, `HTTP ${sent.status ?? ''}`)
    },
    retry: async ({ row, token }, sent, at, reason) => {
      // One statement in the usual case; otherwise the long way says what happened meanwhile.
      const detail = `attempt ${row.attempts}: ${reason}; next at ${at.toISOString()}`
      if (await recordRetryScheduled(db, row.id, token, record(sent), at, reason, { actor: deps.actor, detail })) return { state: 'waiting_retry', retryAt: at }
      return await settle(deps, row, 'waiting_retry', async (tx) => {
        if (!(await scheduleRetry(tx, row.id, token, record(sent), at, reason))) return undefined
        await recordEvent(tx, row.id, 'retry-scheduled', deps.actor, detail)
        return { state: 'waiting_retry', retryAt: at }
      }, reason)
    },
    fail: async ({ row, token }, sent, reason) => await settle(deps, row, 'failed', async (tx) => {
      if (!(await markPushFailed(tx, row.id, token, record(sent), reason))) return undefined
      await issueFailureNotice(tx, deps.hub, row, reason, new Date(now()))
      await recordEvent(tx, row.id, 'failed', deps.actor, reason)
      return { state: 'failed', changed: true }
    }, reason)
  }
}

/**
 * A delivery whose route leads to a peer hub or an upstream axis: the sender for that kind
 * carries it; the claim, fencing and trail are the same as for a push. Without a sender the row
 * is held (waiting_retry, attempt uncounted) and looked at again after `holdMs`.
 */
async function attemptRoute (deps: DeliveryDependencies, claimed: Claimed, target: RemoteTarget): Promise<AttemptResult> {
  const now = deps.now ?? Date.now
  const sender = deps.routeSenders?.[target.kind]
  if (sender == null) {
    const { row, token } = claimed
    const at = new Date(now() + (deps.holdMs ?? DEFAULT_HOLD_MS))
    const reason = holdReason(target)
    const held = await deps.db.transaction(async (tx) => {
      if (!(await holdUnsent(tx, row.id, token, at, reason))) return false
      // Once in the trail, not at every look.
      if (row.last_error !== reason) await recordEvent(tx, row.id, 'held', deps.actor, reason)
      return true
    })
    if (!held) {
      const current = await loadDelivery(deps.db, row.id)
      return { state: current?.state === 'cancelled' || current?.state === 'queued' ? current.state : 'gone', changed: false, feedback: NOTHING_SENT }
    }
    return { state: 'waiting_retry', retryAt: at, attempted: false }
  }
  const { sent, outcome } = await sendByRoute(async (d) => await sender.send(d), deps.db, claimed.row, target)
  const { result } = await settleSent(routeForward(deps, target, outcome), claimed, sent, { retry: deps.retry, now })
  return withFeedback(result, sent)
}

const NOTHING_SENT: AttemptFeedback = { status: null, retryAfterMs: undefined, latencyMs: 0, timedOut: false, sent: false, reached: false }

/** The outcome handlers for a peer or upstream route: the push transitions, plus the sender's own record. */
function routeForward (deps: DeliveryDependencies, target: RemoteTarget, outcome: RouteSendOutcome): Omit<OutboundKind<Claimed, Settled>, 'message'> {
  const now = deps.now ?? Date.now
  const record = (sent: SendResult): AttemptRecord => ({ status: sent.status, answer: sent.answer })
  const to = describeTarget(target)
  return {
    attempts: ({ row }) => row.attempts,
    // A held delivery (no sender for its route kind until now) counts its window from its last
    // hold, i.e. from when it could first be sent, not from its creation (migration 022).
    windowStart: ({ row }) => retryWindowStart(row),
    delivered: async ({ row, token }, sent) => await settle(deps, row, 'delivered', async (tx) => {
      const seconds = await markDelivered(tx, row.id, token, record(sent))
      if (seconds == null) return undefined
      if (outcome.kind === 'delivered') await outcome.record?.(tx)
      const detail = outcome.kind === 'delivered' && outcome.detail != null ? `: ${outcome.detail}` : ''
      await recordEvent(tx, row.id, 'forwarded', deps.actor, `attempt ${row.attempts}: handed to ${to}${detail}`)
      return { state: 'delivered', changed: true, recovered: row.attempts > 1, latencySeconds: seconds }
    }, `handed to ${to}`),
    retry: async ({ row, token }, sent, at, reason) => await settle(deps, row, 'waiting_retry', async (tx) => {
      if (!(await scheduleRetry(tx, row.id, token, record(sent), at, reason))) return undefined
      await recordEvent(tx, row.id, 'retry-scheduled', deps.actor, `attempt ${row.attempts} to ${to}: ${reason}; next at ${at.toISOString()}`)
      return { state: 'waiting_retry', retryAt: at }
    }, reason),
    fail: async ({ row, token }, sent, reason) => await settle(deps, row, 'failed', async (tx) => {
      if (!(await markPushFailed(tx, row.id, token, record(sent), reason))) return undefined
      await issueFailureNotice(tx, deps.hub, row, reason, new Date(now()))
      await recordEvent(tx, row.id, 'failed', deps.actor, `${to}: ${reason}`)
      return { state: 'failed', changed: true }
    }, reason)
  }
}

/**
 * Records an attempt's outcome in one transaction with the row locked. The operator's decision
 * wins over an attempt in flight: a row cancelled (or cancelled and resent: `queued`) meanwhile
 * keeps its state, and a resent one is attempted again by the same job. Any other state than
 * `sending`, or a fenced UPDATE that changes 0 rows (`write` returns undefined), means another
 * worker took the delivery over after this one lost its job lock: its record stands and this
 * attempt's outcome is dropped, with a trail entry saying so.
 */
async function settle (
  deps: DeliveryDependencies,
  row: DeliveryRow,
  mine: 'delivered' | 'waiting_retry' | 'failed',
  write: (tx: Queryable) => Promise<Settled | undefined>,
  detail: string
): Promise<Settled> {
  return await deps.db.transaction(async (tx): Promise<Settled> => {
    const current = await loadDelivery(tx, row.id, true)
    if (current == null) return { state: 'gone', changed: false }
    if (current.state === 'cancelled' || current.state === 'queued') return { state: current.state, changed: false }
    const written = current.state === 'sending' ? await write(tx) : undefined
    if (written != null) return written
    const why = current.state === 'sending' ? detail : `the delivery is ${current.state} now; ${detail}`
    await recordEvent(tx, row.id, 'outcome-dropped', deps.actor, `attempt ${row.attempts} lost its claim (another worker took the delivery over); its outcome ${mine} (${why.slice(0, 200)}) was not recorded`)
    return { state: 'superseded', changed: false, outcome: mine }
  })
}

/** The start of a delivery's retry window: its creation (or resend), or its last hold if later. */
export function retryWindowStart (row: Pick<DeliveryRow, 'created_at' | 'held_at'>): Date {
  return row.held_at != null && row.held_at > row.created_at ? row.held_at : row.created_at
}
