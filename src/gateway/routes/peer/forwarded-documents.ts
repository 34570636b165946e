import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { acceptForwarded } from '../../../accept/accept-forwarded.js'
import { HubProblem } from '../../../errors/problem.js'
import { checkHops, DEFAULT_HOP_LIMIT, HOPS_HEADER, parseHops } from '../../../routing/hops.js'
import { PoolSaturatedError } from '../../../verification/verification-pool.js'
import { peerOf } from '../../scopes/peer-authenticator.js'
import { commonErrors } from '../../schemas/problem.js'
import type { HubContext } from '../../hub-context.js'

/** The peer's Idempotency-Key (its delivery id) and the recipient this hop is for. */
const KEY = /^[A-Za-z0-9._:-]{1,128}$/
const CODE = /^[A-Za-z0-9.-]{1,64}$/

const ForwardAccepted = Type.Object({
  id: Type.String({ description: 'This hub\'s id of the document' }),
  deliveryId: Type.Union([Type.String(), Type.Null()], { description: 'This hub\'s delivery to the recipient (or onward to the next hub)' }),
  hub: Type.String({ description: 'This hub\'s id (LIENTHONG_HUB_ID)' }),
  duplicate: Type.Boolean(),
  receipt: Type.String({ description: 'This hub\'s signed acceptance receipt (XML-DSig): the forwarding hub keeps it as the hop\'s receipt' })
})

/**
 * POST /peer/v1/documents: a peer hub forwards the original signed bytes of a document or status
 * for one recipient (`Lienthong-Recipient`), with the hops so far (`Lienthong-Hops`, itself last)
 * and its delivery id as `Idempotency-Key`. Loops and long journeys are refused before any
 * signature work; the document is then verified here as if its sender had submitted it.
 */
export default async function forwardedDocumentRoutes (fastify: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const ctx = options.context

  app.post('/v1/documents', {
    schema: {
      summary: 'A peer hub forwards a signed edXML document or status message (mutual TLS)',
      tags: ['peer'],
      response: { 200: ForwardAccepted, 202: ForwardAccepted, ...commonErrors, 409: Type.Ref('Problem'), 413: Type.Ref('Problem'), 415: Type.Ref('Problem'), 422: Type.Ref('Problem') }
    }
  }, async (request, reply) => {
    const peer = peerOf(request)
    const hubId = ctx.hubId ?? 'hub'
    const bytes = request.body
    if (!Buffer.isBuffer(bytes)) throw new HubProblem('UNSUPPORTED_MEDIA_TYPE', 'send the edXML bytes as application/xml or application/octet-stream')
    const key = request.headers['idempotency-key']
    if (typeof key !== 'string' || !KEY.test(key)) throw new HubProblem('BAD_REQUEST', 'send the forwarding hub\'s delivery id as Idempotency-Key')
    const recipient = request.headers['lienthong-recipient']
    if (typeof recipient !== 'string' || !CODE.test(recipient)) throw new HubProblem('BAD_REQUEST', 'send the agency code this hop is for as Lienthong-Recipient')
    const parsed = parseHops(request.headers[HOPS_HEADER])
    if (!parsed.ok) throw new HubProblem('HOPS_INVALID', parsed.detail)
    // The last hop is the hub that forwards: the authenticated peer, and no one else.
    if (parsed.hops.at(-1)?.hub !== peer.hubId) throw new HubProblem('HOPS_INVALID', `the last hop must be the forwarding hub ${peer.hubId}, not ${parsed.hops.at(-1)?.hub ?? 'none'}`)
    const check = checkHops(parsed.hops, hubId, ctx.hopLimit ?? DEFAULT_HOP_LIMIT)
    if (!check.ok) throw new HubProblem(check.code, check.detail)

    let outcome
    try {
      outcome = await acceptForwarded({
        db: ctx.db,
        // `forwarded`: a sender the registry does not know comes back with its signer unbound, and
        // acceptForwarded binds it against the origin hub's signed directory.
        verify: async (b) => await (ctx.metrics?.timedVerify(ctx.verify) ?? ctx.verify)(b, { forwarded: true }),
        directory: ctx.peerDirectories,
        queue: ctx.queue,
        hub: ctx.hub,
        hubId,
        routes: ctx.routes,
        onEnqueueError: (err, ids) => request.log.warn({ err, deliveries: ids.length }, 'enqueue failed; the reconciler will retry')
      }, { bytes, peer, hops: parsed.hops, idempotencyKey: key, recipient, requestId: request.id })
    } catch (err) {
      if (err instanceof PoolSaturatedError) throw new HubProblem('BUSY', 'all verification workers are busy and the waiting line is full', { retryAfterSeconds: err.retryAfterSeconds })
      throw err
    }
    if (outcome.outcome === 'rejected') {
      request.log.info({ code: outcome.code, peer: peer.hubId, signatureLogEntry: outcome.signatureLogId }, 'forwarded document rejected')
      throw new HubProblem(outcome.code, outcome.detail, outcome.signatureLogId != null ? { signatureLogEntry: outcome.signatureLogId } : {})
    }
    request.log.info({ document: outcome.documentId, peer: peer.hubId, duplicate: outcome.outcome === 'duplicate' }, 'forwarded document accepted')
    return await reply.code(outcome.outcome === 'duplicate' ? 200 : 202).send({
      id: outcome.documentId, deliveryId: outcome.deliveryId, hub: hubId, duplicate: outcome.outcome === 'duplicate', receipt: outcome.receipt
    })
  })
}
