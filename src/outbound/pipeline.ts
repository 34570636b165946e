import { nextAttemptAt, type RetryPolicy } from './retry-policy.js'
import { sendMessage, type OutboundMessage, type SendResult, type SendSettings } from './send-message.js'

/**
 * One outbound kind: what is sent for a claimed item and how each outcome is recorded. Document
 * pushes (src/delivery/document-push.ts) and receipt callbacks (src/delivery/receipt-callbacks.ts)
 * are two kinds; a peer hub and a VDXP upstream will be two more. Claiming (one row from a BullMQ
 * job, or a batch of due rows polled with SKIP LOCKED) stays with the kind's driver: the pipeline
 * starts from an item already claimed, so its outcome can be fenced by the claim.
 */
export interface OutboundKind<Item, Result> {
  /** The bytes, headers and endpoint for this item. */
  message: (item: Item) => Promise<OutboundMessage>
  /** Attempts made so far, this one included (the backoff exponent). */
  attempts: (item: Item) => number
  /** Start of the retry window (the item's creation, or its resend). */
  windowStart: (item: Item) => Date
  delivered: (item: Item, sent: SendResult) => Promise<Result>
  retry: (item: Item, sent: SendResult, at: Date, reason: string) => Promise<Result>
  fail: (item: Item, sent: SendResult, reason: string) => Promise<Result>
}

export interface PipelineSettings extends SendSettings {
  retry: RetryPolicy
}

/**
 * claim (done by the caller) -> send these bytes -> classify the answer -> schedule or finish.
 * 2xx: delivered. 5xx, 408, 429, network errors, timeouts: retried with the policy's backoff (a
 * Retry-After taking precedence) until the window is exhausted, then failed. Other 4xx, no URL, a
 * URL the hub refuses: failed at once.
 */
export async function sendAndSettle<Item, Result> (kind: OutboundKind<Item, Result>, item: Item, settings: PipelineSettings): Promise<{ result: Result, sent: SendResult }> {
  const sent = await sendMessage(await kind.message(item), settings)
  return await settleSent(kind, item, sent, settings)
}

/**
 * The classify -> schedule-or-finish half alone, for kinds that send by other means than one
 * HTTP POST (a peer hub, a VDXP upstream: src/outbound/route-sender.ts).
 */
export async function settleSent<Item, Result> (kind: Omit<OutboundKind<Item, Result>, 'message'>, item: Item, sent: SendResult, settings: { retry: RetryPolicy, now?: (() => number) | undefined }): Promise<{ result: Result, sent: SendResult }> {
  const now = settings.now ?? Date.now
  const { outcome } = sent
  if (outcome.kind === 'delivered') return { result: await kind.delivered(item, sent), sent }
  const attempts = kind.attempts(item)
  const retryAt = outcome.kind === 'retry'
    ? nextAttemptAt(settings.retry, attempts, kind.windowStart(item), now(), sent.retryAfterMs)
    : undefined
  if (retryAt != null) return { result: await kind.retry(item, sent, retryAt, outcome.reason), sent }
  const reason = outcome.kind === 'retry'
    ? `retry window exhausted after ${attempts} attempts; last: ${outcome.reason}`
    : `refused by the recipient: ${outcome.reason}`
  return { result: await kind.fail(item, sent, reason), sent }
}
