import type { Queryable } from '../db/database.js'
import type { Hop } from '../domain/hop.js'
import type { PeerRow } from './routes.js'

/**
 * Every SQL statement of peer forwarding (migration 017_peer_hops): the hop list a document came
 * with, what peers forwarded to us (by Idempotency-Key), the receipts peers gave us for each hop,
 * and the two peer lookups forwarding needs in routing's route_peers (migration 015). Which
 * deliveries go to a peer is their route (deliveries.route_kind = 'peer').
 */

const PEER_COLUMNS = 'hub_id, base_url, server_certificates, client_certificates, signing_certificates, source'

export async function findPeerById (db: Queryable, hubId: string): Promise<PeerRow | undefined> {
  const { rows } = await db.query<PeerRow>(`SELECT ${PEER_COLUMNS} FROM route_peers WHERE hub_id = $1`, [hubId])
  return rows[0]
}

/** The peer that registered this TLS client certificate (lower-case hex SHA-256, as stored). */
export async function findPeerByClientCertificate (db: Queryable, fingerprint: string): Promise<PeerRow | undefined> {
  const { rows } = await db.query<PeerRow>(`SELECT ${PEER_COLUMNS} FROM route_peers WHERE $1 = ANY (client_certificates) ORDER BY hub_id LIMIT 1`, [fingerprint])
  return rows[0]
}

/** Records where a forwarded document came from: its hop list and the peer that sent it. */
export async function setDocumentHops (tx: Queryable, documentId: string, hops: readonly Hop[], fromHub: string): Promise<void> {
  await tx.query('UPDATE documents SET hops = $2::jsonb, received_from_hub = $3 WHERE id = $1', [documentId, JSON.stringify(hops), fromHub])
}

/** The hop list and the forwarding peer of a document (empty and null for one accepted from a local agency). */
export async function documentHops (db: Queryable, documentId: string): Promise<{ hops: Hop[], fromHub: string | null, acceptedAt: Date } | undefined> {
  const { rows } = await db.query<{ hops: Hop[] | string | null, received_from_hub: string | null, accepted_at: Date }>(
    'SELECT hops, received_from_hub, accepted_at FROM documents WHERE id = $1', [documentId])
  const row = rows[0]
  if (row == null) return undefined
  const hops = typeof row.hops === 'string' ? JSON.parse(row.hops) as Hop[] : row.hops ?? []
  return { hops, fromHub: row.received_from_hub, acceptedAt: row.accepted_at }
}

export interface PeerArrival {
  documentId: string
  deliveryId: string | null
  recipientCode: string
  receiptXml: string
}

/** What `peerHubId` forwarded with this Idempotency-Key before, if anything. */
export async function findArrival (db: Queryable, peerHubId: string, idempotencyKey: string): Promise<PeerArrival | undefined> {
  const { rows } = await db.query<{ document_id: string, delivery_id: string | null, recipient_code: string, receipt_xml: string }>(
    'SELECT document_id, delivery_id, recipient_code, receipt_xml FROM peer_arrivals WHERE peer_hub_id = $1 AND idempotency_key = $2', [peerHubId, idempotencyKey])
  const row = rows[0]
  return row == null ? undefined : { documentId: row.document_id, deliveryId: row.delivery_id, recipientCode: row.recipient_code, receiptXml: row.receipt_xml }
}

export async function insertArrival (tx: Queryable, peerHubId: string, idempotencyKey: string, arrival: PeerArrival): Promise<void> {
  await tx.query(
    'INSERT INTO peer_arrivals (peer_hub_id, idempotency_key, document_id, delivery_id, recipient_code, receipt_xml) VALUES ($1, $2, $3, $4, $5, $6)',
    [peerHubId, idempotencyKey, arrival.documentId, arrival.deliveryId, arrival.recipientCode, arrival.receiptXml])
}

/** What a receipt about a stored document states: its digest, edXML id and sender. */
export async function storedFacts (db: Queryable, documentId: string): Promise<{ digestSha256: string, edxmlDocumentId: string | undefined, senderCode: string } | undefined> {
  const { rows } = await db.query<{ digest_sha256: string, edxml_document_id: string | null, sender_code: string }>(
    'SELECT digest_sha256, edxml_document_id, sender_code FROM documents WHERE id = $1', [documentId])
  const row = rows[0]
  return row == null ? undefined : { digestSha256: row.digest_sha256, edxmlDocumentId: row.edxml_document_id ?? undefined, senderCode: row.sender_code }
}

/** A NewDelivery of documents.ts, spelled out here: documents.ts reads the hops from this file. */
export interface AddedDelivery {
  id: string
  recipientCode: string
  mode: 'push' | 'pull'
  route?: { kind: 'local' | 'peer' | 'upstream', target: string | null, source: string, rule: string }
}

/**
 * A delivery added to a document already here (a later hop for another of its recipients); the
 * accepting statement (migration 014) inserts the deliveries of a new document.
 */
export async function insertForwardedDelivery (tx: Queryable, documentId: string, d: AddedDelivery): Promise<void> {
  await tx.query(
    `INSERT INTO deliveries (id, document_id, recipient_code, mode, state, enqueued, route_kind, route_target, route_source, route_rule)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    // A pull delivery is in the inbox at once (nothing to enqueue); a push one is enqueued after commit.
    [d.id, documentId, d.recipientCode, d.mode, d.mode === 'pull' ? 'available' : 'queued', d.mode === 'pull',
      d.route?.kind ?? 'local', d.route?.target ?? null, d.route?.source ?? null, d.route?.rule ?? null])
}

/** The delivery of `documentId` to `recipientCode`, if one exists. */
export async function deliveryTo (db: Queryable, documentId: string, recipientCode: string): Promise<string | undefined> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM deliveries WHERE document_id = $1 AND recipient_code = $2', [documentId, recipientCode])
  return rows[0]?.id
}

/** How a document's delivery to one recipient was routed (where a status from that recipient must come from). */
export async function deliveryRouteTo (db: Queryable, documentId: string, recipientCode: string): Promise<{ kind: 'local' | 'peer' | 'upstream', target: string | null } | undefined> {
  const { rows } = await db.query<{ route_kind: 'local' | 'peer' | 'upstream', route_target: string | null }>(
    'SELECT route_kind, route_target FROM deliveries WHERE document_id = $1 AND recipient_code = $2 ORDER BY created_at LIMIT 1', [documentId, recipientCode])
  const row = rows[0]
  return row != null ? { kind: row.route_kind, target: row.route_target } : undefined
}

export interface HopReceiptInput {
  id: string
  deliveryId: string
  peerHubId: string
  peerDocumentId: string | null
  xml: string
  verified: boolean
  reasonCode: string | null
  detail: string | null
}

export async function insertHopReceipt (tx: Queryable, receipt: HopReceiptInput): Promise<void> {
  await tx.query(
    `INSERT INTO hop_receipts (id, delivery_id, peer_hub_id, peer_document_id, xml, verified, reason_code, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [receipt.id, receipt.deliveryId, receipt.peerHubId, receipt.peerDocumentId, receipt.xml, receipt.verified, receipt.reasonCode, receipt.detail])
}

export interface HopView {
  deliveryId: string
  recipient: string
  peerHub: string
  peerDocumentId: string | null
  receiptVerified: boolean | null
  reasonCode: string | null
  receipt: string | null
  receivedAt: string | null
}

/** Each forwarded delivery of a document with the peer's receipt (the newest, when retried). */
export async function forwardedHops (db: Queryable, documentId: string): Promise<HopView[]> {
  const { rows } = await db.query<{ id: string, recipient_code: string, peer_hub_id: string, peer_document_id: string | null, verified: boolean | null, reason_code: string | null, xml: string | null, received_at: Date | null }>(
    `SELECT x.id, x.recipient_code, x.route_target AS peer_hub_id, h.peer_document_id, h.verified, h.reason_code, h.xml, h.received_at
     FROM deliveries x
     LEFT JOIN LATERAL (SELECT * FROM hop_receipts r WHERE r.delivery_id = x.id ORDER BY r.received_at DESC LIMIT 1) h ON true
     WHERE x.document_id = $1 AND x.route_kind = 'peer' ORDER BY x.recipient_code`, [documentId])
  return rows.map((r) => ({
    deliveryId: r.id,
    recipient: r.recipient_code,
    peerHub: r.peer_hub_id,
    peerDocumentId: r.peer_document_id,
    receiptVerified: r.verified,
    reasonCode: r.reason_code,
    receipt: r.xml,
    receivedAt: r.received_at?.toISOString() ?? null
  }))
}
