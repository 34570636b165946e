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
