import { Type } from '@sinclair/typebox'
import { HubId } from './hub-id.js'

export const InboxQuery = Type.Object({
  after: Type.Optional(Type.String({ description: 'cursor from the previous page (`next`)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 }))
})

export const InboxPage = Type.Object({
  items: Type.Array(Type.Object({
    deliveryId: Type.String(),
    documentId: Type.String(),
    kind: Type.String(),
    sender: Type.String(),
    edxmlDocumentId: Type.Union([Type.String(), Type.Null()]),
    subject: Type.Union([Type.String(), Type.Null()]),
    statusCode: Type.Union([Type.String(), Type.Null()]),
    state: Type.String(),
    sizeBytes: Type.Integer(),
    availableAt: Type.String()
  })),
  next: Type.Union([Type.String(), Type.Null()], { description: 'cursor of the next page, null at the end' })
})

export const DeliveryParams = Type.Object({ deliveryId: HubId() })

export const AckBody = Type.Object({
  result: Type.Union([Type.Literal('done'), Type.Literal('fail')]),
  reason: Type.Optional(Type.String({ maxLength: 2000 }))
})

export const DeliveryStateAnswer = Type.Object({ deliveryId: Type.String(), state: Type.String(), changed: Type.Optional(Type.Boolean()) })

export const ReceiptFeed = Type.Object({
  items: Type.Array(Type.Object({
    receiptId: Type.String(),
    kind: Type.String(),
    documentId: Type.String(),
    deliveryId: Type.Union([Type.String(), Type.Null()]),
    recipient: Type.Union([Type.String(), Type.Null()]),
    edxmlDocumentId: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.String()
  })),
  next: Type.Union([Type.String(), Type.Null()])
})

export const ReceiptIdParams = Type.Object({ receiptId: HubId() })
