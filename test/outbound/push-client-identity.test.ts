import t from 'tap'
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { closePushConnections, push, type PushTls } from '../../src/outbound/push-client.js'
import { PKI } from '../helpers/example-pki.js'
import { HUB_TLS, HUB_TLS_FINGERPRINT, recipientServer, WORKER_TLS } from '../helpers/recipient-server.js'

// The push client keeps connections alive per TLS client identity, which its agents name by the
// client certificate's fingerprint (src/outbound/push-client.ts): a connection opened with one
// identity must never carry a request made with another (the recipient would take it for the
// first identity), and one identity's requests reuse its connection. A real HTTPS recipient that
// requires and records the client certificate and the client port of each request.

const HUB_2: PushTls = {
  cert: Buffer.concat([readFileSync(join(PKI, 'hubs', 'hub-2', 'tls-cert.pem')), HUB_TLS.issuingCa]),
  key: readFileSync(join(PKI, 'hubs', 'hub-2', 'tls-key.pem')),
  ca: HUB_TLS.rootCa
}
const HUB_2_FINGERPRINT = new X509Certificate(readFileSync(join(PKI, 'hubs', 'hub-2', 'tls-cert.pem'))).fingerprint256
const SERVER_PIN = { fingerprints: [HUB_TLS_FINGERPRINT.replace(/:/g, '').toLowerCase()] }

t.test('two identities never share a connection; one identity reuses its own', async (t) => {
  const server = await recipientServer(t)
  t.teardown(() => { closePushConnections(WORKER_TLS); closePushConnections(HUB_2) })
  const send = async (tls: PushTls, n: number): Promise<void> => {
    const res = await push({ url: server.url, body: Buffer.from(`document ${n}`), headers: { 'content-type': 'application/xml', 'idempotency-key': `k-${n}` }, timeoutMs: 10_000, tls, pin: SERVER_PIN, agency: 'test' })
    t.equal(res.status, 201, `request ${n} answered`)
  }
  // One after the other, so a kept-alive connection is free for the next request.
  await send(WORKER_TLS, 1)
  await send(HUB_2, 2)
  await send(WORKER_TLS, 3)
  await send(HUB_2, 4)
  await send(WORKER_TLS, 5)
  const seen = server.requests.map((r) => ({ key: r.idempotencyKey, fingerprint: r.clientFingerprint256, port: r.remotePort }))
  t.same(seen.map((r) => r.fingerprint), [HUB_TLS_FINGERPRINT, HUB_2_FINGERPRINT, HUB_TLS_FINGERPRINT, HUB_2_FINGERPRINT, HUB_TLS_FINGERPRINT], 'each request presented its own identity')
  const portsOf = (fingerprint: string): Set<number | undefined> => new Set(seen.filter((r) => r.fingerprint === fingerprint).map((r) => r.port))
  const hub = portsOf(HUB_TLS_FINGERPRINT)
  const hub2 = portsOf(HUB_2_FINGERPRINT)
  t.equal(hub.size, 1, `the hub identity's three requests went over one connection (${[...hub].join(', ')})`)
  t.equal(hub2.size, 1, `hub-2's two requests went over one connection (${[...hub2].join(', ')})`)
  t.same([...hub].filter((p) => hub2.has(p)), [], 'no connection carried both identities')
})
