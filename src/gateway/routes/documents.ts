import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { canRead, canReadBytes, getDocumentView, getRaw, getReceiptVisibleTo, type DocumentView as View } from '../../store/documents.js'
import { HubProblem } from '../../errors/problem.js'
import type { Queryable } from '../../db/database.js'
import { sentToUpstream } from '../../store/upstream-exchange.js'
import { agencyOf } from '../scopes/agency-authenticator.js'
import { commonErrors } from '../schemas/problem.js'
import { DocumentAccepted, DocumentIdParams, DocumentView, ReceiptParams } from '../schemas/documents.js'
import type { HubContext } from '../hub-context.js'
import { submitDocument } from '../submit-document.js'

/** Documents, in the /v1 scope (paths relative to it): the agency is authenticated before a handler runs. */
export default async function documentRoutes (fastify: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const ctx = options.context

  app.post('/documents', {
    schema: {
      summary: 'Submit a signed edXML document or status message',
      description: 'Body: the signed edXML bytes (application/xml or application/octet-stream). 202 when accepted, ' +
        '200 with the original answer for a duplicate; rejections are problem+json with a stable code and the signature-log entry id.',
      tags: ['documents'],
      response: {
        200: DocumentAccepted,
        202: DocumentAccepted,
        ...commonErrors,
        413: Type.Ref('Problem'),
        415: Type.Ref('Problem'),
        422: Type.Ref('Problem')
        // 503 (verification pool full, in-flight bytes, dependency outage) comes from commonErrors.
      }
    }
  }, async (request, reply) => {
    const auth = agencyOf(request)
    const bytes = request.body
    if (!Buffer.isBuffer(bytes)) {
      ctx.metrics?.documentRejected('UNSUPPORTED_MEDIA_TYPE')
      throw new HubProblem('UNSUPPORTED_MEDIA_TYPE', 'send the edXML bytes as application/xml or application/octet-stream')
    }
    const outcome = await submitDocument(ctx, request, { bytes, auth })
    reply.header('location', `/v1/documents/${outcome.documentId}`)
    if (outcome.outcome === 'duplicate') {
      const view = await getDocumentView(ctx.db, outcome.documentId)
      return await reply.code(200).send({
        id: outcome.documentId,
        kind: (view?.kind ?? 'document') as 'document' | 'status',
        duplicate: true,
        signatureLogEntry: outcome.originalSignatureLogId,
        receipt: outcome.receipt,
        recipients: (view?.deliveries ?? []).map((d) => ({ code: d.recipient, deliveryId: d.id, mode: d.mode }))
      })
    }
    return await reply.code(202).send({
      id: outcome.documentId,
      kind: outcome.kind,
      duplicate: false,
      signatureLogEntry: outcome.signatureLogId,
      receipt: outcome.receipt,
      recipients: outcome.recipients
    })
  })

  const readable = async (id: string, agency: string): Promise<void> => {
    // Same answer for "does not exist" and "not yours": existence is not disclosed.
    if (!(await canRead(ctx.db, id, agency))) throw new HubProblem('NOT_FOUND', `no document ${id} visible to ${agency}`)
  }

  app.get('/documents/:id', {
    schema: { summary: 'Document metadata and per-recipient delivery state', tags: ['documents'], params: DocumentIdParams, response: { 200: DocumentView, ...commonErrors } }
  }, async (request) => {
    const auth = agencyOf(request)
    await readable(request.params.id, auth.agencyCode)
    const view = await getDocumentView(ctx.db, request.params.id)
    if (view == null) throw new HubProblem('NOT_FOUND', `no document ${request.params.id}`)
    return visibleTo(await withUpstreamState(ctx.db, view), auth.agencyCode)
  })

  app.get('/documents/:id/receipts/:kind', {
    schema: { summary: 'A hub-signed receipt (XML-DSig) for the document', tags: ['documents'], params: ReceiptParams, response: { 200: Type.String(), ...commonErrors } }
  }, async (request, reply) => {
    const auth = agencyOf(request)
    await readable(request.params.id, auth.agencyCode)
    const xml = await getReceiptVisibleTo(ctx.db, request.params.id, request.params.kind, auth.agencyCode)
    if (xml == null) throw new HubProblem('NOT_FOUND', `no ${request.params.kind} receipt for document ${request.params.id}`)
    return await reply.type('application/xml; charset=utf-8').send(xml)
  })

  app.get('/documents/:id/raw', {
    schema: { summary: 'The stored signed bytes, exactly as received', tags: ['documents'], params: DocumentIdParams, response: { 200: Type.Any(), ...commonErrors, 410: Type.Ref('Problem') } }
  }, async (request, reply) => {
    const auth = agencyOf(request)
    // Same answer as for a document that does not exist: a cancelled recipient learns nothing more.
    if (!(await canReadBytes(ctx.db, request.params.id, auth.agencyCode))) throw new HubProblem('NOT_FOUND', `no document ${request.params.id} visible to ${auth.agencyCode}`)
    const raw = await getRaw(ctx.db, request.params.id)
    if (raw == null) throw new HubProblem('CONTENT_EXPIRED', `the bytes of document ${request.params.id} were removed after the retention period; its digest, receipts and signature-log entries remain`)
    return await reply.type('application/xml').header('content-disposition', `attachment; filename="${request.params.id}.edxml"`).send(raw)
  })
}

/** Deliveries sent to an upstream axis carry the upstream's id of the document and its state there. */
async function withUpstreamState (db: Queryable, view: View): Promise<View> {
  const sent = new Map((await sentToUpstream(db, view.deliveries.map((d) => d.id))).map((s) => [s.delivery_id, s]))
  if (sent.size === 0) return view
  return {
    ...view,
    deliveries: view.deliveries.map((d) => {
      const s = sent.get(d.id)
      return s == null
        ? d
        : {
            ...d,
            upstream: {
              id: s.upstream_id,
              docId: s.upstream_doc_id,
              sentAt: s.sent_at.toISOString(),
              sendStatus: s.send_status,
              receiveStatus: s.receive_status,
              receiveStatusDesc: s.receive_status_desc,
              checkedAt: s.checked_at?.toISOString() ?? null
            }
          }
    })
  }
}

/**
 * What `agency` sees of a document: its sender everything; a recipient only its own delivery
 * (state, attempts, last error), its own status messages, the acceptance receipt and the
 * receipts of its own delivery, and the receipts it signed itself: never what happened to the
 * other recipients of the same document.
 */
export function visibleTo (view: View, agency: string): View {
  if (view.sender === agency) return view
  const mine = new Set(view.deliveries.filter((d) => d.recipient === agency).map((d) => d.id))
  return {
    ...view,
    deliveries: view.deliveries.filter((d) => mine.has(d.id)),
    statusEvents: view.statusEvents.filter((e) => e.recipient === agency),
    receipts: view.receipts.filter((r) => r.deliveryId == null || mine.has(r.deliveryId)),
    recipientReceipts: view.recipientReceipts.filter((r) => mine.has(r.deliveryId)),
    forwarded: view.forwarded.filter((f) => mine.has(f.deliveryId))
  }
}
