import type { FastifyInstance } from 'fastify'
import { sentDeliveries } from '../../../store/sent-documents.js'
import { ok } from '../../../vdxp/vdxp-answer.js'
import { sendVdxp } from '../../plugins/vdxp-answers.js'
import { vdxpCallerOf } from '../../scopes/vdxp-authenticator.js'
import type { HubContext } from '../../hub-context.js'
import { hubId, kindOf, messageType } from './parameters.js'

/** At most this many recipient rows per getSentEdocList answer (newest documents first). */
export const SENT_LIST_LIMIT = 1000

/** Delivery states as the sender's clerk reads them. */
const SEND_DESC: Record<string, string> = {
  queued: 'Đang chờ gửi',
  sending: 'Đang gửi',
  waiting_retry: 'Gửi chưa thành công, sẽ gửi lại',
  delivered: 'Đã gửi đến đơn vị nhận',
  available: 'Đơn vị nhận chưa tải về',
  downloaded: 'Đơn vị nhận đã tải về',
  acknowledged: 'Đơn vị nhận đã xác nhận',
  failed: 'Gửi không thành công',
  cancelled: 'Đã hủy gửi'
}

/** The status codes of domain.md (what the recipient's clerk did with the document). */
export const RECEIVE_DESC: Record<string, string> = {
  '01': 'Đã đến',
  '02': 'Từ chối tiếp nhận',
  '03': 'Đã tiếp nhận',
  '04': 'Phân công',
  '05': 'Đang xử lý',
  '06': 'Hoàn thành',
  13: 'Lấy lại',
  15: 'Đồng ý cập nhật/lấy lại',
  16: 'Từ chối cập nhật/lấy lại'
}

/**
 * getSentEdocList: per recipient of each document the system's agencies sent, its delivery state
 * (sendStatus) and the recipient's latest status code (receiveStatus, domain.md 01-16; 01 "arrived"
 * once the delivery is made and nothing later was answered). senderDocId is the hub's document id
 * (sendEdoc's DocId), receiverDocId the recipient's delivery id. With docId: that document only.
 */
export default async function sentOps (app: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const ctx = options.context
  app.post('/getSentEdocList', async (request, reply) => {
    const caller = vdxpCallerOf(request)
    const kind = kindOf(caller)
    const given = caller.params.get('docId')?.trim()
    const documentId = given != null && given !== '' ? hubId(caller) : undefined
    const rows = await sentDeliveries(ctx.db, caller.agencies, { ...(documentId != null ? { documentId } : {}), ...(kind != null ? { kind } : {}), limit: SENT_LIST_LIMIT })
    const data = rows.map((r) => {
      const arrived = r.state === 'delivered' || r.state === 'acknowledged'
      const receiveStatus = r.status_code ?? (arrived ? '01' : undefined)
      const receivedTime = r.status_at ?? r.delivered_at
      return {
        serviceType: 'eDoc',
        messageType: messageType(r.kind),
        senderDocId: r.document_id,
        receiverDocId: r.delivery_id,
        fromCode: r.sender_code,
        toCode: r.recipient_code,
        ...(r.subject != null ? { title: r.subject } : {}),
        ...(r.notation != null ? { notation: r.notation } : {}),
        sentTime: r.accepted_at.toISOString(),
        ...(receivedTime != null ? { receivedTime: receivedTime.toISOString() } : {}),
        sendStatus: r.state,
        sendStatusDesc: SEND_DESC[r.state] ?? r.state,
        ...(receiveStatus != null ? { receiveStatus, receiveStatusDesc: RECEIVE_DESC[receiveStatus] ?? receiveStatus } : {})
      }
    })
    return await sendVdxp(reply, ok({ data }))
  })
}
