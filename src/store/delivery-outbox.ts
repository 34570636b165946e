import type { Queryable } from '../db/database.js'

/**
 * The transactional outbox's side of the deliveries table: which push rows need a job in Redis
 * (see the invariant at the top of src/queue/reconciler.ts). The `enqueued` flag is only a hint
 * for the fast path; `updated_at` is the grace period's clock and is touched only by
 * markEnqueued (the accept path and operator controls, right after adding the job).
 */

/** `queued` push rows not known to be in Redis, oldest first (the outbox fast path). */
export async function unenqueuedQueued (db: Queryable, limit: number): Promise<Array<{ id: string, recipient_code: string }>> {
  const { rows } = await db.query<{ id: string, recipient_code: string }>(
    'SELECT id, recipient_code FROM deliveries WHERE NOT enqueued AND state = \'queued\' AND mode = \'push\' ORDER BY created_at LIMIT $1', [limit])
  return rows
}

/** A job now exists for these rows: the flag only, updated_at untouched (the row's own history). */
export async function flagEnqueued (db: Queryable, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return
  await db.query('UPDATE deliveries SET enqueued = true WHERE id = ANY($1) AND NOT enqueued', [ids])
}

/** Right after the accept path or a resend added the jobs: the flag, and updated_at restarts the grace period. */
export async function markEnqueued (db: Queryable, ids: readonly string[]): Promise<void> {
  await db.query('UPDATE deliveries SET enqueued = true, updated_at = now() WHERE id = ANY($1)', [ids])
}

export interface OpenPushRow { id: string, recipient_code: string, next_attempt_at: Date | null, enqueued: boolean }

/**
 * Open push rows (OPEN_PUSH_STATES) untouched for `graceMs`, after id `after`, by id, at most
 * `limit`. One query through the partial index on open rows (deliveries_open): its cost follows
 * the open rows, not the table's history of final ones (a keyset walk of the primary key would
 * read every delivered row on each pass). MATERIALIZED keeps the planner on that index however
 * large the LIMIT; the sort by id is over the open rows only. The states are written out so that
 * the query matches the index's predicate. A `sending` row is due only after `sendingGraceMs`
 * (at least `graceMs`): its POST may still be in flight for up to the push timeout.
 */
export async function openPushRowsUntouched (db: Queryable, graceMs: number, after: string | null, limit: number, sendingGraceMs = graceMs): Promise<OpenPushRow[]> {
  const { rows } = await db.query<OpenPushRow>(
    `WITH open AS MATERIALIZED (
       SELECT id, recipient_code, next_attempt_at, enqueued FROM deliveries
       WHERE state IN ('queued', 'sending', 'waiting_retry') AND mode = 'push'
         AND updated_at < now() - ($2 || ' milliseconds')::interval
         AND (state <> 'sending' OR updated_at < now() - ($4 || ' milliseconds')::interval))
     SELECT id, recipient_code, next_attempt_at, enqueued FROM open
     WHERE $1::uuid IS NULL OR id > $1::uuid ORDER BY id LIMIT $3`, [after, String(graceMs), limit, String(Math.max(graceMs, sendingGraceMs))])
  return rows
}

/**
 * The accept path stores push rows flagged enqueued and adds their jobs after commit; when that
 * add fails, the flag goes back to false so the outbox fast path (enqueuePending) takes them
 * without waiting for the sweep's grace period.
 */
export async function clearEnqueued (db: Queryable, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return
  await db.query('UPDATE deliveries SET enqueued = false WHERE id = ANY($1)', [ids])
}
