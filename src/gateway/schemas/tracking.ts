import { Type, type Static } from '@sinclair/typebox'
import { HubId } from './hub-id.js'
import { NOT_YEAR_ZERO } from './signature-log.js'

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()])
const Agency = (description: string): ReturnType<typeof Type.String> => Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9.]+$', description })
const DELIVERY_STATES = ['queued', 'sending', 'waiting_retry', 'delivered', 'failed', 'cancelled', 'available', 'downloaded', 'acknowledged'] as const

export const TrackingQuery = Type.Object({
  direction: Type.Union([Type.Literal('sent'), Type.Literal('received')], { description: 'documents the agency sent, or received' }),
  agency: Type.Optional(Agency('the agency (a clerk: only its own, which is the default; auditors and admins: any, or none for all)')),
  from: Type.Optional(Type.String({ format: 'date-time', pattern: NOT_YEAR_ZERO, description: 'accepted (received: delivered to the agency) at or after' })),
  to: Type.Optional(Type.String({ format: 'date-time', pattern: NOT_YEAR_ZERO, description: 'before (exclusive)' })),
  counterpart: Type.Optional(Agency('sent: a recipient; received: the sender')),
  state: Type.Optional(Type.Union(DELIVERY_STATES.map((s) => Type.Literal(s)), { description: 'sent: some recipient\'s delivery is in this state (with counterpart: that recipient\'s); received: the agency\'s own' })),
  statusCode: Type.Optional(Type.String({ pattern: '^(0[1-9]|1[0-6])$', description: 'a status message 01-16 about the document' })),
  number: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Số (CodeNumber), exactly' })),
  notation: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'part of the Ký hiệu (CodeNotation), any case' })),
  subject: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'part of the subject (trích yếu), any case' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  after: Type.Optional(Type.String({ maxLength: 200, description: 'the `next` cursor of the previous page' }))
}, { additionalProperties: false })
export type TrackingQuery = Static<typeof TrackingQuery>

const Recipient = Type.Object({
  deliveryId: Type.String(),
  recipient: Type.String(),
  mode: Type.String(),
  state: Type.String(),
  attempts: Type.Integer(),
  lastError: Nullable(Type.String()),
  deliveredAt: Nullable(Type.String()),
  updatedAt: Type.String(),
  latestStatus: Type.Union([Type.Object({ code: Type.String(), description: Nullable(Type.String()), at: Type.String() }), Type.Null()])
})

export const TrackingPage = Type.Object({
  documents: Type.Array(Type.Object({
    id: Type.String(),
    edxmlDocumentId: Nullable(Type.String()),
    sender: Type.String(),
    number: Nullable(Type.String()),
    notation: Nullable(Type.String()),
    subject: Nullable(Type.String()),
    acceptedAt: Type.String(),
    recipients: Type.Array(Recipient, { description: 'sent: every recipient; received: the agency\'s own delivery' })
  })),
  next: Nullable(Type.String({ description: 'pass as `after` for the next (older) page' }))
})

export const DocumentIdParams = Type.Object({ id: HubId() })

export const Timeline = Type.Object({
  id: Type.String(),
  sender: Type.String(),
  edxmlDocumentId: Nullable(Type.String()),
  number: Nullable(Type.String()),
  notation: Nullable(Type.String()),
  subject: Nullable(Type.String()),
  acceptedAt: Type.String(),
  acceptanceReceiptId: Nullable(Type.String()),
  recipients: Type.Array(Type.Object({
    deliveryId: Type.String(),
    recipient: Type.String(),
    mode: Type.String(),
    state: Type.String(),
    attempts: Type.Integer(),
    lastError: Nullable(Type.String()),
    events: Type.Array(Type.Object({
      at: Type.String(),
      kind: Type.String({ description: 'accepted, queued, available, retry-scheduled (an attempt failed: detail says why), delivered, downloaded, acknowledged, failed, resent, cancelled, delivery-receipt, failure-receipt, recipient-receipt, status' }),
      actor: Nullable(Type.String()),
      detail: Nullable(Type.String()),
      statusCode: Type.Optional(Type.String()),
      staff: Type.Optional(Type.Object({
        department: Type.Optional(Type.String()),
        staff: Type.Optional(Type.String()),
        email: Type.Optional(Type.String()),
        mobile: Type.Optional(Type.String())
      }, { description: 'status messages: StaffInfo of the recipient\'s message (who acted), as far as it carries it' })),
      receiptId: Type.Optional(Type.String({ description: 'GET /api/receipts/{receiptId} for the signed XML' })),
      statusDocumentId: Type.Optional(Type.String())
    }))
  }))
})

export const ResendAnswer = Type.Object({ deliveryId: Type.String(), state: Type.String() })
