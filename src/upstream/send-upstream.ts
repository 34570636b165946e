import type { Database } from '../db/database.js'
import { ContentExpiredError, loadRaw } from '../store/documents.js'
import { recordSent } from '../store/upstream-exchange.js'
import { UpstreamCallError } from './upstream-errors.js'
import type { VdxpUpstreamClient } from './vdxp-client.js'

/** What sending a delivery upstream needs to know of it (columns of the delivery row). */
export interface UpstreamDelivery {
  id: string
  document_id: string
  recipient_code: string
  sender_code: string
  kind: 'document' | 'status'
}

export type UpstreamSendResult =
  | { outcome: 'delivered', upstreamDocId: string, detail: string }
  | { outcome: 'retry', reason: string }
  | { outcome: 'permanent', reason: string }

export interface UpstreamSenderDependencies {
  db: Database
  /** One client per configured upstream id. */
  clients: ReadonlyMap<string, Pick<VdxpUpstreamClient, 'sendEdoc'>>
}

/**
 * One attempt of a delivery whose route leads to an upstream: sendEdoc of the ORIGINAL signed
 * bytes (the sender's signature covers every byte; the upstream verifies it itself), `from` the
 * signing agency, `to` the recipient this delivery is for. The upstream's DocId is stored with
 * the delivery (upstream_sent) so getSentEdocList can follow it there.
 *
 * The caller records the outcome on the delivery row exactly as for a push: `retry` with the
 * push backoff inside the retry window, `permanent` at once. A second attempt of the same
 * delivery, or a second recipient of the same document behind the same upstream, sends the same
 * bytes again: an upstream applying the duplicate rule (lienthong does: same sender and
 * DocumentId, or same digest) answers the DocId it already gave.
 */
export async function sendToUpstream (deps: UpstreamSenderDependencies, delivery: UpstreamDelivery, upstreamId: string): Promise<UpstreamSendResult> {
  const client = deps.clients.get(upstreamId)
  // Never failed for our own configuration: the delivery waits (and its trail says why) until an
  // operator configures the upstream or reroutes it, within the retry window.
  if (client == null) return { outcome: 'retry', reason: `upstream ${upstreamId} is not configured on this hub (registry /upstreams, and its secret)` }
  let bytes: Buffer
  try {
    bytes = await loadRaw(deps.db, delivery.document_id)
  } catch (err) {
    if (err instanceof ContentExpiredError) return { outcome: 'permanent', reason: `${err.message}: nothing left to send` }
    throw err
  }
  try {
    const sent = await client.sendEdoc(bytes, {
      from: delivery.sender_code,
      messagetype: delivery.kind === 'status' ? 'status' : 'edoc',
      to: [delivery.recipient_code]
    })
    await recordSent(deps.db, delivery.id, upstreamId, sent.docId)
    const duplicate = sent.answer.duplicate === true ? ' (the upstream already had it)' : ''
    return { outcome: 'delivered', upstreamDocId: sent.docId, detail: `sendEdoc to upstream ${upstreamId}: DocId ${sent.docId}${duplicate}` }
  } catch (err) {
    if (!(err instanceof UpstreamCallError)) throw err
    const reason = `upstream ${upstreamId}: ${err.message}`
    return err.retryable ? { outcome: 'retry', reason } : { outcome: 'permanent', reason }
  }
}
