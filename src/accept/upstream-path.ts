import type { Database } from '../db/database.js'
import type { Accepted } from '../domain/verdict.js'
import type { ProblemCode } from '../errors/problem.js'
import { findAnsweredDocument } from '../store/documents.js'
import { deliveryRouteTo } from '../store/peer-forwarding.js'
import { submitsHere } from '../store/submitting-agencies.js'

/**
 * What an upstream may not bring (docs/vdxp-compat.md, "What an upstream may not bring"), checked
 * after the duplicate rule, so the copy an axis hands back of what this hub sent is answered as
 * the duplicate it is:
 * - a document or status signed by one of this hub's own senders (submitsHere): what it signs
 *   enters through its own submission here; new bytes of it from an upstream are a replay (of a
 *   document whose first copy retention removed) or went around this hub;
 * - a status whose document went to its signer by another route than this upstream (locally,
 *   through a peer hub, or another upstream): a status comes back the way its document went.
 * A status from no recipient of its document, or answering no known document, is left to the
 * delivery plan (FORBIDDEN, DOCUMENT_UNKNOWN), as on /peer.
 */
export async function upstreamPathProblem (db: Database, verdict: Accepted, upstreamId: string): Promise<{ problem: ProblemCode, detail: string } | undefined> {
  if (await submitsHere(db, verdict.agency)) {
    return { problem: 'PEER_NOT_ON_PATH', detail: `${verdict.agency} submits to this hub itself: what it signs enters here through its own submission, never fetched from upstream ${upstreamId}` }
  }
  const envelope = verdict.envelope
  if (envelope.kind !== 'status') return undefined
  const answered = envelope.responseFor.find((r) => r.organId != null && r.documentId != null)
  if (answered?.organId == null || answered.documentId == null) return undefined
  const original = await findAnsweredDocument(db, answered.organId, answered.documentId)
  if (original == null) return undefined
  const route = await deliveryRouteTo(db, original.id, verdict.agency)
  if (route == null || (route.kind === 'upstream' && route.target === upstreamId)) return undefined
  return { problem: 'PEER_NOT_ON_PATH', detail: `document ${answered.documentId} went to ${verdict.agency} ${route.kind === 'local' ? 'locally' : `through ${route.kind} ${route.target ?? '?'}`}, not through upstream ${upstreamId}: its status must come back that way` }
}
