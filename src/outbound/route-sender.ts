import type { Queryable } from '../db/database.js'
import type { RemoteTarget } from '../routing/route.js'

/**
 * The seam for deliveries whose recipient is behind another hub (issue 13): the delivery worker
 * claims the row, fences and records the outcome, exactly as for a push to a local agency; a
 * RouteSender only carries the bytes to the next hop and says how it went. `peer` forwards to
 * another lienthong hub, `upstream` calls sendEdoc on a VDXP axis. A worker with no sender for a
 * kind keeps such deliveries waiting (retried later, the reason in the trail), never failing them.
 */
export interface RouteSenders {
  peer?: RouteSender
  upstream?: RouteSender
}

export interface RouteSender {
  /**
   * One attempt. Throwing is read as a retryable failure (its message is the reason). Called at
   * most once at a time per delivery; may be called again for the same delivery after a crash, so
   * the next hop must be told the delivery id (its duplicate detection makes a retried hop harmless).
   */
  send: (delivery: RouteDelivery) => Promise<RouteSendOutcome>
}

export interface RouteDelivery {
  deliveryId: string
  documentId: string
  kind: 'document' | 'status'
  recipientCode: string
  senderCode: string
  digestSha256: string
  edxmlDocumentId: string | null
  /** Attempts so far, this one included. */
  attempt: number
  target: RemoteTarget
  /** The rule that routed it (the code, a prefix, '*', or the directory's code). */
  rule: string | null
  /** The original signed bytes, never modified. */
  bytes: () => Promise<Buffer>
}

export type RouteSendOutcome =
  | {
    kind: 'delivered'
    /** HTTP status of the next hop's answer, when there was one. */
    status?: number
    /** Evidence kept on the row (e.g. the next hop's document id). */
    answer?: string
    /** A line for the delivery trail, e.g. "accepted by hub-h98 as <id>". */
    detail?: string
    /**
     * Runs inside the transaction that marks the delivery delivered (only if this attempt still
     * holds its claim): store the next hop's signed receipt, the hop list.
     */
    record?: (tx: Queryable) => Promise<void>
  }
  | { kind: 'retry', reason: string, status?: number, answer?: string, retryAfterMs?: number }
  | { kind: 'permanent', reason: string, status?: number, answer?: string }
