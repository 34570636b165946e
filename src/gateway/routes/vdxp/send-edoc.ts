import type { FastifyInstance } from 'fastify'
import { sdkHashFile, withoutTrailingCrlf } from '../../../vdxp/signed-headers.js'
import { ok, VdxpFailure } from '../../../vdxp/vdxp-answer.js'
import { sendVdxp } from '../../plugins/vdxp-answers.js'
import { HubProblem } from '../../../errors/problem.js'
import { vdxpCallerOf } from '../../scopes/vdxp-authenticator.js'
import type { HubContext } from '../../hub-context.js'
import { submitDocument } from '../../submit-document.js'
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
    const outcome = await submitDocument(ctx, request, { bytes, auth: { agencyCode: from, credentialId: `vdxp:${caller.systemId}`, via: 'vdxp_hmac' }, unsignedAllowed: true }, { system: caller.systemId, via: 'vdxp' })
    if (outcome.outcome === 'duplicate') {
      return await sendVdxp(reply, ok({ DocId: outcome.documentId, duplicate: true, signatureLogEntry: outcome.originalSignatureLogId }))
    }
    const unknown = outcome.recipients.filter((r) => r.error != null).map((r) => r.code)
    return await sendVdxp(reply, ok({ DocId: outcome.documentId, signatureLogEntry: outcome.signatureLogId, ...(unknown.length > 0 ? { unknownRecipients: unknown } : {}) }))
  })
}
