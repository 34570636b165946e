import t, { type Test } from 'tap'
import { join } from 'node:path'
import { startDeliveryWorker } from '../../src/delivery/delivery-worker.js'
import { sendAllDueCallbacks, sendDueCallbacks, startReceiptCallbacks } from '../../src/delivery/receipt-callbacks.js'
import { hubPinOf, verifyReceipt } from '../../src/evidence/receipts.js'
import { TrustStore } from '../../src/pki/trust-store.js'
import { PKI } from '../helpers/example-pki.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'
import { exampleHubIdentity, REDIS_URL, testHub, type TestHub } from '../helpers/hub.js'
import { recipientServer, WORKER_TLS, type RecipientServer, type RecipientServerOptions } from '../helpers/recipient-server.js'

// Senders that receive by push get their delivery receipts and failure notices pushed to their
// endpoint (x-lienthong-kind: receipt), with retries; senders that receive by pull get none
// (they read GET /v1/receipts).

const G22 = '000.00.00.G22'
const H29 = '000.00.00.H29'
const H41 = '000.00.00.H41'
const trustStore = await TrustStore.load(join(PKI, 'trust'))
const HUB_PIN = hubPinOf((await exampleHubIdentity()).certificate)
const RETRY = { baseDelayMs: 100, maxDelayMs: 300, windowMs: 3000 }
let n = 0

const document = (from: string, to: string): Buffer => documentFromTo(from, to, 8000 + ++n)

async function waitFor<T> (what: string, fn: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Hub, worker, callback sender; the document recipient answers with `recipient` behaviour. */
async function setup (t: Test, recipient: RecipientServerOptions, senderEndpoint: RecipientServerOptions): Promise<{ hub: TestHub, sender: RecipientServer }> {
  const hub = await testHub(t)
  const server = await recipientServer(t, recipient)
  const sender = await recipientServer(t, { keepBodies: true, ...senderEndpoint })
  await hub.db.query('UPDATE agencies SET push_url = $1 WHERE code = $2', [server.url, H29])
  await hub.db.query('UPDATE agencies SET push_url = $1 WHERE code = $2', [sender.url, G22])
  const prefix = (hub.queue?.queue.opts as { prefix: string }).prefix
  const worker = startDeliveryWorker({ db: hub.db, hub: hub.context.hub, redisUrl: REDIS_URL, prefix, concurrency: 4, perRecipient: 2, timeoutMs: 2000, retry: RETRY, tls: WORKER_TLS })
  const callbacks = startReceiptCallbacks({ db: hub.db, tls: WORKER_TLS, timeoutMs: 2000, retry: RETRY, intervalMs: 100 })
  t.teardown(async () => { await callbacks.close(); await worker.close(5000) })
  return { hub, sender }
}

async function submit (hub: TestHub, from: string, to: string): Promise<string> {
  const res = await hub.app.inject({ method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/xml', authorization: `Bearer ${hub.keys[from]!}` }, payload: document(from, to) })
  if (res.statusCode !== 202) throw new Error(`refused: ${res.body}`)
  return res.json<{ id: string }>().id
}

const cases = [
  { name: 'delivered: the delivery receipt is pushed to the sender', recipient: {}, senderEndpoint: {}, kind: 'delivery', attempts: 1 },
  { name: 'given up: the failure notice is pushed to the sender', recipient: { behaviour: { kind: 'permanent400' as const } }, senderEndpoint: {}, kind: 'failure', attempts: 1 },
  { name: 'the sender\'s endpoint fails twice: the receipt is retried until it is taken', recipient: {}, senderEndpoint: { behaviour: { kind: 'flapping' as const, failures: 2 } }, kind: 'delivery', attempts: 3 }
]

for (const c of cases) {
  t.test(c.name, async (t) => {
    const { hub, sender } = await setup(t, c.recipient, c.senderEndpoint)
    const documentId = await submit(hub, G22, H29)
    const row = await waitFor('the callback to be delivered', async () => {
      const { rows } = await hub.db.query<{ state: string, attempts: number, receipt_id: string }>('SELECT state, attempts, receipt_id FROM receipt_callbacks WHERE document_id = $1', [documentId])
      return rows[0]?.state === 'delivered' ? rows[0] : undefined
    })
    t.equal(row.attempts, c.attempts, `delivered on attempt ${row.attempts}`)
    const taken = sender.requests.filter((r) => r.status != null && r.status < 300)
    t.equal(taken.length, 1, 'the sender took one receipt')
    const request = taken[0]!
    t.equal(request.headers['x-lienthong-kind'], 'receipt')
    t.equal(request.headers['x-lienthong-receipt-kind'], c.kind)
    t.equal(request.headers['x-lienthong-document-id'], documentId)
    t.equal(request.idempotencyKey, sender.requests[0]?.idempotencyKey, 'retries carry the same Idempotency-Key')
    const check = await verifyReceipt(request.body!, trustStore, { hub: HUB_PIN })
    t.equal(check.ok, true, 'what the sender got verifies as a hub-signed receipt')
    if (check.ok) t.equal(check.fields.kind, c.kind)
    const { rows: stored } = await hub.db.query<{ xml: string }>('SELECT xml FROM receipts WHERE id = $1', [row.receipt_id])
    t.equal(request.body?.toString('utf8'), stored[0]?.xml, 'the stored receipt, byte for byte')
  })
}

t.test('a sender that receives by pull gets no callback', async (t) => {
  const { hub } = await setup(t, {}, {})
  const documentId = await submit(hub, H41, H29)
  await waitFor('the delivery receipt', async () => {
    const { rows } = await hub.db.query('SELECT 1 FROM receipts WHERE document_id = $1 AND kind = \'delivery\'', [documentId])
    return rows.length > 0 ? true : undefined
  })
  const { rows } = await hub.db.query('SELECT 1 FROM receipt_callbacks WHERE document_id = $1', [documentId])
  t.equal(rows.length, 0)
})

t.test('more due callbacks than one batch: a round claims again until they are all sent', async (t) => {
  // No periodic sender here: the rounds are called by hand, with a batch of 2.
  const hub = await testHub(t)
  const server = await recipientServer(t, {})
  const sender = await recipientServer(t, {})
  await hub.db.query('UPDATE agencies SET push_url = $1 WHERE code = $2', [server.url, H29])
  await hub.db.query('UPDATE agencies SET push_url = $1 WHERE code = $2', [sender.url, G22])
  const prefix = (hub.queue?.queue.opts as { prefix: string }).prefix
  const worker = startDeliveryWorker({ db: hub.db, hub: hub.context.hub, redisUrl: REDIS_URL, prefix, concurrency: 4, perRecipient: 2, timeoutMs: 2000, retry: RETRY, tls: WORKER_TLS })
  t.teardown(async () => { await worker.close(5000) })
  const documents = [] as string[]
  for (let i = 0; i < 5; i++) documents.push(await submit(hub, G22, H29))
  const queued = async (): Promise<number> => Number((await hub.db.query<{ n: string }>('SELECT count(*) AS n FROM receipt_callbacks WHERE state = \'queued\' AND document_id = ANY($1)', [documents])).rows[0]?.n)
  await waitFor('five callbacks queued', async () => await queued() === 5 ? true : undefined)
  const options = { db: hub.db, tls: WORKER_TLS, timeoutMs: 2000, retry: RETRY, intervalMs: 1000, batch: 2 }
  t.equal(await sendDueCallbacks(options), 2, 'one round: one batch')
  t.equal(await queued(), 3)
  t.equal(await sendAllDueCallbacks(options), 3, 'the rounds of one interval: the rest, in batches of 2')
  t.equal(await queued(), 0, 'none left waiting for the next interval')
  const { rows } = await hub.db.query<{ state: string, attempts: number }>('SELECT state, attempts FROM receipt_callbacks WHERE document_id = ANY($1)', [documents])
  t.same(rows.map((r) => [r.state, r.attempts]), Array.from({ length: 5 }, () => ['delivered', 1]), 'each sent once, delivered')
  t.equal(sender.requests.filter((r) => r.headers['x-lienthong-kind'] === 'receipt').length, 5, 'the sender got five receipts')
})
