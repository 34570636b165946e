import type { Queryable } from '../db/database.js'
import { decodeCursor, encodeCursor } from './inbox.js'
import { receiptFeedRows, receiptXmlFor } from '../store/receipts.js'

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
  const rows = await receiptFeedRows(db, sender, position, limit + 1)
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
  return await receiptXmlFor(db, agency, receiptId)
}
