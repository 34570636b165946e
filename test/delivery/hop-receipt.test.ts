import t from 'tap'
import { checkHopReceipt } from '../../src/delivery/peer-forward.js'
import type { ReceiptVerification } from '../../src/evidence/receipts/verify.js'
import type { Receipt } from '../../src/evidence/receipts/format.js'
import type { RouteDelivery } from '../../src/outbound/route-sender.js'
import type { PeerHub } from '../../src/routing/peer-hubs.js'

// What a forwarding hub makes of a peer's 2xx answer (pure logic; the receipt verifier itself is
// tested in test/evidence): only an acceptance of the very bytes forwarded, for the hop's
// recipient, signed by the peer's pinned certificate counts as the hop's receipt.

const DIGEST = 'a'.repeat(64)
const PEER_DOC = '3f1c2b4a-0000-4000-8000-000000000001'
const peer: PeerHub = { hubId: 'hub-2', baseUrl: 'https://127.0.0.1:1', serverPin: { fingerprints: [] }, clientCertificates: [], signingPin: { fingerprintsSha256: ['b'.repeat(64)] } }
const delivery = { deliveryId: 'd', documentId: 'x', kind: 'document', recipientCode: '000.00.00.G12', senderCode: '000.00.00.H41', digestSha256: DIGEST, edxmlDocumentId: null, attempt: 1, target: { kind: 'peer', hubId: 'hub-2' }, rule: null, bytes: async () => Buffer.alloc(0) } satisfies RouteDelivery

const acceptance = (over: Partial<Receipt & { kind: 'acceptance' }> = {}): ReceiptVerification => ({
  ok: true,
  signer: {} as never,
  chain: [],
  fields: { kind: 'acceptance', receiptId: 'r', issuedAt: '2026-05-01T10:00:00Z', hubDocumentId: PEER_DOC, digestSha256: DIGEST, sender: '000.00.00.H41', recipients: ['000.00.00.G12'], signatureLogEntry: '1', ...over } as Receipt
})
const body = (value: unknown): Buffer => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value))

t.test('checkHopReceipt', async (t) => {
  const cases: Array<[string, Buffer | undefined, ReceiptVerification, { ok: boolean, code?: string }]> = [
    ['the peer\'s acceptance of these bytes for this recipient', body({ id: PEER_DOC, receipt: '<Receipt/>' }), acceptance(), { ok: true }],
    ['no body', undefined, acceptance(), { ok: false, code: 'RECEIPT_INVALID' }],
    ['not JSON', body('<html>'), acceptance(), { ok: false, code: 'RECEIPT_INVALID' }],
    ['no receipt in the answer', body({ id: PEER_DOC }), acceptance(), { ok: false, code: 'RECEIPT_INVALID' }],
    ['a receipt that does not verify (e.g. another signer)', body({ receipt: '<Receipt/>' }), { ok: false, code: 'SIGNER_NOT_HUB', detail: 'x' }, { ok: false, code: 'SIGNER_NOT_HUB' }],
    ['an acceptance of other bytes', body({ receipt: '<Receipt/>' }), acceptance({ digestSha256: 'c'.repeat(64) }), { ok: false, code: 'RECEIPT_NOT_FOR_THIS_DELIVERY' }],
    ['an acceptance naming only another recipient', body({ receipt: '<Receipt/>' }), acceptance({ recipients: ['000.00.00.H29'] }), { ok: false, code: 'RECEIPT_NOT_FOR_THIS_DELIVERY' }],
    ['a delivery receipt instead of an acceptance', body({ receipt: '<Receipt/>' }), acceptance({ kind: 'delivery' } as unknown as Partial<Receipt & { kind: 'acceptance' }>), { ok: false, code: 'RECEIPT_NOT_FOR_THIS_DELIVERY' }]
  ]
  for (const [name, answer, verdict, expected] of cases) {
    let pinSeen: unknown
    const check = await checkHopReceipt(async (_xml, pin) => { pinSeen = pin; return verdict }, peer, delivery, answer)
    t.equal(check.ok, expected.ok, name)
    if (!check.ok) t.equal(check.code, expected.code, `${name}: ${check.detail}`)
    if (check.ok) t.equal(check.peerDocumentId, PEER_DOC, `${name}: the peer's document id from the signed receipt`)
    if (pinSeen != null) t.same(pinSeen, peer.signingPin, `${name}: verified against the peer's signing pin`)
  }
})
