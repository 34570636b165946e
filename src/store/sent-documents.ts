import type { Queryable } from '../db/database.js'

/** One recipient of a document an agency sent: where its delivery stands and what it answered last. */
export interface SentDeliveryRow {
  document_id: string
  kind: 'document' | 'status'
  sender_code: string
  edxml_document_id: string | null
  subject: string | null
  notation: string | null
  accepted_at: Date
  delivery_id: string
  recipient_code: string
  state: string
  delivered_at: Date | null
  /** The recipient's latest status message about the document (domain.md codes 01-16). */
  status_code: string | null
  status_at: Date | null
}

/**
 * Per-recipient state of the documents sent by any of `senders`, newest first; one document
 * (the hub's id) when `documentId` is given.
 */
export async function sentDeliveries (db: Queryable, senders: readonly string[], options: { documentId?: string, kind?: 'document' | 'status', limit: number }): Promise<SentDeliveryRow[]> {
  const { rows } = await db.query<SentDeliveryRow>(
    `SELECT d.id AS document_id, d.kind, d.sender_code, d.edxml_document_id, d.envelope->>'subject' AS subject,
            d.envelope->'code'->>'notation' AS notation, d.accepted_at,
            x.id AS delivery_id, x.recipient_code, x.state, x.delivered_at, s.status_code, s.recorded_at AS status_at
     FROM documents d JOIN deliveries x ON x.document_id = d.id
     LEFT JOIN LATERAL (SELECT e.status_code, e.recorded_at FROM status_events e
                        WHERE e.document_id = d.id AND e.from_code = x.recipient_code ORDER BY e.recorded_at DESC LIMIT 1) s ON true
     WHERE d.sender_code = ANY($1) AND ($2::uuid IS NULL OR d.id = $2::uuid) AND ($3::text IS NULL OR d.kind = $3)
     ORDER BY d.accepted_at DESC, d.id, x.recipient_code LIMIT $4`,
    [senders, options.documentId ?? null, options.kind ?? null, options.limit])
  return rows
}
