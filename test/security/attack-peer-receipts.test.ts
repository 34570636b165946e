import { createHash, randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { peerSender } from '../../src/delivery/peer-forward.js'
import { loadHubIdentity, type HubIdentity } from '../../src/evidence/hub-identity.js'
import { hubPinOf, issueReceipt, verifyReceipt } from '../../src/evidence/receipts.js'
import type { RouteDelivery, RouteSendOutcome } from '../../src/outbound/route-sender.js'
import { SECURE_PUSH } from '../../src/registry/push-endpoint.js'
import { storedPeerHubs } from '../../src/routing/peer-hubs.js'
import { upsertPeer } from '../../src/store/routes.js'
import { testDatabase } from '../helpers/database.js'
import { examplePolicy, PKI } from '../helpers/example-pki.js'
import { exampleHubIdentity } from '../helpers/hub.js'
import { hubTlsPki } from '../helpers/hub-tls.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'

// Attack (issue 13, outsider review): a malicious peer hub answers our forward with 2xx but a
// receipt that proves nothing about this hop. The peer sender runs against a real HTTPS peer over
// mutual TLS (pinned), with receipts really signed by the example hub identities and verified
// against the example trust store. Only the genuine receipt may mark the hop delivered; every
// other answer is retried (never "delivered"), with the reason's code first.

const A = '000.00.00.H41'
const C = '000.00.00.G12'
const OTHER = '000.00.00.H29'

const hubIdentity = async (dir: string): Promise<HubIdentity> => await loadHubIdentity({
  keyFile: join(dir, 'signing-key.pem'), certFile: join(dir, 'signing-cert.pem'), chainFile: join(PKI, 'trust', 'issuing-ca.pem')
})

t.test('a peer\'s 2xx counts only with a receipt that proves this hop', async (t) => {
  const pki = await hubTlsPki(2)
  const [peerTls, ourTls] = pki.certs as [typeof pki.certs[0], typeof pki.certs[0]]
  const db = await testDatabase(t)
  const policy = await examplePolicy()
  const peerSigner = await hubIdentity(join(PKI, 'hubs', 'hub-2'))
  const otherHub = await hubIdentity(join(PKI, 'hubs', 'hub-3'))
  const ourHub = await exampleHubIdentity()

  const bytes = documentFromTo(A, C, 31)
  const digest = createHash('sha256').update(bytes).digest('hex')
  const acceptance = (signer: HubIdentity, over: { digestSha256?: string, recipients?: string[], hubDocumentId?: string } = {}): string => issueReceipt({
    kind: 'acceptance',
    issuedAt: new Date(),
    hubDocumentId: over.hubDocumentId ?? randomUUID(),
    digestSha256: over.digestSha256 ?? digest,
    sender: A,
    recipients: over.recipients ?? [C],
    signatureLogEntry: 1
  }, signer)

  // The malicious peer: real TLS, asks for our client certificate, answers whatever the case says.
  let answer: { status: number, body: string } = { status: 202, body: '{}' }
  const seen: Array<Record<string, unknown>> = []
  const server: Server = createServer({ cert: peerTls.cert, key: peerTls.key, ca: pki.ca, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    seen.push({ url: req.url, recipient: req.headers['lienthong-recipient'], key: req.headers['idempotency-key'] })
    req.resume()
    req.on('end', () => { res.writeHead(answer.status, { 'content-type': 'application/json' }); res.end(answer.body) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const port = (server.address() as AddressInfo).port
  await upsertPeer(db, {
    hub_id: 'hub-2',
    base_url: `https://127.0.0.1:${port}`,
    server_certificates: [peerTls.fingerprint],
    client_certificates: [peerTls.fingerprint],
    signing_certificates: hubPinOf(peerSigner.certificate).fingerprintsSha256 as string[],
    source: 'cli'
  })

  const sender = peerSender({
    db,
    hubId: 'hub',
    peers: storedPeerHubs(db),
    verifyReceipt: async (xml, pin) => await verifyReceipt(xml, policy.trustStore, { hub: pin }),
    timeoutMs: 5000,
    tls: { cert: ourTls.cert, key: ourTls.key, ca: pki.ca },
    pushSettings: SECURE_PUSH
  })
  const delivery: RouteDelivery = {
    deliveryId: randomUUID(),
    documentId: randomUUID(),
    kind: 'document',
    recipientCode: C,
    senderCode: A,
    digestSha256: digest,
    edxmlDocumentId: null,
    attempt: 1,
    target: { kind: 'peer', hubId: 'hub-2' },
    rule: C,
    bytes: async () => bytes
  }

  const genuine = acceptance(peerSigner)
  const json = (receipt: string): string => JSON.stringify({ id: randomUUID(), deliveryId: randomUUID(), hub: 'hub-2', duplicate: false, receipt })
  const tampered = genuine.replace(`>${C}<`, `>${OTHER}<`)
  const cases: Array<[string, { status: number, body: string }, RouteSendOutcome['kind'], RegExp | null]> = [
    ['an empty 200', { status: 200, body: '' }, 'retry', /^RECEIPT_INVALID: /],
    ['an HTML 200 (a proxy page)', { status: 200, body: '<html>ok</html>' }, 'retry', /^RECEIPT_INVALID: /],
    ['a 202 without a receipt', { status: 202, body: JSON.stringify({ id: randomUUID(), hub: 'hub-2' }) }, 'retry', /^RECEIPT_INVALID: /],
    ['a receipt that is not XML', { status: 202, body: json('not a receipt') }, 'retry', /^XML_MALFORMED: /],
    ['a genuine receipt signed by another hub (hub-3)', { status: 202, body: json(acceptance(otherHub)) }, 'retry', /^SIGNER_NOT_HUB: /],
    ['our own hub\'s receipt reflected back', { status: 202, body: json(acceptance(ourHub)) }, 'retry', /^SIGNER_NOT_HUB: /],
    ['the peer\'s receipt for another document', { status: 202, body: json(acceptance(peerSigner, { digestSha256: 'e'.repeat(64) })) }, 'retry', /^RECEIPT_NOT_FOR_THIS_DELIVERY: /],
    ['the peer\'s receipt for another recipient', { status: 202, body: json(acceptance(peerSigner, { recipients: [OTHER] })) }, 'retry', /^RECEIPT_NOT_FOR_THIS_DELIVERY: /],
    ['the peer\'s receipt with its recipient changed after signing', { status: 202, body: json(tampered) }, 'retry', /^[A-Z_]+: /],
    ['a genuine receipt buried in a 1 MB answer (only the first 64 KiB are kept)', { status: 202, body: JSON.stringify({ pad: 'x'.repeat(1024 * 1024), receipt: genuine }) }, 'retry', /^RECEIPT_INVALID: /],
    ['a redirect to somewhere else (never followed)', { status: 302, body: '' }, 'permanent', null],
    ['the peer\'s genuine receipt for this hop', { status: 202, body: json(genuine) }, 'delivered', null],
    ['the same genuine receipt on a retried hop (200)', { status: 200, body: json(genuine) }, 'delivered', null]
  ]
  t.not(tampered, genuine, 'the tampered receipt differs from the genuine one')
  for (const [name, given, kind, reason] of cases) {
    answer = given
    const outcome = await sender.send(delivery)
    t.equal(outcome.kind, kind, `${name}: ${JSON.stringify(outcome).slice(0, 300)}`)
    if (outcome.kind === 'retry' && reason != null) {
      t.match(outcome.reason, reason, `${name}: the code leads the reason`)
      t.match(outcome.reason, /peer hub hub-2/, `${name}: the reason names the peer`)
      t.equal(outcome.status, given.status, `${name}: the peer's HTTP status kept as evidence`)
    }
    if (outcome.kind === 'delivered') t.type(outcome.record, 'function', `${name}: the verified receipt is recorded with the delivery`)
  }
  t.equal(seen.length, cases.length, 'every case really went over the wire')

  // An impostor at the peer's address: a certificate of the same CA (valid for 127.0.0.1), not the
  // pinned one. The handshake is refused before a byte of the document leaves.
  const impostorSeen: string[] = []
  const impostor: Server = createServer({ cert: ourTls.cert, key: ourTls.key, ca: pki.ca, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    impostorSeen.push(req.url ?? '')
    req.resume()
    res.writeHead(202, { 'content-type': 'application/json' })
    res.end(json(genuine))
  })
  await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { impostor.close() })
  await upsertPeer(db, {
    hub_id: 'hub-2',
    base_url: `https://127.0.0.1:${(impostor.address() as AddressInfo).port}`,
    server_certificates: [peerTls.fingerprint],
    client_certificates: [peerTls.fingerprint],
    signing_certificates: hubPinOf(peerSigner.certificate).fingerprintsSha256 as string[],
    source: 'cli'
  })
  const pinned = await sender.send(delivery)
  t.equal(pinned.kind, 'retry', `an impostor with a trusted but unpinned certificate: ${JSON.stringify(pinned).slice(0, 300)}`)
  t.same(impostorSeen, [], 'the impostor never received the document')
  t.ok(seen.every((s) => s.url === '/peer/v1/documents' && s.recipient === C && s.key === delivery.deliveryId), 'always the same hop: same recipient, same Idempotency-Key')
})
