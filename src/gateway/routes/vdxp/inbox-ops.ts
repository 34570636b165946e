import type { FastifyInstance } from 'fastify'
import { acknowledge, downloadInboxItem, listInbox } from '../../../delivery/inbox.js'
import { ContentExpiredError } from '../../../store/documents.js'
import { loadDelivery } from '../../../store/deliveries.js'
import { countInbox } from '../../../store/inbox.js'
import { ok, VdxpFailure } from '../../../vdxp/vdxp-answer.js'
import { sendVdxp } from '../../plugins/vdxp-answers.js'
import { HubProblem } from '../../../errors/problem.js'
import { vdxpCallerOf, type VdxpCaller } from '../../scopes/vdxp-authenticator.js'
import type { HubContext } from '../../hub-context.js'
import { isPlainReason } from '../inbox.js'
import { hubId, kindOf, messageType, required } from './parameters.js'

/** VDXP has no paging: one answer lists at most this many waiting items per agency of the system. */
export const RECEIVED_LIST_LIMIT = 1000

const STATE_DESC: Record<string, string> = { available: 'Chưa tải về', downloaded: 'Đã tải về, chưa xác nhận' }

/**
 * The pull inbox of the agencies a system serves (src/delivery/inbox.ts): the VDXP docId of a
 * received item is the hub's delivery id, which getEdoc, downloadEdoc and updateStatus take.
 */
export default async function inboxOps (app: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const ctx = options.context

  app.post('/getReceivedEdocList', async (request, reply) => {
    const caller = vdxpCallerOf(request)
    const kind = kindOf(caller)
    const data: Array<Record<string, string>> = []
    for (const agency of caller.agencies) {
      const page = await listInbox(ctx.db, agency, undefined, RECEIVED_LIST_LIMIT)
      if (page === 'bad-cursor') continue
      for (const item of page.items) {
        if (kind != null && item.kind !== kind) continue
        data.push({
          docId: item.deliveryId,
          serviceType: 'eDoc',
          messageType: messageType(item.kind),
          created_time: item.availableAt,
          from: item.sender,
          to: agency,
          status: item.statusCode ?? item.state,
          status_desc: STATE_DESC[item.state] ?? item.state
        })
      }
    }
    return await sendVdxp(reply, ok({ data }))
  })

  /** The delivery behind a docId, when it is a pull delivery to one of the caller's agencies. */
  const mine = async (caller: VdxpCaller, id: string): Promise<string> => {
    const row = await loadDelivery(ctx.db, id)
    if (row == null || row.mode !== 'pull' || !caller.agencies.includes(row.recipient_code)) {
      throw new HubProblem('NOT_FOUND', `no received document ${id} for the agencies of ${caller.systemId}`)
    }
    return row.recipient_code
  }
  /** `head`: a HEAD request sends no bytes, so it does not mark the item downloaded. */
  const bytesOf = async (caller: VdxpCaller, head = false): Promise<{ id: string, bytes: Buffer }> => {
    const id = hubId(caller)
    const recipient = await mine(caller, id)
    const bytes = await downloadInboxItem(ctx.db, recipient, id, { markDownloaded: !head }).catch((err: unknown) => {
      if (err instanceof ContentExpiredError) throw new HubProblem('CONTENT_EXPIRED', `${err.message}; the delivery and its receipts remain`)
      throw err
    })
    if (bytes == null) throw new HubProblem('NOT_FOUND', `no received document ${id} for the agencies of ${caller.systemId}`)
    return { id, bytes }
  }

  app.post('/getEdoc', async (request, reply) => {
    const { bytes } = await bytesOf(vdxpCallerOf(request))
    return await sendVdxp(reply, ok({ data: bytes.toString('base64') }))
  })

  // The SDK saves whatever body comes back as the file (an error answer too): errors stay VDXP JSON.
  app.get('/downloadEdoc', async (request, reply) => {
    const { id, bytes } = await bytesOf(vdxpCallerOf(request), request.method === 'HEAD')
    return await reply.type('application/octet-stream').header('content-disposition', `attachment; filename="${id}.edxml"`).send(bytes)
  })

  app.post('/updateStatus', async (request, reply) => {
    const caller = vdxpCallerOf(request)
    const id = hubId(caller, 'docId', true)
    const status = required(caller, 'status').toLowerCase()
    if (!['done', 'fail', 'processing'].includes(status)) throw new VdxpFailure('BAD_PARAMETER', 'XroadVnpt-status must be done, fail or processing')
    const recipient = await mine(caller, id)
    // processing: the software has the document and works on it; nothing to record yet.
    if (status === 'processing') return await sendVdxp(reply, ok({ state: 'processing' }))
    const reason = caller.params.get('reason') ?? caller.params.get('description')
    if (reason != null && !isPlainReason(reason)) throw new VdxpFailure('BAD_PARAMETER', 'the reason may hold no control characters')
    // Idempotent: the SDK retries POSTs after I/O errors.
    const result = await acknowledge(ctx.db, ctx.hub, recipient, id, status as 'done' | 'fail', reason)
    if (result === 'not-found') throw new HubProblem('NOT_FOUND', `no received document ${id} for the agencies of ${caller.systemId}`)
    if ('conflict' in result) throw new HubProblem('CONFLICT', result.conflict)
    ctx.metrics?.deliveryAttempted(id, result, 'pull')
    return await sendVdxp(reply, ok({ state: result.state }))
  })

  for (const [path, kind] of [['/countReceiveEdoc', 'document'], ['/countReceiveStatus', 'status']] as const) {
    app.post(path, async (request, reply) => {
      const caller = vdxpCallerOf(request)
      return await sendVdxp(reply, ok({ count: await countInbox(ctx.db, caller.agencies, kind) }))
    })
  }
}
