import { ContentExpiredError } from '../../store/documents.js'
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { acknowledge, downloadInboxItem, listInbox } from '../../delivery/inbox.js'
import { cancelDelivery, resendDelivery } from '../../delivery/operator-controls.js'
import { getReceiptXml, listReceipts } from '../../delivery/receipt-feed.js'
import { HubProblem } from '../../errors/problem.js'
import { agencyOf } from '../scopes/agency-authenticator.js'
import { commonErrors } from '../schemas/problem.js'
import { AckBody, DeliveryParams, DeliveryStateAnswer, InboxPage, InboxQuery, ReceiptFeed, ReceiptIdParams } from '../schemas/inbox.js'
import type { HubContext } from '../hub-context.js'

/**
 * A cursor as this hub issues them (delivery/inbox.ts encodeCursor): base64url of
 * `<timestamp to the microsecond>Z|<uuid>`. Anything else is refused here, before a query
 * could choke on it (a 500 before).
 */
export function isHubCursor (cursor: string): boolean {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return false
  const decoded = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'))
  if (decoded == null) return false
  const at = decoded[1] as string
  const parsed = new Date(at.slice(0, 23) + 'Z')
  // A real instant, written the way it reads (no month 13, no 31 February).
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 23) === at.slice(0, 23)
}

/**
 * A fail-ack reason goes into the delivery trail and the hub-signed failure notice (XML): only
 * XML 1.0 characters, and no control characters but tab, line feed and carriage return.
 */
export function isPlainReason (reason: string): boolean {
  return /^[\t\n\r\u0020-\u007E\u00A0-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u.test(reason)
}

const checkCursor = (after: string | undefined): void => {
  if (after != null && !isHubCursor(after)) throw new HubProblem('BAD_REQUEST', 'the `after` cursor is not one this hub issued')
}

/**
 * Pull delivery (what VDXP clients do today) and the sender's delivery controls, in the /v1
 * scope (paths relative to it): the agency is authenticated before a handler runs.
 */
export default async function inboxRoutes (fastify: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const ctx = options.context

  app.get('/inbox', {
    schema: { summary: 'Documents and status messages waiting for the authenticated agency (keyset-paginated)', tags: ['inbox'], querystring: InboxQuery, response: { 200: InboxPage, ...commonErrors } }
  }, async (request) => {
    const auth = agencyOf(request)
    checkCursor(request.query.after)
    const page = await listInbox(ctx.db, auth.agencyCode, request.query.after, request.query.limit ?? 100)
    if (page === 'bad-cursor') throw new HubProblem('BAD_REQUEST', 'the `after` cursor is not one this hub issued')
    return page
  })

  app.get('/inbox/:deliveryId', {
    schema: { summary: 'The signed bytes of an inbox item (marks it downloaded)', tags: ['inbox'], params: DeliveryParams, response: { 200: Type.Any(), ...commonErrors, 410: Type.Ref('Problem') } }
  }, async (request, reply) => {
    const auth = agencyOf(request)
    // Fastify answers HEAD with this handler: a HEAD sends no bytes, so it is not a download.
    const bytes = await downloadInboxItem(ctx.db, auth.agencyCode, request.params.deliveryId, { markDownloaded: request.method !== 'HEAD' }).catch((err: unknown) => {
      if (err instanceof ContentExpiredError) throw new HubProblem('CONTENT_EXPIRED', `${err.message}; the delivery and its receipts remain`)
      throw err
    })
    if (bytes == null) throw new HubProblem('NOT_FOUND', `no inbox item ${request.params.deliveryId} for ${auth.agencyCode}`)
    return await reply.type('application/xml').header('idempotency-key', request.params.deliveryId).send(bytes)
  })

  app.post('/inbox/:deliveryId/ack', {
    // A small JSON object: no reason to read megabytes of it.
    bodyLimit: 64 * 1024,
    schema: { summary: 'Acknowledge an inbox item: done or fail (+ reason); idempotent', tags: ['inbox'], params: DeliveryParams, body: AckBody, response: { 200: DeliveryStateAnswer, ...commonErrors, 409: Type.Ref('Problem') } }
  }, async (request) => {
    const auth = agencyOf(request)
    if (request.body.reason != null && !isPlainReason(request.body.reason)) {
      throw new HubProblem('BAD_REQUEST', 'the reason may hold no control characters (other than tab and line breaks) and only characters XML allows')
    }
    const result = await acknowledge(ctx.db, ctx.hub, auth.agencyCode, request.params.deliveryId, request.body.result, request.body.reason)
    if (result === 'not-found') throw new HubProblem('NOT_FOUND', `no inbox item ${request.params.deliveryId} for ${auth.agencyCode}`)
    if ('conflict' in result) throw new HubProblem('CONFLICT', result.conflict)
    ctx.metrics?.deliveryAttempted(request.params.deliveryId, result, 'pull')
    return { deliveryId: request.params.deliveryId, state: result.state, changed: result.changed }
  })

  app.get('/receipts', {
    schema: { summary: 'Delivery receipts and failure notices for the documents the agency sent (keyset-paginated)', tags: ['receipts'], querystring: InboxQuery, response: { 200: ReceiptFeed, ...commonErrors } }
  }, async (request) => {
    const auth = agencyOf(request)
    checkCursor(request.query.after)
    const page = await listReceipts(ctx.db, auth.agencyCode, request.query.after, request.query.limit ?? 100)
    if (page === 'bad-cursor') throw new HubProblem('BAD_REQUEST', 'the `after` cursor is not one this hub issued')
    return page
  })

  app.get('/receipts/:receiptId', {
    schema: { summary: 'One hub-signed receipt (XML-DSig)', tags: ['receipts'], params: ReceiptIdParams, response: { 200: Type.String(), ...commonErrors } }
  }, async (request, reply) => {
    const auth = agencyOf(request)
    const xml = await getReceiptXml(ctx.db, auth.agencyCode, request.params.receiptId)
    if (xml == null) throw new HubProblem('NOT_FOUND', `no receipt ${request.params.receiptId} for ${auth.agencyCode}`)
    return await reply.type('application/xml; charset=utf-8').send(xml)
  })

  for (const action of ['resend', 'cancel'] as const) {
    app.post(`/deliveries/:deliveryId/${action}`, {
      schema: {
        summary: action === 'resend' ? 'Resend a failed delivery (sender only)' : 'Cancel a delivery not yet made (sender only)',
        tags: ['deliveries'],
        params: DeliveryParams,
        response: { 200: DeliveryStateAnswer, ...commonErrors, 409: Type.Ref('Problem') }
      }
    }, async (request) => {
      const auth = agencyOf(request)
      const run = action === 'resend' ? resendDelivery : cancelDelivery
      const result = await run(ctx.db, ctx.queue, request.params.deliveryId, `agency:${auth.agencyCode}`, auth.agencyCode)
      if (!result.ok) throw new HubProblem(result.reason === 'not-found' ? 'NOT_FOUND' : 'CONFLICT', result.detail)
      return { deliveryId: request.params.deliveryId, state: result.state }
    })
  }
}
