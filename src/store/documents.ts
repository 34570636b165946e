import type { Database, Queryable } from '../db/database.js'
import type { Accepted } from '../domain/verdict.js'
import type { Hop } from '../domain/hop.js'
import type { AgencyRow } from './agencies.js'
import { documentHops, forwardedHops, type HopView } from './peer-forwarding.js'

export interface StoredDocumentRef {
  id: string
  acceptanceReceipt: string
  signatureLogId: number
}

/** Domibus/AS4 duplicate rule: same digest, or same sender + edXML DocumentId. */
export async function findDuplicate (db: Queryable, digest: string, sender: string, edxmlDocumentId: string | undefined, kind: 'document' | 'status'): Promise<StoredDocumentRef | undefined> {
  const { rows } = await db.query<{ id: string, xml: string, signature_log_id: number }>(
    `SELECT d.id, r.xml, d.signature_log_id FROM documents d
       -- The document's own acceptance receipt: a recipient added later by a peer's hop has its own (with its delivery id).
       JOIN receipts r ON r.document_id = d.id AND r.kind = 'acceptance' AND r.delivery_id IS NULL
     WHERE d.digest_sha256 = $1 OR ($4 = 'document' AND d.kind = 'document' AND d.sender_code = $2 AND d.edxml_document_id = $3)
     ORDER BY d.accepted_at LIMIT 1`,
    [digest, sender, edxmlDocumentId ?? null, kind]
  )
  const row = rows[0]
  return row != null ? { id: row.id, acceptanceReceipt: row.xml, signatureLogId: row.signature_log_id } : undefined
}

/** The statement of findDuplicateAndAgencies ($1 digest, $2 sender, $3 edXML DocumentId, $4 kind, $5 recipient codes); exported for the plan test (test/db/embedded-analyze.test.ts). */
export const DUPLICATE_AND_AGENCIES_SQL = `(SELECT d.id, r.xml, d.signature_log_id, NULL::text AS code, NULL::text AS name, NULL::text AS delivery_mode, NULL::text AS push_url
       FROM documents d
       JOIN receipts r ON r.document_id = d.id AND r.kind = 'acceptance' AND r.delivery_id IS NULL
      WHERE d.digest_sha256 = $1 OR ($4 = 'document' AND d.kind = 'document' AND d.sender_code = $2 AND d.edxml_document_id = $3)
      ORDER BY d.accepted_at LIMIT 1)
     UNION ALL
     SELECT NULL, NULL, NULL, code, name, delivery_mode, push_url FROM agencies WHERE code = ANY($5)`

/**
 * findDuplicate and findAgencies(recipientCodes) in one round trip (the accept path asks both of
 * every document before it plans deliveries): the same two queries, their rows told apart by
 * which half of the UNION they come from. One statement fewer per accepted document for the
 * hub's database client and for PostgreSQL (issue 15).
 */
export async function findDuplicateAndAgencies (
  db: Queryable, digest: string, sender: string, edxmlDocumentId: string | undefined, kind: 'document' | 'status', recipientCodes: readonly string[]
): Promise<{ duplicate: StoredDocumentRef | undefined, agencies: Map<string, AgencyRow> }> {
  const { rows } = await db.query<{ id: string | null, xml: string | null, signature_log_id: number | null, code: string | null, name: string | null, delivery_mode: 'push' | 'pull' | null, push_url: string | null }>(
    DUPLICATE_AND_AGENCIES_SQL,
    [digest, sender, edxmlDocumentId ?? null, kind, recipientCodes]
  )
  let duplicate: StoredDocumentRef | undefined
  const agencies = new Map<string, AgencyRow>()
  for (const row of rows) {
    if (row.code != null) {
      agencies.set(row.code, { code: row.code, name: row.name as string, delivery_mode: row.delivery_mode as 'push' | 'pull', push_url: row.push_url })
    } else if (row.id != null) {
      duplicate = { id: row.id, acceptanceReceipt: row.xml as string, signatureLogId: row.signature_log_id as number }
    }
  }
  return { duplicate, agencies }
}

/** The document a status message answers: ResponseFor/OrganId is its sender, DocumentId its id. */
export async function findAnsweredDocument (db: Queryable, senderCode: string, edxmlDocumentId: string): Promise<{ id: string } | undefined> {
  const { rows } = await db.query<{ id: string }>(
    'SELECT id FROM documents WHERE kind = \'document\' AND sender_code = $1 AND edxml_document_id = $2 ORDER BY accepted_at DESC LIMIT 1',
    [senderCode, edxmlDocumentId]
  )
  return rows[0]
}

export interface NewDocument {
  id: string
  verdict: Accepted
  raw: Buffer
  acceptedAt: Date
  responseForDocumentId: string | undefined
  /** For recall/update/replace: the sender's earlier document this one changes, when known. */
  changesDocumentId?: string | undefined
}

/** From this size on, the signed bytes go to PostgreSQL by COPY rather than as a parameter (accept-document.ts). */
export const LARGE_RAW_BYTES = 1024 * 1024

export interface NewDelivery {
  id: string
  recipientCode: string
  /** Remote routes (peer, upstream) are driven by the hub like pushes: always 'push'. */
  mode: 'push' | 'pull'
  /** Where the recipient's route led at acceptance (migration 015); absent: a local agency. */
  route?: DeliveryRoute
}

/** The route columns of a delivery (src/routing/route.ts ResolvedRoute, flattened). */
export interface DeliveryRoute {
  kind: 'local' | 'peer' | 'upstream'
  /** The peer hub id or upstream id; null for local. */
  target: string | null
  source: string
  rule: string
}

export async function insertReceipt (tx: Queryable, receipt: { id: string, documentId: string, deliveryId?: string, kind: 'acceptance' | 'delivery' | 'failure', xml: string }): Promise<void> {
  await tx.query('INSERT INTO receipts (id, document_id, delivery_id, kind, xml) VALUES ($1, $2, $3, $4, $5)',
    [receipt.id, receipt.documentId, receipt.deliveryId ?? null, receipt.kind, receipt.xml])
}

export interface DocumentView {
  id: string
  kind: 'document' | 'status'
  sender: string
  edxmlDocumentId: string | null
  digestSha256: string
  sizeBytes: number
  acceptedAt: string
  envelope: Record<string, unknown>
  flags: string[]
  responseForDocumentId: string | null
  businessDocType: string | null
  changesDocumentId: string | null
  deliveries: { id: string, recipient: string, mode: string, state: string, attempts: number, lastError: string | null, updatedAt: string }[]
  statusEvents: { recipient: string, statusCode: string, description: string | null, recordedAt: string, statusDocumentId: string }[]
  receipts: { kind: string, deliveryId: string | null, createdAt: string }[]
  recipientReceipts: { deliveryId: string, recipient: string, verified: boolean, reasonCode: string | null, signerSubject: string | null, signatureLogEntry: number | null, receivedAt: string }[]
  /** Peer forwarding (issue 13): the hops before this hub, who forwarded it here, and each forward with its receipt. */
  hops: Hop[]
  receivedFromHub: string | null
  forwarded: HopView[]
}

/**
 * The document with its deliveries, status events and receipts, read in one REPEATABLE READ
 * snapshot: separate statements could otherwise show a receipt of a delivery whose state they
 * read a moment before it changed.
 */
export async function getDocumentView (db: Database, id: string): Promise<DocumentView | undefined> {
  return await db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY')
    return await readDocumentView(tx, id)
  })
}

async function readDocumentView (db: Queryable, id: string): Promise<DocumentView | undefined> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT id, kind, sender_code, edxml_document_id, digest_sha256, size_bytes, accepted_at, envelope, flags, response_for_document_id,
            business_doc_type, changes_document_id
     FROM documents WHERE id = $1`, [id])
  const d = rows[0]
  if (d == null) return undefined
  const deliveries = await db.query<Record<string, unknown>>(
    'SELECT id, recipient_code, mode, state, attempts, last_error, updated_at FROM deliveries WHERE document_id = $1 ORDER BY recipient_code', [id])
  const events = await db.query<Record<string, unknown>>(
    'SELECT from_code, status_code, description, recorded_at, status_document_id FROM status_events WHERE document_id = $1 ORDER BY recorded_at, id', [id])
  const receipts = await db.query<Record<string, unknown>>('SELECT kind, delivery_id, created_at FROM receipts WHERE document_id = $1 ORDER BY created_at', [id])
  const recipientReceipts = await db.query<Record<string, unknown>>(
    `SELECT delivery_id, recipient_code, verified, reason_code, signer_subject, signature_log_id, received_at
     FROM recipient_receipts WHERE document_id = $1 ORDER BY received_at, id`, [id])
  const travel = await documentHops(db, id)
  const forwarded = await forwardedHops(db, id)
  return {
    id: d.id as string,
    kind: d.kind as 'document' | 'status',
    sender: d.sender_code as string,
    edxmlDocumentId: d.edxml_document_id as string | null,
    digestSha256: d.digest_sha256 as string,
    sizeBytes: Number(d.size_bytes),
    acceptedAt: iso(d.accepted_at),
    envelope: d.envelope as Record<string, unknown>,
    flags: d.flags as string[],
    responseForDocumentId: d.response_for_document_id as string | null,
    businessDocType: d.business_doc_type as string | null,
    changesDocumentId: d.changes_document_id as string | null,
    deliveries: deliveries.rows.map((r) => ({
      id: r.id as string,
      recipient: r.recipient_code as string,
      mode: r.mode as string,
      state: r.state as string,
      attempts: Number(r.attempts),
      lastError: r.last_error as string | null,
      updatedAt: iso(r.updated_at)
    })),
    statusEvents: events.rows.map((r) => ({
      recipient: r.from_code as string,
      statusCode: r.status_code as string,
      description: r.description as string | null,
      recordedAt: iso(r.recorded_at),
      statusDocumentId: r.status_document_id as string
    })),
    receipts: receipts.rows.map((r) => ({ kind: r.kind as string, deliveryId: r.delivery_id as string | null, createdAt: iso(r.created_at) })),
    recipientReceipts: recipientReceipts.rows.map((r) => ({
      deliveryId: r.delivery_id as string,
      recipient: r.recipient_code as string,
      verified: r.verified as boolean,
      reasonCode: r.reason_code as string | null,
      signerSubject: r.signer_subject as string | null,
      signatureLogEntry: r.signature_log_id == null ? null : Number(r.signature_log_id),
      receivedAt: iso(r.received_at)
    })),
    hops: travel?.hops ?? [],
    receivedFromHub: travel?.fromHub ?? null,
    forwarded
  }
}

/** Who may read a document: its sender and its recipients. */
export async function canRead (db: Queryable, id: string, agency: string): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM documents d WHERE d.id = $1 AND (d.sender_code = $2 OR EXISTS (
       SELECT 1 FROM deliveries x WHERE x.document_id = d.id AND x.recipient_code = $2))`, [id, agency])
  return rows.length > 0
}

/**
 * Whether `agency` may fetch the document's signed bytes: its sender, or a recipient whose
 * delivery was not cancelled. A cancelled delivery withdraws the document from that recipient
 * (outsider review, finding A3); its metadata stays visible to it (canRead), the bytes do not.
 */
export async function canReadBytes (db: Queryable, id: string, agency: string): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM documents d WHERE d.id = $1 AND (d.sender_code = $2 OR EXISTS (
       SELECT 1 FROM deliveries x WHERE x.document_id = d.id AND x.recipient_code = $2 AND x.state <> 'cancelled'))`, [id, agency])
  return rows.length > 0
}

export async function getRaw (db: Queryable, id: string): Promise<Buffer | undefined> {
  const { rows } = await db.query<{ raw: Uint8Array | null }>('SELECT raw FROM documents WHERE id = $1', [id])
  const raw = rows[0]?.raw
  return raw != null ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength) : undefined
}

export async function getReceipt (db: Queryable, documentId: string, kind: string): Promise<string | undefined> {
  const { rows } = await db.query<{ xml: string }>('SELECT xml FROM receipts WHERE document_id = $1 AND kind = $2 ORDER BY created_at LIMIT 1', [documentId, kind])
  return rows[0]?.xml
}

function iso (value: unknown): string {
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString()
}

/**
 * The receipt of `kind` for a document as `agency` may see it: its sender sees the first one;
 * a recipient sees the acceptance receipt and only the delivery/failure receipts of its own
 * delivery (never another recipient's). Call after canRead.
 */
export async function getReceiptVisibleTo (db: Queryable, documentId: string, kind: string, agency: string): Promise<string | undefined> {
  const { rows } = await db.query<{ xml: string }>(
    `SELECT r.xml FROM receipts r JOIN documents d ON d.id = r.document_id
     LEFT JOIN deliveries x ON x.id = r.delivery_id
     WHERE r.document_id = $1 AND r.kind = $2
       AND (d.sender_code = $3 OR r.delivery_id IS NULL OR x.recipient_code = $3)
     ORDER BY r.created_at LIMIT 1`, [documentId, kind, agency])
  return rows[0]?.xml
}

/** The bytes are gone: removed after retention (raw_removed_at) — never for an open delivery. */
export class ContentExpiredError extends Error {
  constructor (readonly documentId: string) {
    super(`the bytes of document ${documentId} were removed after the retention period`)
    this.name = 'ContentExpiredError'
  }
}

/** The document's original signed bytes (what is delivered, never modified). */
export async function loadRaw (db: Queryable, documentId: string): Promise<Buffer> {
  const { rows } = await db.query<{ raw: Uint8Array | null, raw_removed_at: Date | null }>('SELECT raw, raw_removed_at FROM documents WHERE id = $1', [documentId])
  const raw = rows[0]?.raw
  if (raw == null && rows[0]?.raw_removed_at != null) throw new ContentExpiredError(documentId)
  if (raw == null) throw new Error(`document ${documentId} has no stored bytes`)
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
}

/** Whether the document's bytes are still kept (not removed after retention). */
export async function hasStoredBytes (db: Queryable, documentId: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM documents WHERE id = $1 AND raw IS NOT NULL', [documentId])
  return rows.length > 0
}
