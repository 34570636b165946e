import type { Queryable } from '../db/database.js'
import { decodeCursor, encodeCursor } from './inbox.js'

export interface ReceiptFeedItem {
  receiptId: string
  kind: 'delivery' | 'failure'
  documentId: string
  deliveryId: string | null
  recipient: string | null
  edxmlDocumentId: string | null
  createdAt: string
}

/**
 * The sender's feed of delivery receipts and failure notices, oldest first, keyset-paginated like
 * the inbox: how a sender that polls learns that each recipient got its document (or did not).
 */
export async function listReceipts (db: Queryable, sender: string, after: string | undefined, limit: number): Promise<{ items: ReceiptFeedItem[], next: string | null } | 'bad-cursor'> {
  const position = after != null ? decodeCursor(after) : undefined
  if (after != null && position == null) return 'bad-cursor'
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT r.id, r.kind, r.document_id, r.delivery_id, r.created_at, x.recipient_code, d.edxml_document_id,
            to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at
     FROM receipts r JOIN documents d ON d.id = r.document_id LEFT JOIN deliveries x ON x.id = r.delivery_id
     WHERE d.sender_code = $1 AND r.kind IN ('delivery', 'failure')
       AND ($2::timestamptz IS NULL OR (r.created_at, r.id) > ($2::timestamptz, $3::uuid))
     ORDER BY r.created_at, r.id LIMIT $4`,
    [sender, position?.[0] ?? null, position?.[1] ?? null, limit + 1])
  const page = rows.slice(0, limit)
  const last = page[page.length - 1]
  return {
    items: page.map((r) => ({
      receiptId: r.id as string,
      kind: r.kind as 'delivery' | 'failure',
      documentId: r.document_id as string,
      deliveryId: r.delivery_id as string | null,
      recipient: r.recipient_code as string | null,
      edxmlDocumentId: r.edxml_document_id as string | null,
      createdAt: (r.created_at as Date).toISOString()
    })),
    next: rows.length > limit && last != null ? encodeCursor(last.cursor_at as string, last.id as string) : null
  }
}

/** One receipt's signed XML, for the sender of its document or the recipient it names. */
export async function getReceiptXml (db: Queryable, agency: string, receiptId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ xml: string }>(
    `SELECT r.xml FROM receipts r JOIN documents d ON d.id = r.document_id LEFT JOIN deliveries x ON x.id = r.delivery_id
     WHERE r.id = $1 AND (d.sender_code = $2 OR x.recipient_code = $2)`, [receiptId, agency])
  return rows[0]?.xml
}
