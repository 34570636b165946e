import t from 'tap'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { startDeliveryWorker } from '../../src/delivery/delivery-worker.js'
import { loadHubIdentity, type HubIdentity } from '../../src/evidence/hub-identity.js'
import { issueReceipt } from '../../src/evidence/receipts.js'
import { verifySignatureLogChain } from '../../src/evidence/signature-log-chain.js'
import { PKI, examplePolicy } from '../helpers/example-pki.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'
import { REDIS_URL, testHub } from '../helpers/hub.js'
import { recipientServer, WORKER_TLS, type RecordedRequest } from '../helpers/recipient-server.js'

// A push recipient may answer with its own signed receipt. The hub verifies it as signed by the
// recipient agency (registered certificate, chain, revocation), keeps it with the outcome and
// logs the verification; a receipt that does not verify is kept as unverified evidence and does
// not undo the delivery (the 2xx says the recipient has the document).

const G22 = '000.00.00.G22'
const H29 = '000.00.00.H29'
const G12 = '000.00.00.G12'
const agencyIdentity = async (code: string): Promise<HubIdentity> => await loadHubIdentity({
  keyFile: join(PKI, 'agencies', code, 'key.pem'), certFile: join(PKI, 'agencies', code, 'cert.pem'), chainFile: join(PKI, 'agencies', code, 'chain.pem')
})
const signers = { H29: await agencyIdentity(H29), G12: await agencyIdentity(G12) }
let n = 0

const document = (): Buffer => documentFromTo(G22, H29, 7000 + ++n)

/** The recipient's receipt for the request it got, signed by `by`. */
const receiptBy = (by: HubIdentity) => (request: RecordedRequest): string => issueReceipt({
  kind: 'delivery',
  issuedAt: new Date(),
  hubDocumentId: String(request.headers['x-lienthong-document-id']),
  deliveryId: String(request.idempotencyKey),
  digestSha256: String(request.headers['x-lienthong-digest-sha256']),
  sender: G22,
  recipient: H29,
  method: 'push'
}, by)

/** A receipt signed by `by` about another document (other ids and digest) unless `over` says otherwise. */
const oldReceiptBy = (by: HubIdentity, over: { deliveryId?: string, digestSha256?: string } = {}) => (_request: RecordedRequest): string => issueReceipt({
  kind: 'delivery',
  issuedAt: new Date('2025-01-02T03:04:05.000Z'),
  hubDocumentId: randomUUID(),
  deliveryId: over.deliveryId ?? randomUUID(),
  digestSha256: over.digestSha256 ?? 'ab'.repeat(32),
  sender: G22,
  recipient: H29,
  method: 'push'
}, by)

const cases: Array<{ name: string, answer: (r: RecordedRequest) => string, verified: boolean, code: string | null }> = [
  { name: 'signed by the recipient itself: verified', answer: receiptBy(signers.H29), verified: true, code: null },
  { name: 'signed by another agency: kept, not verified', answer: receiptBy(signers.G12), verified: false, code: 'SENDER_MISMATCH' },
  { name: 'altered after signing: kept, not verified', answer: (r) => receiptBy(signers.H29)(r).replace(`<Sender>${G22}</Sender>`, `<Sender>${G12}</Sender>`), verified: false, code: 'DIGEST_MISMATCH' },
  { name: 'not well-formed: kept, not verified', answer: (r) => receiptBy(signers.H29)(r).replace('</Receipt>', ''), verified: false, code: 'XML_MALFORMED' },
  // F06 (b): a genuine receipt of the recipient about ANOTHER document (replayed by whoever
  // answered) proves nothing about this delivery.
  { name: 'an old receipt of another document, signed by the recipient itself: kept, not verified', answer: oldReceiptBy(signers.H29), verified: false, code: 'RECEIPT_NOT_FOR_THIS_DELIVERY' },
  { name: 'a receipt naming only this delivery id: verified', answer: (r) => oldReceiptBy(signers.H29, { deliveryId: String(r.idempotencyKey) })(r), verified: true, code: null },
  { name: 'a receipt naming only this document digest: verified', answer: (r) => oldReceiptBy(signers.H29, { digestSha256: String(r.headers['x-lienthong-digest-sha256']) })(r), verified: true, code: null }
]

for (const c of cases) {
  t.test(c.name, async (t) => {
    const hub = await testHub(t)
    const server = await recipientServer(t, { answer: (r) => ({ contentType: 'application/xml', body: c.answer(r) }) })
    await hub.db.query('UPDATE agencies SET push_url = $1 WHERE code = $2', [server.url, H29])
    const prefix = (hub.queue?.queue.opts as { prefix: string }).prefix
    const policy = await examplePolicy()
    const worker = startDeliveryWorker({
      db: hub.db,
      hub: hub.context.hub,
      redisUrl: REDIS_URL,
      prefix,
      concurrency: 2,
      perRecipient: 2,
      timeoutMs: 5000,
      retry: { baseDelayMs: 100, maxDelayMs: 500, windowMs: 5000 },
      tls: WORKER_TLS,
      receiptPolicy: () => policy
    })
    const problems: string[] = []
    worker.worker.on('failed', (job, err) => problems.push(`job ${job?.id ?? '?'} failed: ${err.message}`))
    t.teardown(async () => { await worker.close(5000) })

    const res = await hub.app.inject({ method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/xml', authorization: `Bearer ${hub.keys[G22]!}` }, payload: document() })
    t.equal(res.statusCode, 202, res.statusCode === 202 ? 'accepted' : res.body)
    const { id } = res.json<{ id: string }>()
    let view: { deliveries: Array<{ state: string }>, recipientReceipts: Array<{ verified: boolean, reasonCode: string | null, signerSubject: string | null, signatureLogEntry: number | null, recipient: string }> } | undefined
    for (let i = 0; i < 300; i++) {
      const r = await hub.app.inject({ url: `/v1/documents/${id}`, headers: { authorization: `Bearer ${hub.keys[G22]!}` } })
      view = r.json()
      // Both: the view reads deliveries and receipts in separate statements, so it can see the
      // receipt row of a transaction that committed between the two.
      if (view?.recipientReceipts.length === 1 && view.deliveries[0]?.state === 'delivered') break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    t.equal(view?.deliveries[0]?.state, 'delivered', `the 2xx delivered the document whatever the receipt says ${problems.join('; ')}`)
    const rr = view?.recipientReceipts[0]
    t.same({ verified: rr?.verified, reasonCode: rr?.reasonCode, recipient: rr?.recipient }, { verified: c.verified, reasonCode: c.code, recipient: H29 })
    if (c.verified) t.match(rr?.signerSubject, /H29|000\.00\.00\.H29/, 'signer named')

    const { rows: stored } = await hub.db.query<{ xml: string }>('SELECT xml FROM recipient_receipts')
    t.match(stored[0]?.xml, /^<\?xml[\s\S]*<Receipt /, 'the receipt is kept as received')
    const { rows: log } = await hub.db.query<{ verdict: string, reason_code: string | null, flags: string[], claimed_agency: string }>(
      'SELECT verdict, reason_code, flags, claimed_agency FROM signature_log WHERE id = $1', [rr?.signatureLogEntry])
    t.same(log[0], { verdict: c.verified ? 'accepted' : 'rejected', reason_code: c.code, flags: ['recipient-receipt'], claimed_agency: H29 }, 'the verification is in the signature log')
    t.equal((await verifySignatureLogChain(hub.db)).ok, true, 'and the chain holds')
    t.same(problems, [], 'no job failed')
  })
}
