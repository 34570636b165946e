import type { Queryable } from '../db/database.js'
import { startPeriodicTask } from '../background/periodic-task.js'
import { countExpiredContent, removeExpiredContentBatch } from '../store/retention.js'

export interface RetentionOptions {
  /** Documents accepted longer ago than this lose their bytes. */
  retentionDays: number
  /** Rows per statement, so a first run over years of documents does not hold one huge lock. */
  batch?: number
  /** Count only. */
  dryRun?: boolean
}

/**
 * Removes the signed bytes of documents past retention, keeping everything that proves what
 * happened (digest, receipts, signature log, delivery trail). Returns how many documents lost
 * (or, dry run, would lose) their bytes.
 */
export async function removeExpiredContent (db: Queryable, options: RetentionOptions): Promise<number> {
  if (!Number.isInteger(options.retentionDays) || options.retentionDays < 1) throw new RangeError('retentionDays must be a positive integer')
  if (options.dryRun === true) {
    return await countExpiredContent(db, options.retentionDays)
  }
  const batch = options.batch ?? 500
  let removed = 0
  for (;;) {
    const n = await removeExpiredContentBatch(db, options.retentionDays, batch)
    removed += n
    if (n < batch) return removed
  }
}

/**
 * Runs the retention now and then every intervalMs until stopped (the worker runs it when
 * configured), in one process at a time across the cluster (a lease: src/background/periodic-task.ts).
 */
export function startRetention (db: Queryable, options: RetentionOptions & { intervalMs: number, onRun?: (removed: number) => void, onError?: (err: unknown) => void }): () => Promise<void> {
  const task = startPeriodicTask({
    name: 'retention',
    intervalMs: options.intervalMs,
    firstDelayMs: 0,
    lease: { db },
    run: async () => { options.onRun?.(await removeExpiredContent(db, options)) },
    onError: (err) => options.onError?.(err)
  })
  return task.close
}
