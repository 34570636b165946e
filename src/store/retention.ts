import type { Queryable } from '../db/database.js'

// Only documents every delivery of which is finished: bytes still to be pushed, downloaded or
// resent by the worker are never removed.
const ELIGIBLE = `
  d.raw IS NOT NULL AND d.accepted_at < now() - make_interval(days => $1::int)
  AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.document_id = d.id
                  AND x.state NOT IN ('delivered', 'acknowledged', 'failed', 'cancelled'))`

/** Documents accepted more than `retentionDays` ago, all deliveries final, bytes still kept. */
export async function countExpiredContent (db: Queryable, retentionDays: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM documents d WHERE ${ELIGIBLE}`, [retentionDays])
  return rows[0]?.n ?? 0
}

/**
 * Removes the signed bytes of up to `batch` such documents, oldest first (raw_removed_at records
 * when); SKIP LOCKED, so a document being read or changed right now is left for the next batch.
 * Returns how many lost their bytes.
 */
export async function removeExpiredContentBatch (db: Queryable, retentionDays: number, batch: number): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    `UPDATE documents SET raw = NULL, raw_removed_at = now()
     WHERE id IN (SELECT d.id FROM documents d WHERE ${ELIGIBLE} ORDER BY d.accepted_at LIMIT $2 FOR UPDATE SKIP LOCKED)
     RETURNING id`, [retentionDays, batch])
  return rows.length
}
