import type { RouteDelivery, RouteSender, RouteSendOutcome } from '../outbound/route-sender.js'
import { ContentExpiredError } from '../store/documents.js'
import { recordSent } from '../store/upstream-exchange.js'
import { UpstreamCallError } from './upstream-errors.js'
import type { VdxpUpstreamClient } from './vdxp-client.js'

export interface UpstreamSenderDependencies {
  /** One client per configured upstream id. */
  clients: ReadonlyMap<string, Pick<VdxpUpstreamClient, 'sendEdoc'>>
}

/**
 * The `upstream` RouteSender (src/outbound/route-sender.ts): one attempt of a delivery whose route
 * leads to an upstream axis is a sendEdoc of the ORIGINAL signed bytes (the sender's signature
 * covers every byte; the upstream verifies it itself), `from` the signing agency, `to` the
 * recipient this delivery is for. The upstream's DocId is stored with the delivery (upstream_sent,
 * in the transaction that marks it delivered) so getSentEdocList can follow it there.
 *
 * The delivery worker records the outcome exactly as for a push: `retry` with the push backoff
 * inside the retry window, `permanent` at once. A second attempt of the same delivery, or a
 * second recipient of the same document behind the same upstream, sends the same bytes again:
 * an upstream applying the duplicate rule (lienthong does: same sender and DocumentId, or same
 * digest) answers the DocId it already gave.
 */
export function upstreamSender (deps: UpstreamSenderDependencies): RouteSender {
  return { send: async (delivery) => await sendToUpstream(deps, delivery) }
}

export async function sendToUpstream (deps: UpstreamSenderDependencies, delivery: RouteDelivery): Promise<RouteSendOutcome> {
  if (delivery.target.kind !== 'upstream') return { kind: 'permanent', reason: `not an upstream route: ${delivery.target.kind}` }
  const upstreamId = delivery.target.upstreamId
  const client = deps.clients.get(upstreamId)
  // Never failed for our own configuration: the delivery waits (and its trail says why) until an
  // operator configures the upstream or reroutes it, within the retry window.
  if (client == null) return { kind: 'retry', reason: `upstream ${upstreamId} is not configured on this worker (registry /upstreams, and its secret)` }
  let bytes: Buffer
  try {
    bytes = await delivery.bytes()
  } catch (err) {
    if (err instanceof ContentExpiredError) return { kind: 'permanent', reason: `${err.message}: nothing left to send` }
    throw err
  }
  try {
    const sent = await client.sendEdoc(bytes, {
      from: delivery.senderCode,
      messagetype: delivery.kind === 'status' ? 'status' : 'edoc',
      to: [delivery.recipientCode]
    })
    const duplicate = sent.answer.duplicate === true ? ' (the upstream already had it)' : ''
    return {
      kind: 'delivered',
      answer: `sendEdoc DocId ${sent.docId}`,
      detail: `sent to upstream ${upstreamId}: DocId ${sent.docId}${duplicate}`,
      record: async (tx) => { await recordSent(tx, delivery.deliveryId, upstreamId, sent.docId) }
    }
  } catch (err) {
    if (!(err instanceof UpstreamCallError)) throw err
    const reason = `upstream ${upstreamId}: ${err.message}`
    const evidence = { ...(err.httpStatus != null ? { status: err.httpStatus } : {}), ...(err.answer != null ? { answer: err.answer } : {}) }
    return err.retryable ? { kind: 'retry', reason, ...evidence } : { kind: 'permanent', reason, ...evidence }
  }
}
