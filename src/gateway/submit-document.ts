import type { FastifyRequest } from 'fastify'
import { acceptSubmission, type AcceptOutcome, type Submission } from '../accept/accept-submission.js'
import { HubProblem } from '../errors/problem.js'
import { PoolSaturatedError } from '../verification/verification-pool.js'
import type { HubContext } from './hub-context.js'

/** What a route answers from: the document was accepted, or was a duplicate of one accepted before. */
export type Submitted = Exclude<AcceptOutcome, { outcome: 'rejected' }>

/**
 * The accept path as every route family runs it (POST /v1/documents, VDXP sendEdoc): verification
 * timed into the metrics, a full verification pool answered 503 BUSY, a rejection counted, logged
 * and thrown as its problem, duplicates and acceptances counted. The route only shapes the answer.
 * `logFields` are added to the log lines (e.g. the VDXP system).
 */
export async function submitDocument (ctx: HubContext, request: FastifyRequest, submission: Submission, logFields: Record<string, unknown> = {}): Promise<Submitted> {
  let outcome: AcceptOutcome
  try {
    outcome = await acceptSubmission({
      db: ctx.db,
      verify: ctx.metrics?.timedVerify(ctx.verify) ?? ctx.verify,
      queue: ctx.queue,
      hub: ctx.hub,
      ...(ctx.routes != null ? { routes: ctx.routes } : {}),
      ...(ctx.signReceipt != null ? { signReceipt: ctx.signReceipt } : {}),
      onEnqueueError: (err: unknown, ids: string[]) => request.log.warn({ err, deliveries: ids.length }, 'enqueue failed; the reconciler will retry')
    }, { ...submission, requestId: request.id })
  } catch (err) {
    if (err instanceof PoolSaturatedError) {
      ctx.metrics?.documentRejected('BUSY')
      throw new HubProblem('BUSY', 'all verification workers are busy and the waiting line is full', { retryAfterSeconds: err.retryAfterSeconds })
    }
    throw err
  }
  if (outcome.outcome === 'rejected') {
    ctx.metrics?.documentRejected(outcome.code)
    request.log.info({ code: outcome.code, signatureLogEntry: outcome.signatureLogId, ...logFields }, 'document rejected')
    // A status message answering a document the signing agency did not receive gets the same
    // answer as one answering a document that does not exist: whether agency X sent document
    // D is not disclosed to anyone but X and D's recipients. (The signature log keeps the
    // precise reason for auditors.)
    if (outcome.code === 'DOCUMENT_UNKNOWN' || outcome.code === 'FORBIDDEN') {
      throw new HubProblem('DOCUMENT_UNKNOWN', `the status message answers no document that ${submission.auth.agencyCode} received through this hub`, { signatureLogEntry: outcome.signatureLogId })
    }
    throw new HubProblem(outcome.code, outcome.detail, {
      signatureLogEntry: outcome.signatureLogId,
      ...(outcome.recipients != null ? { recipients: outcome.recipients } : {})
    })
  }
  if (outcome.outcome === 'duplicate') {
    ctx.metrics?.documentDuplicate()
    return outcome
  }
  ctx.metrics?.documentAccepted(outcome.kind)
  request.log.info({ document: outcome.documentId, signatureLogEntry: outcome.signatureLogId, enqueued: outcome.enqueued, ...logFields }, 'document accepted')
  return outcome
}
