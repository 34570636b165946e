import { randomUUID } from 'node:crypto'
import type { Database, Queryable } from '../db/database.js'
import type { HubIdentity } from '../evidence/hub-identity.js'
import { issueFailureNotice } from './delivery-receipts.js'
import type { HubPin } from '../evidence/receipts/hub-pin.js'
import type { ReceiptVerification } from '../evidence/receipts/verify.js'
import { loadRaw } from '../store/documents.js'
import { markDelivered, markPushFailed, recordEvent, scheduleRetry, type AttemptRecord, type DeliveryRow } from '../store/deliveries.js'
import { documentHops, insertHopReceipt } from '../store/peer-forwarding.js'
import type { OutboundKind } from '../outbound/pipeline.js'
import type { SendResult } from '../outbound/send-message.js'
import { appendHop, formatHops, HOPS_HEADER } from '../routing/hops.js'
import type { PeerHub, PeerHubs } from '../routing/peer-hubs.js'

/** What the delivery worker needs to forward to peer hubs (issue 13). */
export interface PeerForwarding {
  /** This hub's id, appended to the hop list. */
  hubId: string
  peers: PeerHubs
  /** Verifies a peer's acceptance receipt: trust store path, signer pinned to the peer's signing certificate. */
  verifyReceipt: (xml: string, pin: HubPin) => Promise<ReceiptVerification>
}

export interface ForwardDependencies {
  db: Database
  hub: HubIdentity
  forwarding: PeerForwarding
  actor: string
  now?: () => number
}

interface Claimed { row: DeliveryRow, token: string }

/** How attempt-delivery.ts records an outcome with the row locked (its `settle`). */
export type Settle<S> = (mine: 'delivered' | 'waiting_retry' | 'failed', write: (tx: Queryable) => Promise<S | undefined>, detail: string) => Promise<S>

/** The peer's answer: its document id and its signed acceptance receipt, or why it cannot be read. */
export type HopReceiptCheck =
  | { ok: true, peerDocumentId: string | null, xml: string }
  | { ok: false, peerDocumentId: string | null, xml: string, code: string, detail: string }

/**
 * Reads the peer's 2xx answer and verifies its acceptance receipt: signed by the peer's pinned
 * signing certificate (path-validated), an acceptance, about exactly the bytes we forwarded.
 */
export async function checkHopReceipt (forwarding: PeerForwarding, peer: PeerHub, row: DeliveryRow, body: Buffer | undefined): Promise<HopReceiptCheck> {
  let answer: { id?: unknown, receipt?: unknown }
  try {
    answer = JSON.parse((body ?? Buffer.alloc(0)).toString('utf8')) as typeof answer
  } catch {
    return { ok: false, peerDocumentId: null, xml: '', code: 'RECEIPT_INVALID', detail: 'the peer\'s answer is not JSON' }
  }
  const peerDocumentId = typeof answer.id === 'string' && /^[0-9a-f-]{36}$/.test(answer.id) ? answer.id : null
  const xml = typeof answer.receipt === 'string' ? answer.receipt : ''
  if (xml === '') return { ok: false, peerDocumentId, xml, code: 'RECEIPT_INVALID', detail: 'the peer\'s answer carries no receipt' }
  const verified = await forwarding.verifyReceipt(xml, peer.signingPin)
  if (!verified.ok) return { ok: false, peerDocumentId, xml, code: verified.code, detail: verified.detail }
  const fields = verified.fields
  if (fields.kind !== 'acceptance' || fields.digestSha256 !== row.digest_sha256) {
    return { ok: false, peerDocumentId, xml, code: 'RECEIPT_NOT_FOR_THIS_DELIVERY', detail: `the receipt is a ${fields.kind} of digest ${'digestSha256' in fields ? fields.digestSha256 : '?'}, not the acceptance of ${row.digest_sha256}` }
  }
  return { ok: true, peerDocumentId: fields.hubDocumentId ?? peerDocumentId, xml }
}

/**
 * A delivery to a peer hub as an outbound kind: the ORIGINAL signed bytes (never modified) to the
 * peer's /peer/v1/documents over mutual TLS with its server certificate pinned, the hop list with
 * this hub appended, Idempotency-Key = delivery id. 2xx: forwarded, with the peer's acceptance
 * receipt verified and kept as this hop's receipt; retries and failures as for pushes (a loop or
 * a refused document is a 4xx: failed at once).
 */
export function peerForwardKind<S> (deps: ForwardDependencies, peer: PeerHub | undefined, peerHubId: string, settle: (row: DeliveryRow) => Settle<S>, outcomes: {
  delivered: (seconds: number, row: DeliveryRow) => S
  retry: (at: Date) => S
  failed: () => S
}): OutboundKind<Claimed, S> {
  const now = deps.now ?? Date.now
  const record = (sent: SendResult): AttemptRecord => ({ status: sent.status, answer: sent.answer })
  return {
    attempts: ({ row }) => row.attempts,
    windowStart: ({ row }) => row.created_at,
    message: async ({ row }) => {
      const doc = await documentHops(deps.db, row.document_id)
      const hops = appendHop(doc?.hops ?? [], deps.forwarding.hubId, doc?.acceptedAt ?? new Date(now()))
      return {
        url: peer == null ? null : `${peer.baseUrl.replace(/\/+$/, '')}/peer/v1/documents`,
        body: peer == null ? Buffer.alloc(0) : await loadRaw(deps.db, row.document_id),
        headers: {
          'content-type': 'application/xml',
          'idempotency-key': row.id,
          'lienthong-recipient': row.recipient_code,
          [HOPS_HEADER]: formatHops(hops)
        },
        pin: peer?.serverPin,
        agency: peer == null ? `peer hub ${peerHubId} (not registered)` : `peer hub ${peerHubId}`
      }
    },
    delivered: async ({ row, token }, sent) => {
      // Verified before the transaction: CPU work, no locks held.
      const check = await checkHopReceipt(deps.forwarding, peer as PeerHub, row, sent.response?.body)
      return await settle(row)('delivered', async (tx) => {
        const seconds = await markDelivered(tx, row.id, token, record(sent))
        if (seconds == null) return undefined
        await insertHopReceipt(tx, {
          id: randomUUID(),
          deliveryId: row.id,
          peerHubId,
          peerDocumentId: check.peerDocumentId,
          xml: check.xml,
          verified: check.ok,
          reasonCode: check.ok ? null : check.code,
          detail: check.ok ? null : check.detail
        })
        await recordEvent(tx, row.id, 'forwarded', deps.actor, check.ok
          ? `to peer hub ${peerHubId}: accepted as ${check.peerDocumentId ?? '?'}, its signed acceptance receipt verified`
          : `to peer hub ${peerHubId}: HTTP ${sent.status ?? ''}, its receipt NOT verified (${check.code}: ${check.detail.slice(0, 300)})`)
        return outcomes.delivered(seconds, row)
      }, `HTTP ${sent.status ?? ''}`)
    },
    retry: async ({ row, token }, sent, at, reason) => await settle(row)('waiting_retry', async (tx) => {
      if (!(await scheduleRetry(tx, row.id, token, record(sent), at, reason))) return undefined
      await recordEvent(tx, row.id, 'retry-scheduled', deps.actor, `forward to peer hub ${peerHubId}, attempt ${row.attempts}: ${reason}; next at ${at.toISOString()}`)
      return outcomes.retry(at)
    }, reason),
    fail: async ({ row, token }, sent, reason) => await settle(row)('failed', async (tx) => {
      if (!(await markPushFailed(tx, row.id, token, record(sent), reason))) return undefined
      // The sender is told, as for a push given up (its failure notice names the recipient).
      await issueFailureNotice(tx, deps.hub, row, `forward to peer hub ${peerHubId}: ${reason}`, new Date(now()))
      await recordEvent(tx, row.id, 'failed', deps.actor, `forward to peer hub ${peerHubId}: ${reason}`)
      return outcomes.failed()
    }, reason)
  }
}
