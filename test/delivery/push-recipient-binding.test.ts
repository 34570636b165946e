import t, { type Test } from 'tap'
import { createServer as createHttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { attemptDelivery, type DeliveryDependencies } from '../../src/delivery/attempt-delivery.js'
import { closePushConnections } from '../../src/outbound/push-client.js'
import { sendDueCallbacks } from '../../src/delivery/receipt-callbacks.js'
import { SECURE_PUSH, type PushSettings } from '../../src/registry/push-endpoint.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'
import { testHub, type TestHub } from '../helpers/hub.js'
import { HUB_TLS, recipientServer, WORKER_TLS } from '../helpers/recipient-server.js'
import { serverPki } from '../helpers/server-pki.js'

// F06 (a) and F12: a push goes only to the registered recipient. The TLS server certificate is
// checked against the pin of the recipient's registry entry (fingerprint and/or subject), not only
// against the CA and host name; another certificate of the same CA, or the hub's own CN=localhost,
// gets nothing. Plain http:// and unpinned endpoints are refused unless a development setting says so.

const G22 = '000.00.00.G22'
const H29 = '000.00.00.H29'
const G12 = '000.00.00.G12'
let n = 0

// One throw-away CA, two server certificates under it: the recipient's (UID=H29) and an impostor's.
const pki = await serverPki([{ O: 'UBND TP HCM', CN: 'localhost', UID: H29 }, { O: 'Impostor', CN: 'localhost', UID: G12 }])
const [recipientCert, impostorCert] = pki.certs as [typeof pki.certs[0], typeof pki.certs[0]]
// The worker trusts both the demo root (the hub's own TLS certificate chains to it) and the test CA.
const tls = { ...WORKER_TLS, ca: Buffer.concat([WORKER_TLS.ca, pki.ca]) }

interface Setup { hub: TestHub, deliveryId: string, deps: DeliveryDependencies }

/** A hub, H29 registered at `url` with `pin`, one accepted document G22 -> H29 waiting for its push. */
async function setup (t: Test, url: string, pin: { certificates?: string[], subject?: Record<string, string> }, pushSettings: PushSettings = SECURE_PUSH): Promise<Setup> {
  const hub = await testHub(t, { redisUrl: null })
  await hub.db.query('UPDATE agencies SET push_url = $1, push_server_certificates = $2::text[], push_server_subject = $3::jsonb WHERE code = $4',
    [url, pin.certificates ?? null, pin.subject != null ? JSON.stringify(pin.subject) : null, H29])
  const res = await hub.app.inject({
    method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/xml', authorization: `Bearer ${hub.keys[G22]!}` }, payload: documentFromTo(G22, H29, 9100 + ++n)
  })
  if (res.statusCode !== 202) throw new Error(`not accepted: ${res.body}`)
  const deliveryId = res.json<{ recipients: Array<{ code: string, deliveryId: string }> }>().recipients.find((r) => r.code === H29)?.deliveryId as string
  t.teardown(() => { closePushConnections(tls) })
  return {
    hub,
    deliveryId,
    deps: { db: hub.db, hub: hub.context.hub, retry: { baseDelayMs: 100, maxDelayMs: 500, windowMs: 60_000 }, timeoutMs: 3000, tls, actor: 'test', pushSettings }
  }
}

async function deliveryState (s: Setup): Promise<{ state: string, last_error: string | null, receipts: number }> {
  const { rows: [row] } = await s.hub.db.query<{ state: string, last_error: string | null }>('SELECT state, last_error FROM deliveries WHERE id = $1', [s.deliveryId])
  const { rows: [count] } = await s.hub.db.query<{ n: number | string }>('SELECT count(*) AS n FROM receipts WHERE delivery_id = $1 AND kind = \'delivery\'', [s.deliveryId])
  return { state: row?.state ?? '?', last_error: row?.last_error ?? null, receipts: Number(count?.n) }
}

t.test('push to a server presenting another certificate of the same CA: refused before a byte is sent, no delivery receipt', async (t) => {
  const impostor = await recipientServer(t, { serverTls: impostorCert })
  const s = await setup(t, impostor.url, { certificates: [recipientCert.fingerprint] })
  const result = await attemptDelivery(s.deps, s.deliveryId)
  t.equal(result.state, 'waiting_retry', 'retried (the recipient may be renewing its certificate), never delivered')
  t.equal(impostor.requests.length, 0, 'the impostor got no request at all')
  const state = await deliveryState(s)
  t.match(state.last_error, new RegExp(`server certificate of https://127\\.0\\.0\\.1:${impostor.port} is not the one registered for agency ${H29}: presented sha256 ${impostorCert.fingerprint}`))
  t.match(state.last_error, recipientCert.fingerprint, 'the last error names the registered fingerprint')
  t.equal(state.receipts, 0, 'no delivery receipt was issued')
})

t.test('push to a server presenting the hub\'s own CN=localhost certificate (valid chain and host name): refused', async (t) => {
  const impostor = await recipientServer(t, { serverTls: { cert: Buffer.concat([HUB_TLS.cert, HUB_TLS.issuingCa]), key: HUB_TLS.key } })
  const s = await setup(t, impostor.url, { certificates: [recipientCert.fingerprint] })
  t.equal((await attemptDelivery(s.deps, s.deliveryId)).state, 'waiting_retry')
  t.equal(impostor.requests.length, 0, 'nothing sent')
  t.match((await deliveryState(s)).last_error, /not the one registered for agency 000\.00\.00\.H29/)
})

t.test('push to the server presenting the registered certificate: delivered, with the delivery receipt', async (t) => {
  const recipient = await recipientServer(t, { serverTls: recipientCert })
  const s = await setup(t, recipient.url, { certificates: [impostorCert.fingerprint.toUpperCase().replace(/(..)(?!$)/g, '$1:'), recipientCert.fingerprint] })
  t.equal((await attemptDelivery(s.deps, s.deliveryId)).state, 'delivered')
  t.equal(recipient.requests.length, 1)
  t.same(await deliveryState(s), { state: 'delivered', last_error: null, receipts: 1 })
})

t.test('a subject pin: only a certificate carrying every registered attribute receives', async (t) => {
  const impostor = await recipientServer(t, { serverTls: impostorCert })
  const refused = await setup(t, impostor.url, { subject: { UID: H29 } })
  t.equal((await attemptDelivery(refused.deps, refused.deliveryId)).state, 'waiting_retry')
  t.equal(impostor.requests.length, 0, 'same CA, other UID: nothing sent')
  t.match((await deliveryState(refused)).last_error, /registered subject needs UID=000\.00\.00\.H29/)

  const recipient = await recipientServer(t, { serverTls: recipientCert })
  const ok = await setup(t, recipient.url, { subject: { UID: H29 } })
  t.equal((await attemptDelivery(ok.deps, ok.deliveryId)).state, 'delivered')
})

t.test('a push endpoint with no pin in the agencies table: permanent failure, nothing sent (unless the development setting)', async (t) => {
  const recipient = await recipientServer(t, { serverTls: recipientCert })
  const s = await setup(t, recipient.url, {})
  t.equal((await attemptDelivery(s.deps, s.deliveryId)).state, 'failed')
  t.equal(recipient.requests.length, 0)
  t.match((await deliveryState(s)).last_error, /has no server-certificate pin/)

  const dev = await setup(t, recipient.url, {}, { ...SECURE_PUSH, allowUnpinned: true })
  t.equal((await attemptDelivery(dev.deps, dev.deliveryId)).state, 'delivered', 'LIENTHONG_DEV_ALLOW_UNPINNED_PUSH lets it through')
})

t.test('F12: an http:// push URL is never used in clear text: permanent failure, nothing sent (unless the development setting)', async (t) => {
  const seen: string[] = []
  const server = createHttpServer((req, res) => { seen.push(req.url ?? ''); req.resume(); req.on('end', () => { res.writeHead(200); res.end('{}') }) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/edxml`

  const s = await setup(t, url, { certificates: [recipientCert.fingerprint] })
  t.equal((await attemptDelivery(s.deps, s.deliveryId)).state, 'failed')
  t.same(seen, [], 'no clear-text request')
  t.match((await deliveryState(s)).last_error, /is plain http .*only https is allowed/)

  const dev = await setup(t, url, {}, { allowPlainHttp: true, allowUnpinned: false })
  t.equal((await attemptDelivery(dev.deps, dev.deliveryId)).state, 'delivered', 'LIENTHONG_DEV_ALLOW_HTTP_PUSH lets it through')
  t.same(seen, ['/edxml'])
})

t.test('receipts pushed back to a sender are bound the same way: the sender\'s pin, nothing to an impostor', async (t) => {
  const recipient = await recipientServer(t, { serverTls: recipientCert })
  const s = await setup(t, recipient.url, { certificates: [recipientCert.fingerprint] })
  // G22 (the sender) receives by push; its endpoint now serves a certificate that is not its pin.
  const impostor = await recipientServer(t, { serverTls: impostorCert })
  await s.hub.db.query('UPDATE agencies SET push_url = $1, push_server_certificates = $2::text[], push_server_subject = NULL WHERE code = $3', [impostor.url, [recipientCert.fingerprint], G22])
  t.equal((await attemptDelivery(s.deps, s.deliveryId)).state, 'delivered')
  const sent = await sendDueCallbacks({ db: s.hub.db, tls, timeoutMs: 3000, retry: s.deps.retry, intervalMs: 1000, pushSettings: SECURE_PUSH })
  t.equal(sent, 1, 'the delivery receipt callback was attempted')
  t.equal(impostor.requests.length, 0, 'the impostor got nothing')
  const { rows: [callback] } = await s.hub.db.query<{ state: string, last_error: string }>('SELECT state, last_error FROM receipt_callbacks')
  t.equal(callback?.state, 'waiting_retry')
  t.match(callback?.last_error, /is not the one registered for agency 000\.00\.00\.G22/)
})
