import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { resendDelivery } from '../../../delivery/operator-controls.js'
import { HubProblem } from '../../../errors/problem.js'
import { recordAudit } from '../../../store/admin-audit.js'
import { deliveryParties, documentParties, documentTimeline, listTracked, receiptById } from '../../../store/tracking.js'
import type { HubContext } from '../../hub-context.js'
import { auditActorOf } from '../../scopes/audit-actor.js'
import { agencyFilterFor, assertMayReadDocument, mayReadReceipt, principalOf, requireRole } from '../../scopes/role-guard.js'
import { commonErrors } from '../../schemas/problem.js'
import { DocumentIdParams, ResendAnswer, Timeline, TrackingPage, TrackingQuery } from '../../schemas/tracking.js'

const TAGS = ['clerk: tracking']

/**
 * Document tracking for people: clerks see their own agency's sent and received documents
 * (another agency's document by id is 404, the answer for one that does not exist); auditors and
 * admins read every agency's. Resend is a change: clerks (their agency's sent documents) and
 * admins, never auditors (read-only).
 */
export default async function trackingRoutes (fastify: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const ctx = options.context

  app.get('/documents', {
    schema: { summary: 'Sent or received documents with per-recipient delivery state and the latest status, filtered, newest first (`next` -> `after`)', tags: TAGS, querystring: TrackingQuery, response: { 200: TrackingPage, ...commonErrors } }
  }, async (request) => {
    const { direction, agency, limit, after, ...rest } = request.query
    const scoped = agencyFilterFor(principalOf(request), agency)
    const filter = { agency: scoped, direction, ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) }
    const page = await listTracked(ctx.db, filter, { limit: limit ?? 50, ...(after != null ? { after } : {}) })
    if (page === 'bad-cursor') throw new HubProblem('BAD_REQUEST', `the \`after\` cursor is not one this hub issued for the ${direction} list`)
    return page
  })

  app.get('/documents/:id/timeline', {
    schema: { summary: 'A document\'s journey per recipient: accepted, queued, attempts with errors, delivered/acknowledged, receipts, status messages 01-16', tags: TAGS, params: DocumentIdParams, response: { 200: Timeline, ...commonErrors } }
  }, async (request) => {
    const principal = principalOf(request)
    const parties = await documentParties(ctx.db, request.params.id)
    if (parties == null) throw new HubProblem('NOT_FOUND', `no document ${request.params.id}`)
    assertMayReadDocument(principal, parties, `document ${request.params.id}`)
    // A clerk of a recipient agency sees its own delivery, not the other recipients'.
    const onlyRecipient = principal.role === 'clerk' && parties.sender !== principal.agencyCode ? principal.agencyCode : null
    const timeline = await documentTimeline(ctx.db, request.params.id, onlyRecipient)
    if (timeline == null) throw new HubProblem('NOT_FOUND', `no document ${request.params.id}`)
    return timeline
  })

  app.get('/receipts/:id', {
    schema: {
      summary: 'One receipt as the signed XML: the hub\'s acceptance, delivery or failure receipt, or a recipient\'s own signed receipt',
      tags: TAGS,
      params: DocumentIdParams,
      produces: ['application/xml'],
      response: { 200: Type.String({ description: 'the signed XML, byte for byte as issued or received' }), ...commonErrors }
    }
  }, async (request, reply) => {
    const principal = principalOf(request)
    const receipt = await receiptById(ctx.db, request.params.id)
    // A receipt the clerk may not see is 404, like an unknown id.
    const visible = receipt != null && await mayReadReceipt(principal, receipt, async () => (await documentParties(ctx.db, receipt.documentId))?.recipients ?? [])
    if (receipt == null || !visible) throw new HubProblem('NOT_FOUND', `no receipt ${request.params.id}`)
    return await reply.type('application/xml; charset=utf-8')
      .header('content-disposition', `attachment; filename="${receipt.kind}-receipt-${request.params.id}.xml"`)
      .send(receipt.xml)
  })

  app.post('/deliveries/:id/resend', {
    onRequest: requireRole('clerk', 'admin'),
    schema: { summary: 'Resend a failed (or cancelled) delivery: push starts over with a fresh retry window, pull becomes available again', tags: TAGS, params: DocumentIdParams, response: { 200: ResendAnswer, ...commonErrors, 409: Type.Ref('Problem') } }
  }, async (request) => {
    const principal = principalOf(request)
    const parties = await deliveryParties(ctx.db, request.params.id)
    // Only the sending agency resends (a recipient's clerk cannot make the hub push at itself).
    if (parties == null || (principal.role === 'clerk' && parties.sender !== principal.agencyCode)) throw new HubProblem('NOT_FOUND', `no delivery ${request.params.id}`)
    // The audit row is written in the resend's own transaction: no resend without its record.
    const result = await resendDelivery(ctx.db, ctx.queue, request.params.id, `user:${principal.username}`, undefined, async (tx, state) => {
      await recordAudit(tx, auditActorOf(request), { action: 'delivery.resend', target: `delivery:${request.params.id}`, after: { state, document: parties.documentId, recipient: parties.recipient } })
    })
    if (!result.ok) throw new HubProblem(result.reason === 'not-found' ? 'NOT_FOUND' : 'CONFLICT', result.detail)
    return { deliveryId: request.params.id, state: result.state }
  })
}
