import type { Database } from '../db/database.js'
import type { AcceptOutcome } from '../accept/accept-submission.js'
import { clearFetchFailure, fetchFailures, findReceivedMany, markAcknowledged, recordFetchFailure, recordReceived, type ReceivedRow } from '../store/upstream-exchange.js'
import type { ReceivedItem, VdxpUpstreamClient } from './vdxp-client.js'
import { UpstreamCallError } from './upstream-errors.js'

/** The upstream operations a poll uses (VdxpUpstreamClient; a test may give a recording one). */
export type PollingClient = Pick<VdxpUpstreamClient, 'receivedList' | 'getEdoc' | 'updateStatus'> & { account: { id: string } }

export interface PollDependencies {
  db: Database
  client: PollingClient
  /** The accept path (src/accept/accept-submission.ts) with this upstream as the source. */
  accept: (bytes: Buffer, upstreamDocId: string) => Promise<AcceptOutcome>
  /** At most this many new items fetched per message type and round (the rest wait for the next). */
  maxPerRound?: number
  /** One line per item that could not be handled this round (it is tried again after its backoff). */
  onItemError?: (err: unknown, item: { upstreamDocId: string, messageType: string }) => void
  /** Wait before an item that failed n times is tried again: none after the first failure, then base * 2^(n-2), at most cap. */
  failureBackoff?: { baseMs: number, capMs: number }
  now?: () => number
}

export interface PollReport {
  listed: number
  fetched: number
  accepted: number
  duplicates: number
  rejected: number
  acknowledged: number
  /** Items left for a later round (an upstream or database error on the way). */
  failed: number
  /** Items that failed in an earlier round and wait their backoff (not fetched this round). */
  deferred: number
}

const DEFAULT_MAX_PER_ROUND = 200
/** A failed item is tried again next round, then after 1 min, 2, 4, ... at most 1 h: never given up. */
const DEFAULT_FAILURE_BACKOFF = { baseMs: 60_000, capMs: 3_600_000 }

/**
 * One poll of an upstream: documents, then status messages, addressed to the agencies of our
 * system there. For each listed id:
 *
 *   not seen before -> getEdoc -> the accept path -> upstream_received row -> updateStatus
 *   seen, not yet acknowledged upstream -> updateStatus only (no second fetch)
 *   seen and acknowledged, still listed -> updateStatus again (the upstream lost our answer)
 *
 * updateStatus follows our commit, never precedes it: an item the upstream forgets is one we
 * hold. The accepting transaction and the upstream_received row are two steps; a crash between
 * them leaves an item with no row, fetched again next round and answered by the accept path as
 * the duplicate of the document already stored, so the hub never holds it twice. `done` for what
 * we accepted (or already had), `fail` with the reason code for what our verification refused.
 *
 * What the upstream lists is untrusted: an id listed twice is handled once; an item that fails
 * (its getEdoc times out or errors, the accept path throws) is remembered (migration 025) and
 * waits a backoff, and items that never failed go first, so poison items listed ahead of good
 * ones never use up the round's fetch budget (maxPerRound) round after round.
 */
export async function pollUpstream (deps: PollDependencies): Promise<PollReport> {
  const report: PollReport = { listed: 0, fetched: 0, accepted: 0, duplicates: 0, rejected: 0, acknowledged: 0, failed: 0, deferred: 0 }
  const upstreamId = deps.client.account.id
  const now = deps.now ?? Date.now
  for (const messageType of ['edoc', 'status'] as const) {
    // A failed list is the round's failure: thrown, so the job records it and the next round retries.
    const listed = await deps.client.receivedList(messageType)
    const items = [...new Map(listed.map((item) => [item.docId, item])).values()]
    report.listed += items.length
    const ids = items.map((i) => i.docId)
    const decidedBefore = await findReceivedMany(deps.db, upstreamId, ids)
    const failures = await fetchFailures(deps.db, upstreamId, ids)
    const attempts = (docId: string): number => failures.get(docId)?.attempts ?? 0
    // Stable: the upstream's order among items with as many failures.
    const ordered = failures.size === 0 ? items : [...items].sort((a, b) => attempts(a.docId) - attempts(b.docId))
    const max = deps.maxPerRound ?? DEFAULT_MAX_PER_ROUND
    let fetchedThisType = 0
    let reacknowledged = 0
    for (const item of ordered) {
      let decided = false
      try {
        const seen = decidedBefore.get(item.docId)
        // Acknowledged already and still listed: the upstream lost our answer, or lists old ids on
        // purpose; answered again, but no more of them per round than new items are fetched.
        if (seen?.acknowledged_at != null && reacknowledged++ >= max) continue
        const failure = failures.get(item.docId)
        if (seen == null && failure != null && failure.nextAttemptAt.getTime() > now()) { report.deferred++; continue }
        if (seen == null && fetchedThisType >= max) continue
        if (seen == null) fetchedThisType++
        const row = seen ?? await fetchAndAccept(deps, item, messageType, report)
        decided = true
        if (failure != null) await clearFetchFailure(deps.db, upstreamId, item.docId)
        await acknowledge(deps, row)
        report.acknowledged++
      } catch (err) {
        report.failed++
        if (!decided) {
          await recordFetchFailure(deps.db, upstreamId, item.docId, (err as Error).message ?? String(err), deps.failureBackoff ?? DEFAULT_FAILURE_BACKOFF)
            .catch(() => {})
        }
        deps.onItemError?.(err, { upstreamDocId: item.docId, messageType })
      }
    }
  }
  return report
}

async function fetchAndAccept (deps: PollDependencies, item: ReceivedItem, messageType: 'edoc' | 'status', report: PollReport): Promise<ReceivedRow> {
  const upstreamId = deps.client.account.id
  let bytes: Buffer
  try {
    bytes = await deps.client.getEdoc(item.docId)
  } catch (err) {
    // The upstream answered something that can never be a document (not base64): refused like
    // a document that fails verification, so it does not come back every round.
    if (err instanceof UpstreamCallError && !err.retryable) {
      report.rejected++
      return await recordReceived(deps.db, { upstreamId, upstreamDocId: item.docId, messageType, outcome: 'rejected', reasonCode: 'UPSTREAM_UNREADABLE', detail: err.message })
    }
    throw err
  }
  report.fetched++
  const outcome = await deps.accept(bytes, item.docId)
  if (outcome.outcome === 'accepted') report.accepted++
  else if (outcome.outcome === 'duplicate') report.duplicates++
  else report.rejected++
  return await recordReceived(deps.db, {
    upstreamId,
    upstreamDocId: item.docId,
    messageType,
    outcome: outcome.outcome,
    signatureLogId: outcome.signatureLogId,
    ...(outcome.outcome === 'rejected'
      ? { reasonCode: outcome.code, detail: outcome.detail }
      : { documentId: outcome.documentId })
  })
}

async function acknowledge (deps: PollDependencies, row: ReceivedRow): Promise<void> {
  const status = row.outcome === 'rejected' ? 'fail' : 'done'
  const reason = row.outcome === 'rejected'
    ? `${row.reason_code ?? 'REJECTED'}${row.signature_log_id != null ? ` (lienthong signature log ${row.signature_log_id})` : ''}`
    : undefined
  // updateStatus is idempotent on the server side (the SDK retries it too): sending it again for
  // an item still listed is how a lost answer is repaired.
  await deps.client.updateStatus(row.upstream_doc_id, status, reason)
  await markAcknowledged(deps.db, row.upstream_id, row.upstream_doc_id, status)
}
