import type { Database } from '../db/database.js'
import type { AcceptOutcome } from '../accept/accept-submission.js'
import { findReceived, markAcknowledged, recordReceived, type ReceivedRow } from '../store/upstream-exchange.js'
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
  /** One line per item that could not be handled this round (it is tried again next round). */
  onItemError?: (err: unknown, item: { upstreamDocId: string, messageType: string }) => void
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
}

const DEFAULT_MAX_PER_ROUND = 200

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
 */
export async function pollUpstream (deps: PollDependencies): Promise<PollReport> {
  const report: PollReport = { listed: 0, fetched: 0, accepted: 0, duplicates: 0, rejected: 0, acknowledged: 0, failed: 0 }
  for (const messageType of ['edoc', 'status'] as const) {
    // A failed list is the round's failure: thrown, so the job records it and the next round retries.
    const items = await deps.client.receivedList(messageType)
    report.listed += items.length
    let fetchedThisType = 0
    for (const item of items) {
      try {
        const seen = await findReceived(deps.db, deps.client.account.id, item.docId)
        if (seen == null && fetchedThisType >= (deps.maxPerRound ?? DEFAULT_MAX_PER_ROUND)) continue
        if (seen == null) fetchedThisType++
        const row = seen ?? await fetchAndAccept(deps, item, messageType, report)
        await acknowledge(deps, row)
        report.acknowledged++
      } catch (err) {
        report.failed++
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
