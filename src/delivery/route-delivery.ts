import type { Queryable } from '../db/database.js'
import type { DeliveryRow } from '../store/deliveries.js'
import { loadRaw } from '../store/documents.js'
import type { SendResult } from '../outbound/send-message.js'
import type { RouteDelivery, RouteSendOutcome } from '../outbound/route-sender.js'
import type { Outcome } from '../outbound/retry-policy.js'
import { describeTarget, type RemoteTarget } from '../routing/route.js'

/** How long a delivery whose route kind has no sender in this worker waits before it is looked at again. */
export const DEFAULT_HOLD_MS = 60_000

/** The delivery's peer or upstream target; undefined for a local agency. */
export function remoteTarget (row: DeliveryRow): RemoteTarget | undefined {
  if (row.route_kind === 'local' || row.route_target == null) return undefined
  return row.route_kind === 'peer' ? { kind: 'peer', hubId: row.route_target } : { kind: 'upstream', upstreamId: row.route_target }
}

/** The trail's reason for a delivery kept waiting because no sender handles its route kind here. */
export function holdReason (target: RemoteTarget): string {
  return `waiting: no ${target.kind} sender is configured in this worker (route to ${describeTarget(target)}); kept and retried, never failed for this`
}

/**
 * One RouteSender attempt, as the SendResult the pipeline classifies and schedules like a push
 * answer. A sender that throws is a retryable failure.
 */
export async function sendByRoute (send: (d: RouteDelivery) => Promise<RouteSendOutcome>, db: Queryable, row: DeliveryRow, target: RemoteTarget): Promise<{ sent: SendResult, outcome: RouteSendOutcome }> {
  const started = performance.now()
  let outcome: RouteSendOutcome
  try {
    outcome = await send({
      deliveryId: row.id,
      documentId: row.document_id,
      kind: row.kind,
      recipientCode: row.recipient_code,
      senderCode: row.sender_code,
      digestSha256: row.digest_sha256,
      edxmlDocumentId: row.edxml_document_id,
      attempt: row.attempts,
      target,
      rule: row.route_rule,
      bytes: async () => await loadRaw(db, row.document_id)
    })
  } catch (err) {
    outcome = { kind: 'retry', reason: `${target.kind} sender failed: ${(err as Error).message}` }
  }
  const classified: Outcome = outcome.kind === 'delivered'
    ? { kind: 'delivered' }
    : outcome.kind === 'retry' ? { kind: 'retry', reason: outcome.reason } : { kind: 'permanent', reason: outcome.reason }
  return {
    outcome,
    sent: {
      outcome: classified,
      response: undefined,
      status: outcome.status ?? null,
      answer: outcome.answer ?? (outcome.kind === 'delivered' ? outcome.detail ?? null : outcome.reason),
      retryAfterMs: outcome.kind === 'retry' ? outcome.retryAfterMs : undefined,
      latencyMs: performance.now() - started,
      timedOut: false,
      sent: true
    }
  }
}
