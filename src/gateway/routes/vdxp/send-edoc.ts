import type { FastifyInstance } from 'fastify'
import { acceptSubmission } from '../../../accept/accept-submission.js'
import { PoolSaturatedError } from '../../../verification/verification-pool.js'
import { sdkHashFile, withoutTrailingCrlf } from '../../../vdxp/signed-headers.js'
import { ok, VdxpFailure } from '../../../vdxp/vdxp-answer.js'
import { sendVdxp } from '../../plugins/vdxp-answers.js'
import { HubProblem } from '../../../errors/problem.js'
import { vdxpCallerOf } from '../../scopes/vdxp-authenticator.js'
import type { HubContext } from '../../hub-context.js'
import { kindOf, required } from './parameters.js'

/**
 * sendEdoc: the edXML (raw bytes + the SDK's trailing \r\n, application/octet-stream) through
 * exactly the accept path of POST /v1/documents (verification, duplicate rule, signature log,
 * receipts, deliveries), as the `from` agency, which the system must serve.
 */
export default async function sendEdocRoute (app: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const ctx = options.context
  app.post('/sendEdoc', async (request, reply) => {
    const caller = vdxpCallerOf(request)
    const body = request.body
    if (!Buffer.isBuffer(body)) throw new HubProblem('UNSUPPORTED_MEDIA_TYPE', 'send the edXML bytes as application/octet-stream (the SDK does)')
    const from = required(caller, 'from')
    if (!caller.agencies.includes(from)) throw new VdxpFailure('SENDER_NOT_SERVED', `system ${caller.systemId} does not serve ${from}`, 403)
    kindOf(caller)
    const bytes = withoutTrailingCrlf(body)
    // Checked before verification: a body altered in transit is refused without signature work.
    if (sdkHashFile(bytes) !== required(caller, 'hash-file').toLowerCase()) {
      throw new VdxpFailure('HASH_FILE_MISMATCH', 'XroadVnpt-hash-file is not the SHA-256 (unpadded hex) of the body without its final CRLF')
    }
    let outcome
    try {
      outcome = await acceptSubmission({
        db: ctx.db,
        verify: ctx.metrics?.timedVerify(ctx.verify) ?? ctx.verify,
        queue: ctx.queue,
        hub: ctx.hub,
        onEnqueueError: (err: unknown, ids: string[]) => request.log.warn({ err, deliveries: ids.length }, 'enqueue failed; the reconciler will retry')
      }, { bytes, auth: { agencyCode: from, credentialId: `vdxp:${caller.systemId}`, via: 'vdxp_hmac' }, requestId: request.id, unsignedAllowed: true })
    } catch (err) {
      if (err instanceof PoolSaturatedError) {
        ctx.metrics?.documentRejected('BUSY')
        throw new HubProblem('BUSY', 'all verification workers are busy and the waiting line is full', { retryAfterSeconds: err.retryAfterSeconds })
      }
      throw err
    }
    if (outcome.outcome === 'rejected') {
      ctx.metrics?.documentRejected(outcome.code)
      request.log.info({ code: outcome.code, signatureLogEntry: outcome.signatureLogId, system: caller.systemId }, 'document rejected')
      // As on /v1: answering a document not received is answered like answering none at all.
      const code = outcome.code === 'FORBIDDEN' ? 'DOCUMENT_UNKNOWN' : outcome.code
      throw new HubProblem(code, code === 'DOCUMENT_UNKNOWN' ? `the status message answers no document that ${from} received through this hub` : outcome.detail, { signatureLogEntry: outcome.signatureLogId })
    }
    if (outcome.outcome === 'duplicate') {
      ctx.metrics?.documentDuplicate()
      return await sendVdxp(reply, ok({ DocId: outcome.documentId, duplicate: true, signatureLogEntry: outcome.originalSignatureLogId }))
    }
    ctx.metrics?.documentAccepted(outcome.kind)
    request.log.info({ document: outcome.documentId, signatureLogEntry: outcome.signatureLogId, system: caller.systemId }, 'document accepted (VDXP)')
    const unknown = outcome.recipients.filter((r) => r.error != null).map((r) => r.code)
    return await sendVdxp(reply, ok({ DocId: outcome.documentId, signatureLogEntry: outcome.signatureLogId, ...(unknown.length > 0 ? { unknownRecipients: unknown } : {}) }))
  })
}
