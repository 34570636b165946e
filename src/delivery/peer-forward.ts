import { randomUUID } from 'node:crypto'
import type { Queryable } from '../db/database.js'
import type { HubPin } from '../evidence/receipts/hub-pin.js'
import type { ReceiptVerification } from '../evidence/receipts/verify.js'
import { documentHops, insertHopReceipt } from '../store/peer-forwarding.js'
import type { PushTls } from '../outbound/push-client.js'
import type { RouteDelivery, RouteSender, RouteSendOutcome } from '../outbound/route-sender.js'
import { sendMessage, type SendResult } from '../outbound/send-message.js'
import type { PushSettings } from '../registry/push-endpoint.js'
import { appendHop, formatHops, HOPS_HEADER } from '../routing/hops.js'
import type { PeerHub, PeerHubs } from '../routing/peer-hubs.js'

/** What the delivery worker needs to forward to peer hubs (issue 13). */
export interface PeerForwarding {
  db: Queryable
  /** This hub's id (LIENTHONG_HUB_ID), appended to the hop list. */
  hubId: string
  /** The peers (routing's route_peers): URL, TLS server pin, receipt-signing pin. */
  peers: PeerHubs
  /** Verifies a peer's acceptance receipt: trust store path, signer pinned to the peer's signing certificate. */
  verifyReceipt: (xml: string, pin: HubPin) => Promise<ReceiptVerification>
  timeoutMs: number
  /** The hub's TLS client identity (the push client's): peers pin it to authenticate us. */
  tls?: PushTls | undefined
  pushSettings?: PushSettings | undefined
  now?: () => number
}

/** The peer's answer: its document id and its signed acceptance receipt, or why it cannot be read. */
export type HopReceiptCheck =
  | { ok: true, peerDocumentId: string | null, xml: string }
  | { ok: false, peerDocumentId: string | null, xml: string, code: string, detail: string }

/**
 * Reads the peer's 2xx answer and verifies its acceptance receipt: signed by the peer's pinned
 * signing certificate (path-validated), an acceptance, about exactly the bytes we forwarded, for
 * the recipient of this hop.
 */
export async function checkHopReceipt (verifyReceipt: PeerForwarding['verifyReceipt'], peer: PeerHub, delivery: RouteDelivery, body: Buffer | undefined): Promise<HopReceiptCheck> {
  let answer: { id?: unknown, receipt?: unknown }
  try {
    answer = JSON.parse((body ?? Buffer.alloc(0)).toString('utf8')) as typeof answer
  } catch {
    return { ok: false, peerDocumentId: null, xml: '', code: 'RECEIPT_INVALID', detail: 'the peer\'s answer is not JSON' }
  }
  const peerDocumentId = typeof answer.id === 'string' && /^[0-9a-f-]{36}$/.test(answer.id) ? answer.id : null
  const xml = typeof answer.receipt === 'string' ? answer.receipt : ''
  if (xml === '') return { ok: false, peerDocumentId, xml, code: 'RECEIPT_INVALID', detail: 'the peer\'s answer carries no receipt' }
  const verified = await verifyReceipt(xml, peer.signingPin)
  if (!verified.ok) return { ok: false, peerDocumentId, xml, code: verified.code, detail: verified.detail }
  const fields = verified.fields
  if (fields.kind !== 'acceptance' || fields.digestSha256 !== delivery.digestSha256) {
    return { ok: false, peerDocumentId, xml, code: 'RECEIPT_NOT_FOR_THIS_DELIVERY', detail: `the receipt is a ${fields.kind} of digest ${'digestSha256' in fields ? fields.digestSha256 : '?'}, not the acceptance of ${delivery.digestSha256}` }
  }
  if (!fields.recipients.includes(delivery.recipientCode)) {
    return { ok: false, peerDocumentId, xml, code: 'RECEIPT_NOT_FOR_THIS_DELIVERY', detail: `the receipt names ${fields.recipients.join(', ')}, not ${delivery.recipientCode}` }
  }
  return { ok: true, peerDocumentId: fields.hubDocumentId ?? peerDocumentId, xml }
}

/**
 * The peer kind of the delivery worker's RouteSenders (src/outbound/route-sender.ts): the ORIGINAL
 * signed bytes (never modified) to the peer's POST /peer/v1/documents over mutual TLS with its
 * server certificate pinned, the hop list with this hub appended, Idempotency-Key = delivery id,
 * the recipient of this hop. 2xx: forwarded, with the peer's acceptance receipt verified and kept
 * as this hop's receipt (hop_receipts, in the transaction that marks the delivery delivered).
 * A 2xx whose receipt does not verify or is not about this hop is NOT delivered: retried (code
 * RECEIPT_INVALID, RECEIPT_NOT_FOR_THIS_DELIVERY or the verifier's, first in the reason).
 * 5xx, timeouts, a refused connection: retried like a push, so a peer that is down delays the
 * document and loses nothing. Other 4xx (a loop, a refused document): failed at once. A peer no
 * longer configured: retried (an operator may be re-adding it), the reason in the trail.
 */
export function peerSender (forwarding: PeerForwarding): RouteSender {
  const now = forwarding.now ?? Date.now
  return {
    send: async (delivery) => {
      if (delivery.target.kind !== 'peer') return { kind: 'permanent', reason: `the peer sender got a ${delivery.target.kind} route` }
      const hubId = delivery.target.hubId
      const peer = await forwarding.peers.byId(hubId)
      if (peer == null) return { kind: 'retry', reason: `peer hub ${hubId} is not configured (route_peers); kept and retried` }
      const doc = await documentHops(forwarding.db, delivery.documentId)
      const hops = appendHop(doc?.hops ?? [], forwarding.hubId, doc?.acceptedAt ?? new Date(now()))
      const sent = await sendMessage({
        url: `${peer.baseUrl.replace(/\/+$/, '')}/peer/v1/documents`,
        body: await delivery.bytes(),
        headers: {
          'content-type': 'application/xml',
          'idempotency-key': delivery.deliveryId,
          'lienthong-recipient': delivery.recipientCode,
          [HOPS_HEADER]: formatHops(hops)
        },
        pin: peer.serverPin,
        agency: `peer hub ${hubId}`
      }, { timeoutMs: forwarding.timeoutMs, tls: forwarding.tls, pushSettings: forwarding.pushSettings, now })
      return await outcomeOf(forwarding, peer, delivery, sent)
    }
  }
}

async function outcomeOf (forwarding: PeerForwarding, peer: PeerHub, delivery: RouteDelivery, sent: SendResult): Promise<RouteSendOutcome> {
  const evidence = { ...(sent.status != null ? { status: sent.status } : {}), ...(sent.answer != null ? { answer: sent.answer } : {}) }
  if (sent.outcome.kind === 'retry') return { kind: 'retry', reason: sent.outcome.reason, ...evidence, ...(sent.retryAfterMs != null ? { retryAfterMs: sent.retryAfterMs } : {}) }
  if (sent.outcome.kind === 'permanent') return { kind: 'permanent', reason: sent.outcome.reason, ...evidence }
  // Verified before the transaction: CPU work, no locks held.
  const check = await checkHopReceipt(forwarding.verifyReceipt, peer, delivery, sent.response?.body)
  if (!check.ok) {
    // A 2xx without a receipt that proves THIS hop (signed by the peer's pinned key, about these
    // bytes, for this recipient) proves nothing: a malicious or broken peer could otherwise make
    // us mark undelivered documents delivered. Retried with the same Idempotency-Key (a peer that
    // did accept answers its first receipt again; one whose signing certificate was rotated
    // succeeds once the operator updates the pin); the retry window bounds it, then the delivery
    // fails and the sender gets its notice. The code leads the reason, the answer is evidence.
    return { kind: 'retry', reason: `${check.code}: HTTP ${sent.status ?? ''} from peer hub ${peer.hubId}, but its receipt does not prove this hop: ${check.detail.slice(0, 300)}`, ...evidence }
  }
  return {
    kind: 'delivered',
    ...evidence,
    detail: `accepted by ${peer.hubId} as ${check.peerDocumentId ?? '?'}, its signed acceptance receipt verified`,
    record: async (tx) => {
      await insertHopReceipt(tx, {
        id: randomUUID(),
        deliveryId: delivery.deliveryId,
        peerHubId: peer.hubId,
        peerDocumentId: check.peerDocumentId,
        xml: check.xml,
        verified: true,
        reasonCode: null,
        detail: null
      })
    }
  }
}
