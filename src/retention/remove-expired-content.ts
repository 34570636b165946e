import type { Queryable } from '../db/database.js'

export interface RetentionOptions {
  /** Documents accepted longer ago than this lose their bytes. */
  retentionDays: number
  /** Rows per statement, so a first run over years of documents does not hold one huge lock. */
  batch?: number
  /** Count only. */
  dryRun?: boolean
}

// Only documents every delivery of which is finished: bytes still to be pushed, downloaded or
// resent by the worker are never removed.
const ELIGIBLE = `
  d.raw IS NOT NULL AND d.accepted_at < now() - make_interval(days => $1::int)
  AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.document_id = d.id
                  AND x.state NOT IN ('delivered', 'acknowledged', 'failed', 'cancelled'))`

/**
 * Removes the signed bytes of documents past retention, keeping everything that proves what
 * happened (digest, receipts, signature log, delivery trail). Returns how many documents lost
 * (or, dry run, would lose) their bytes.
 */
export async function removeExpiredContent (db: Queryable, options: RetentionOptions): Promise<number> {
  if (!Number.isInteger(options.retentionDays) || options.retentionDays < 1) throw new RangeError('retentionDays must be a positive integer')
  if (options.dryRun === true) {
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM documents d WHERE ${ELIGIBLE}`, [options.retentionDays])
    return rows[0]?.n ?? 0
  }
  const batch = options.batch ?? 500
  let removed = 0
  for (;;) {
    const { rows } = await db.query<{ id: string }>(
      `UPDATE documents SET raw = NULL, raw_removed_at = now()
       WHERE id IN (SELECT d.id FROM documents d WHERE ${ELIGIBLE} ORDER BY d.accepted_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING id`, [options.retentionDays, batch])
    removed += rows.length
    if (rows.length < batch) return removed
  }
}

/** Runs the retention every intervalMs until stopped (the worker runs it when configured). */
export function startRetention (db: Queryable, options: RetentionOptions & { intervalMs: number, onRun?: (removed: number) => void, onError?: (err: unknown) => void }): () => void {
  let running = false
  const run = (): void => {
    if (running) return
    running = true
    removeExpiredContent(db, options).then((n) => options.onRun?.(n), (err: unknown) => options.onError?.(err)).finally(() => { running = false })
  }
  const timer = setInterval(run, options.intervalMs)
  timer.unref()
  run()
  return () => clearInterval(timer)
}
