import type { Queryable } from '../db/database.js'

/**
 * A pull recipient's waiting deliveries (available or downloaded), oldest first, after the keyset
 * position `[created_at to the microsecond, id]`. The cursor keeps created_at to the microsecond
 * (`cursor_at`): a JS Date (milliseconds) would make the last row of a page compare greater than
 * its own truncated cursor and come back on the next page.
 */
export async function inboxRows (db: Queryable, agency: string, after: [string, string] | undefined, limit: number): Promise<Array<Record<string, unknown>>> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT x.id, x.document_id, x.state, x.created_at,
            to_char(x.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at, d.kind, d.sender_code, d.edxml_document_id, d.size_bytes,
            d.envelope->>'subject' AS subject, d.status_code
     FROM deliveries x JOIN documents d ON d.id = x.document_id
     WHERE x.recipient_code = $1 AND x.state IN ('available', 'downloaded')
       AND ($2::timestamptz IS NULL OR (x.created_at, x.id) > ($2::timestamptz, $3::uuid))
     ORDER BY x.created_at, x.id LIMIT $4`,
    [agency, after?.[0] ?? null, after?.[1] ?? null, limit])
  return rows
}

/** How many documents (or status messages) wait for any of `agencies` (available or downloaded). */
export async function countInbox (db: Queryable, agencies: readonly string[], kind: 'document' | 'status'): Promise<number> {
  const { rows } = await db.query<{ n: string | number }>(
    `SELECT count(*) AS n FROM deliveries x JOIN documents d ON d.id = x.document_id
     WHERE x.recipient_code = ANY($1) AND x.state IN ('available', 'downloaded') AND d.kind = $2`, [agencies, kind])
  return Number(rows[0]?.n ?? 0)
}
