import type { PreparedSignatureLogEntry } from '../evidence/signature-log.js'
import type { Run } from '../evidence/signature-log-sequencer.js'
import { LARGE_RAW_BYTES, type NewDelivery, type NewDocument } from '../store/documents.js'

export interface AcceptedDocumentRows {
  /** The document's acceptance entry, prepared by the sequencer on the head it expects. */
  entry: PreparedSignatureLogEntry
  document: NewDocument
  deliveries: readonly NewDelivery[]
  /** Whether push rows start flagged enqueued: this process adds their jobs right after commit. */
  pushEnqueued: boolean
  receipt: { id: string, xml: string }
  /** A status message: the event recorded against the document it answers (responseForDocumentId). */
  statusEvent?: { id: string, description?: string | undefined }
}

/**
 * The accepting transaction as ONE statement (lienthong_accept_document, migration 014): a
 * single round trip on the pool, committed on its own. Large documents on PostgreSQL go first to
 * the transaction's upload table by COPY (bytea-copy.ts: no 50 MB Bind message built on the event
 * loop), so they need a transaction around the upload and the call.
 */
export async function storeAcceptedDocument (run: Run, rows: AcceptedDocumentRows): Promise<void> {
  const { entry, document: doc, deliveries } = rows
  const v = doc.verdict
  const large = doc.raw.length >= LARGE_RAW_BYTES
  await run(async (q) => {
    const streamed = large && q.uploadBytea != null
    if (streamed && q.uploadBytea != null) await q.uploadBytea(doc.raw)
    await q.query(
      `SELECT lienthong_accept_document($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
         $21::uuid[], $22::text[], $23::text[], $24, $25::text[], $26::text[], $27::text[], $28::text[], $29, $30, $31, $32) AS id`,
      [entry.prev.id, entry.prev.hash, entry.canonical, entry.entryHash,
        doc.id, v.envelope.kind, v.agency, v.envelope.documentId ?? null, v.digestSha256, doc.raw.length, streamed ? null : doc.raw,
        JSON.stringify(v.envelope), JSON.stringify({ ...v.signer, chain: v.chain }), JSON.stringify(v.algorithms), v.flags,
        v.envelope.statusCode ?? null, doc.responseForDocumentId ?? null, doc.acceptedAt, v.envelope.businessDocType ?? null, doc.changesDocumentId ?? null,
        deliveries.map((d) => d.id), deliveries.map((d) => d.recipientCode), deliveries.map((d) => d.mode), rows.pushEnqueued,
        deliveries.map((d) => d.route?.kind ?? 'local'), deliveries.map((d) => d.route?.target ?? null),
        deliveries.map((d) => d.route?.source ?? null), deliveries.map((d) => d.route?.rule ?? null),
        rows.receipt.id, rows.receipt.xml,
        rows.statusEvent?.id ?? null, rows.statusEvent?.description ?? null])
  }, large)
}

/**
 * The same rows as one item of a group commit (lienthong_append_group, migration 027): the
 * fields lienthong_accept_document takes, as JSON (raw in base64), and the bytes the item adds to
 * its group. Undefined for a large document: it stays on its own path (COPY on PostgreSQL).
 */
export function acceptedDocumentGroupItem (rows: AcceptedDocumentRows): { document: Record<string, unknown>, bytes: number } | undefined {
  const { document: doc, deliveries } = rows
  if (doc.raw.length >= LARGE_RAW_BYTES) return undefined
  const v = doc.verdict
  const document = {
    id: doc.id,
    kind: v.envelope.kind,
    sender: v.agency,
    edxml_document_id: v.envelope.documentId ?? null,
    digest: v.digestSha256,
    size: doc.raw.length,
    raw: doc.raw.toString('base64'),
    envelope: v.envelope,
    signer: { ...v.signer, chain: v.chain },
    algorithms: v.algorithms,
    flags: v.flags,
    status_code: v.envelope.statusCode ?? null,
    response_for: doc.responseForDocumentId ?? null,
    accepted_at: doc.acceptedAt.toISOString(),
    business_doc_type: v.envelope.businessDocType ?? null,
    changes: doc.changesDocumentId ?? null,
    delivery_ids: deliveries.map((d) => d.id),
    recipients: deliveries.map((d) => d.recipientCode),
    modes: deliveries.map((d) => d.mode),
    push_enqueued: rows.pushEnqueued,
    route_kinds: deliveries.map((d) => d.route?.kind ?? 'local'),
    route_targets: deliveries.map((d) => d.route?.target ?? null),
    route_sources: deliveries.map((d) => d.route?.source ?? null),
    route_rules: deliveries.map((d) => d.route?.rule ?? null),
    receipt_id: rows.receipt.id,
    receipt_xml: rows.receipt.xml,
    event_id: rows.statusEvent?.id ?? null,
    event_description: rows.statusEvent?.description ?? null
  }
  return { document, bytes: document.raw.length + rows.receipt.xml.length + rows.entry.canonical.length }
}
