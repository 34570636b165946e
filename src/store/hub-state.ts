import type { Queryable } from '../db/database.js'

/**
 * Reads for the hub-wide gauges and the health checks (src/metrics, src/gateway/routes/health):
 * counts and times, never document content.
 */

/** Open deliveries by state and mode; each branch matches a partial index (deliveries_open, the pull inbox). */
export async function openDeliveryCounts (db: Queryable): Promise<Array<{ state: string, mode: string, n: number }>> {
  const { rows } = await db.query<{ state: string, mode: string, n: number }>(
    `SELECT state, mode, count(*)::int AS n FROM deliveries WHERE state IN ('queued', 'sending', 'waiting_retry') GROUP BY 1, 2
     UNION ALL
     SELECT state, mode, count(*)::int AS n FROM deliveries WHERE state IN ('available', 'downloaded') GROUP BY 1, 2`)
  return rows.map((r) => ({ ...r, n: Number(r.n) }))
}

/** When the newest signature-log entry was appended; null for an empty log. */
export async function newestSignatureLogTime (db: Queryable): Promise<Date | null> {
  const { rows } = await db.query<{ logged_at: Date }>('SELECT logged_at FROM signature_log ORDER BY id DESC LIMIT 1')
  return rows[0] == null ? null : new Date(rows[0].logged_at)
}

/** Seconds from acceptance to delivery of one delivery (PostgreSQL's clock on both ends); NaN when not delivered. */
export async function deliveryLatencySeconds (db: Queryable, deliveryId: string): Promise<number> {
  const { rows } = await db.query<{ seconds: number | string | null }>(
    'SELECT extract(epoch FROM delivered_at - created_at) AS seconds FROM deliveries WHERE id = $1', [deliveryId])
  return Number(rows[0]?.seconds ?? NaN)
}

/** The database answers a trivial query (readiness). */
export async function pingDatabase (db: Queryable): Promise<void> {
  await db.query('SELECT 1')
}
