import { ContentExpiredError } from '../../delivery/delivery-store.js'
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { acknowledge, downloadInboxItem, listInbox } from '../../delivery/inbox.js'
import { cancelDelivery, resendDelivery } from '../../delivery/operator-controls.js'
import { getReceiptXml, listReceipts } from '../../delivery/receipt-feed.js'
import { HubProblem } from '../problem.js'
import { commonErrors } from '../schemas/problem.js'
import { AckBody, DeliveryParams, DeliveryStateAnswer, InboxPage, InboxQuery, ReceiptFeed, ReceiptIdParams } from '../schemas/inbox.js'
import type { HubContext } from '../hub-context.js'

/** Pull delivery (what VDXP clients do today) and the sender's delivery controls. */
export default async function inboxRoutes (fastify: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const ctx = options.context

  app.get('/v1/inbox', {
    schema: { summary: 'Documents and status messages waiting for the authenticated agency (keyset-paginated)', tags: ['inbox'], querystring: InboxQuery, response: { 200: InboxPage, ...commonErrors } }
  }, async (request) => {
    const auth = await app.requireAgency(request)
    const page = await listInbox(ctx.db, auth.agencyCode, request.query.after, request.query.limit ?? 100)
    if (page === 'bad-cursor') throw new HubProblem('BAD_REQUEST', 'the `after` cursor is not one this hub issued')
    return page
  })

  app.get('/v1/inbox/:deliveryId', {
    schema: { summary: 'The signed bytes of an inbox item (marks it downloaded)', tags: ['inbox'], params: DeliveryParams, response: { 200: Type.Any(), ...commonErrors, 410: Type.Ref('Problem') } }
  }, async (request, reply) => {
    const auth = await app.requireAgency(request)
    const bytes = await downloadInboxItem(ctx.db, auth.agencyCode, request.params.deliveryId).catch((err: unknown) => {
      if (err instanceof ContentExpiredError) throw new HubProblem('CONTENT_EXPIRED', `${err.message}; the delivery and its receipts remain`)
      throw err
    })
    if (bytes == null) throw new HubProblem('NOT_FOUND', `no inbox item ${request.params.deliveryId} for ${auth.agencyCode}`)
    return await reply.type('application/xml').header('idempotency-key', request.params.deliveryId).send(bytes)
  })

  app.post('/v1/inbox/:deliveryId/ack', {
    schema: { summary: 'Acknowledge an inbox item: done or fail (+ reason); idempotent', tags: ['inbox'], params: DeliveryParams, body: AckBody, response: { 200: DeliveryStateAnswer, ...commonErrors, 409: Type.Ref('Problem') } }
  }, async (request) => {
    const auth = await app.requireAgency(request)
    const result = await acknowledge(ctx.db, ctx.hub, auth.agencyCode, request.params.deliveryId, request.body.result, request.body.reason)
    if (result === 'not-found') throw new HubProblem('NOT_FOUND', `no inbox item ${request.params.deliveryId} for ${auth.agencyCode}`)
    if ('conflict' in result) throw new HubProblem('CONFLICT', result.conflict)
    ctx.metrics?.deliveryAttempted(request.params.deliveryId, result, 'pull')
    return { deliveryId: request.params.deliveryId, state: result.state, changed: result.changed }
  })

  app.get('/v1/receipts', {
    schema: { summary: 'Delivery receipts and failure notices for the documents the agency sent (keyset-paginated)', tags: ['receipts'], querystring: InboxQuery, response: { 200: ReceiptFeed, ...commonErrors } }
  }, async (request) => {
    const auth = await app.requireAgency(request)
    const page = await listReceipts(ctx.db, auth.agencyCode, request.query.after, request.query.limit ?? 100)
    if (page === 'bad-cursor') throw new HubProblem('BAD_REQUEST', 'the `after` cursor is not one this hub issued')
    return page
  })

  app.get('/v1/receipts/:receiptId', {
    schema: { summary: 'One hub-signed receipt (XML-DSig)', tags: ['receipts'], params: ReceiptIdParams, response: { 200: Type.String(), ...commonErrors } }
  }, async (request, reply) => {
    const auth = await app.requireAgency(request)
    const xml = await getReceiptXml(ctx.db, auth.agencyCode, request.params.receiptId)
    if (xml == null) throw new HubProblem('NOT_FOUND', `no receipt ${request.params.receiptId} for ${auth.agencyCode}`)
    return await reply.type('application/xml; charset=utf-8').send(xml)
  })

  for (const action of ['resend', 'cancel'] as const) {
    app.post(`/v1/deliveries/:deliveryId/${action}`, {
      schema: {
        summary: action === 'resend' ? 'Resend a failed delivery (sender only)' : 'Cancel a delivery not yet made (sender only)',
        tags: ['deliveries'],
        params: DeliveryParams,
        response: { 200: DeliveryStateAnswer, ...commonErrors, 409: Type.Ref('Problem') }
      }
    }, async (request) => {
      const auth = await app.requireAgency(request)
      const run = action === 'resend' ? resendDelivery : cancelDelivery
      const result = await run(ctx.db, ctx.queue, request.params.deliveryId, `agency:${auth.agencyCode}`, auth.agencyCode)
      if (!result.ok) throw new HubProblem(result.reason === 'not-found' ? 'NOT_FOUND' : 'CONFLICT', result.detail)
      return { deliveryId: request.params.deliveryId, state: result.state }
    })
  }
}
