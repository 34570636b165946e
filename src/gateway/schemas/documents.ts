import { Type } from '@sinclair/typebox'
import { HubId } from './hub-id.js'

export const DocumentIdParams = Type.Object({ id: HubId() })

export const ReceiptParams = Type.Object({
  id: HubId(),
  kind: Type.Union([Type.Literal('acceptance'), Type.Literal('delivery'), Type.Literal('failure')])
})

const RecipientOutcome = Type.Object({
  code: Type.String(),
  deliveryId: Type.Optional(Type.String()),
  mode: Type.Optional(Type.String()),
  route: Type.Optional(Type.Object({
    kind: Type.Union([Type.Literal('local'), Type.Literal('peer'), Type.Literal('upstream')]),
    target: Type.Optional(Type.String({ description: 'the peer hub id or upstream id' })),
    source: Type.String({ description: 'agency | explicit | directory | prefix | default' }),
    rule: Type.String({ description: 'the rule that matched: the code, a prefix such as H98, or *' })
  })),
  error: Type.Optional(Type.String())
})

export const DocumentAccepted = Type.Object({
  id: Type.String({ description: 'the hub document id' }),
  kind: Type.Union([Type.Literal('document'), Type.Literal('status')]),
  duplicate: Type.Boolean({ description: 'true when this is the original answer to a repeated submission' }),
  signatureLogEntry: Type.Integer(),
  receipt: Type.String({ description: 'hub-signed acceptance receipt (XML-DSig)' }),
  recipients: Type.Array(RecipientOutcome)
})

export const DocumentView = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  sender: Type.String(),
  edxmlDocumentId: Type.Union([Type.String(), Type.Null()]),
  digestSha256: Type.String(),
  sizeBytes: Type.Integer(),
  acceptedAt: Type.String(),
  envelope: Type.Object({}, { additionalProperties: true }),
  flags: Type.Array(Type.String()),
  responseForDocumentId: Type.Union([Type.String(), Type.Null()]),
  businessDocType: Type.Union([Type.String(), Type.Null()], { description: '0 new, 1 recall, 2 update, 3 replace' }),
  changesDocumentId: Type.Union([Type.String(), Type.Null()], { description: 'for 1-3: the earlier document this one changes' }),
  deliveries: Type.Array(Type.Object({
    id: Type.String(),
    recipient: Type.String(),
    mode: Type.String(),
    state: Type.String(),
    attempts: Type.Integer(),
    lastError: Type.Union([Type.String(), Type.Null()]),
    updatedAt: Type.String(),
    upstream: Type.Optional(Type.Object({
      id: Type.String({ description: 'the upstream axis the delivery went to (registry /upstreams)' }),
      docId: Type.String({ description: 'the document\'s id there (sendEdoc DocId)' }),
      sentAt: Type.String(),
      sendStatus: Type.Union([Type.String(), Type.Null()], { description: 'getSentEdocList sendStatus, as last read' }),
      receiveStatus: Type.Union([Type.String(), Type.Null()], { description: 'getSentEdocList receiveStatus (01-16), as last read' }),
      receiveStatusDesc: Type.Union([Type.String(), Type.Null()]),
      checkedAt: Type.Union([Type.String(), Type.Null()])
    }, { description: 'for a delivery routed to an upstream VDXP axis: its state there' }))
  })),
  statusEvents: Type.Array(Type.Object({
    recipient: Type.String(),
    statusCode: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    recordedAt: Type.String(),
    statusDocumentId: Type.String()
  })),
  receipts: Type.Array(Type.Object({ kind: Type.String(), deliveryId: Type.Union([Type.String(), Type.Null()]), createdAt: Type.String() })),
  recipientReceipts: Type.Array(Type.Object({
    deliveryId: Type.String(),
    recipient: Type.String(),
    verified: Type.Boolean({ description: 'signed by the recipient agency\'s registered certificate, chain and revocation checked' }),
    reasonCode: Type.Union([Type.String(), Type.Null()], { description: 'why it did not verify' }),
    signerSubject: Type.Union([Type.String(), Type.Null()]),
    signatureLogEntry: Type.Union([Type.Integer(), Type.Null()]),
    receivedAt: Type.String()
  }), { description: 'receipts the recipients signed themselves and returned with a push' }),
  hops: Type.Optional(Type.Array(Type.Object({ hub: Type.String(), at: Type.String() }), {
    description: 'a document forwarded by a peer hub: the hubs it went through before this one, oldest first (this hub\'s acceptance is acceptedAt)'
  })),
  receivedFromHub: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'the peer hub that forwarded it here (statuses go back to it)' })),
  forwarded: Type.Optional(Type.Array(Type.Object({
    deliveryId: Type.String(),
    recipient: Type.String(),
    peerHub: Type.String({ description: 'the hub the delivery was forwarded to' }),
    peerDocumentId: Type.Union([Type.String(), Type.Null()]),
    receiptVerified: Type.Union([Type.Boolean(), Type.Null()], { description: 'the peer\'s acceptance receipt verified against its pinned signing certificate; null: not forwarded yet' }),
    reasonCode: Type.Union([Type.String(), Type.Null()]),
    receipt: Type.Union([Type.String(), Type.Null()], { description: 'the peer hub\'s signed acceptance receipt (XML-DSig)' }),
    receivedAt: Type.Union([Type.String(), Type.Null()])
  }), { description: 'deliveries forwarded to peer hubs, each with that hop\'s receipt' }))
})
