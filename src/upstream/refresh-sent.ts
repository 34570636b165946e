import type { Database } from '../db/database.js'
import { recordUpstreamState, sentToRefresh } from '../store/upstream-exchange.js'
import type { VdxpUpstreamClient } from './vdxp-client.js'

export interface RefreshOptions {
  /** A delivery's upstream state is read again after this long; default 5 min. */
  staleMs?: number
  /** Documents sent longer ago than this are no longer followed; default 30 days. */
  maxAgeMs?: number
  /** At most this many upstream documents asked about per round; default 50. */
  limit?: number
}

/**
 * getSentEdocList for what we sent to this upstream: the upstream's sendStatus / receiveStatus
 * of each delivery (matched by the upstream DocId and the recipient code), kept on upstream_sent
 * and shown with the delivery. The upstream's own view, for the clerk; the recipient's business
 * statuses still come back as signed status messages through the poll.
 */
export async function refreshSentStates (db: Database, client: Pick<VdxpUpstreamClient, 'sentList'> & { account: { id: string } }, options: RefreshOptions = {}): Promise<number> {
  const rows = await sentToRefresh(db, client.account.id, options.staleMs ?? 5 * 60_000, options.maxAgeMs ?? 30 * 24 * 3600_000, options.limit ?? 50)
  const byDoc = new Map<string, typeof rows>()
  for (const row of rows) byDoc.set(row.upstream_doc_id, [...(byDoc.get(row.upstream_doc_id) ?? []), row])
  let updated = 0
  for (const [docId, deliveries] of byDoc) {
    const items = await client.sentList(docId)
    for (const delivery of deliveries) {
      // One row per recipient upstream; an upstream that does not say toCode answers for all.
      const item = items.find((i) => i.toCode === delivery.recipient_code) ?? (items.length === 1 ? items[0] : undefined)
      await recordUpstreamState(db, delivery.delivery_id, {
        sendStatus: item?.sendStatus ?? (items.length === 0 ? 'unknown upstream' : undefined),
        receiveStatus: item?.receiveStatus,
        receiveStatusDesc: item?.receiveStatusDesc
      })
      updated++
    }
  }
  return updated
}
