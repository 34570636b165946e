import type { Queryable } from '../db/database.js'

/**
 * A sender's delivery receipts and failure notices, oldest first, after the keyset position
 * `[created_at to the microsecond, id]` (see inbox.ts for why microseconds).
 */
export async function receiptFeedRows (db: Queryable, sender: string, after: [string, string] | undefined, limit: number): Promise<Array<Record<string, unknown>>> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT r.id, r.kind, r.document_id, r.delivery_id, r.created_at, x.recipient_code, d.edxml_document_id,
            to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at
     FROM receipts r JOIN documents d ON d.id = r.document_id LEFT JOIN deliveries x ON x.id = r.delivery_id
     WHERE d.sender_code = $1 AND r.kind IN ('delivery', 'failure')
       AND ($2::timestamptz IS NULL OR (r.created_at, r.id) > ($2::timestamptz, $3::uuid))
     ORDER BY r.created_at, r.id LIMIT $4`,
    [sender, after?.[0] ?? null, after?.[1] ?? null, limit])
  return rows
}

/** One receipt's signed XML, for the sender of its document or the recipient it names. */
export async function receiptXmlFor (db: Queryable, agency: string, receiptId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ xml: string }>(
    `SELECT r.xml FROM receipts r JOIN documents d ON d.id = r.document_id LEFT JOIN deliveries x ON x.id = r.delivery_id
     WHERE r.id = $1 AND (d.sender_code = $2 OR x.recipient_code = $2)`, [receiptId, agency])
  return rows[0]?.xml
}
