import { request } from 'node:https'
import { join } from 'node:path'
import t from 'tap'
import { buildGateway } from '../../src/gateway/app.js'
import { AgencyRegistry } from '../../src/registry/agency-registry.js'
import { syncAgencies } from '../../src/store/agencies.js'
import { verifyDocument } from '../../src/verification/verify-document.js'
import { hubPinOf, verifyReceipt } from '../../src/evidence/receipts.js'
import { storedPeerHubs } from '../../src/routing/peer-hubs.js'
import { upsertPeer } from '../../src/store/routes.js'
import { readFileSync } from 'node:fs'
import { testDatabase } from '../helpers/database.js'
import { examplePolicy, FIXTURES, PKI } from '../helpers/example-pki.js'
import { exampleHubIdentity } from '../helpers/hub.js'
import { hubTlsPki } from '../helpers/hub-tls.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'

// The receiving side of peer forwarding (POST /peer/v1/documents) against a real gateway over
// mutual TLS: who may forward (routing's route_peers; none configured admits no one), the hop
// rules, the document verified here, a retried hop harmless, a second recipient's hop with its
// own receipt.

const A = '000.00.00.H29' // served by a peer: an agency of this hub never arrives forwarded (test/security/attack-peer.test.ts)
const C = '000.00.00.G12'
const H41 = '000.00.00.H41'
const T = '2026-05-01T10:00:00.000Z'

t.test('POST /peer/v1/documents', async (t) => {
  const pki = await hubTlsPki(3)
  const [self, peer, stranger] = pki.certs as [typeof pki.certs[0], typeof pki.certs[0], typeof pki.certs[0]]
  const db = await testDatabase(t)
  const registry = await AgencyRegistry.load(join(PKI, 'registry.json'))
  await syncAgencies(db, { all: () => registry.all().filter((a) => a.code === C || a.code === H41) } as unknown as AgencyRegistry)
  const policy = await examplePolicy()
  const identity = await exampleHubIdentity()
  const app = await buildGateway({
    db,
    verify: async (bytes) => await verifyDocument(bytes, policy),
    queue: undefined,
    hub: identity,
    maxBytes: 1024 * 1024,
    rateLimitPerMinute: 100_000,
    authFailuresPerMinute: 1000,
    hubId: 'hub-3',
    hopLimit: 3,
    peers: storedPeerHubs(db)
  }, { https: { cert: self.cert, key: self.key, ca: pki.ca, requestCert: true, rejectUnauthorized: false } })
  t.teardown(async () => { await app.close() })
  const url = new URL('/peer/v1/documents', await app.listen({ host: '127.0.0.1', port: 0 }))

  const post = async (body: Buffer, headers: Record<string, string>, client: { cert: Buffer, key: Buffer } | null): Promise<{ status: number, json: Record<string, unknown> }> =>
    await new Promise((resolve, reject) => {
      const r = request(url, { method: 'POST', ca: pki.ca, ...(client !== null ? { cert: client.cert, key: client.key } : {}), agent: false, headers: { 'content-type': 'application/xml', ...headers } }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }))
      })
      r.on('error', reject)
      r.end(body)
    })

  // No peer configured yet: even a certificate the TLS layer trusts is nobody here.
  const doc = documentFromTo(A, C, 7)
  const early = await post(doc, { 'idempotency-key': 'k-0', 'lienthong-recipient': C, 'lienthong-hops': `hub-2;${T}` }, peer)
  t.equal(early.status, 401, 'no configured peer: the /peer scope admits no one')
  t.equal(early.json.code, 'UNAUTHENTICATED')
  await upsertPeer(db, { hub_id: 'hub-2', base_url: 'https://127.0.0.1:1', server_certificates: [peer.fingerprint], client_certificates: [peer.fingerprint], signing_certificates: [identity.certificate.fingerprint256.replace(/:/g, '').toLowerCase()], source: 'cli' })

  const tampered = Buffer.from(doc.toString('utf8').replace('<edXML:Subject>', '<edXML:Subject>X'))
  const hops = (...ids: string[]): string => ids.map((id) => `${id};${T}`).join(', ')
  const base = { 'idempotency-key': 'k-1', 'lienthong-recipient': C, 'lienthong-hops': hops('hub-1', 'hub-2') }
  const cases: Array<[string, Buffer, Record<string, string>, { cert: Buffer, key: Buffer } | null, number, string | undefined]> = [
    ['no client certificate', doc, base, null, 401, 'UNAUTHENTICATED'],
    ['a trusted certificate of no registered peer', doc, base, stranger, 401, 'UNAUTHENTICATED'],
    ['no hop list', doc, { ...base, 'lienthong-hops': '' }, peer, 400, 'HOPS_INVALID'],
    ['a hop list the peer is not last in', doc, { ...base, 'lienthong-hops': hops('hub-2', 'hub-1') }, peer, 400, 'HOPS_INVALID'],
    ['this hub already in the hops', doc, { ...base, 'lienthong-hops': hops('hub-3', 'hub-2') }, peer, 409, 'HOP_LOOP'],
    ['as many hops as the limit', doc, { ...base, 'lienthong-hops': hops('a', 'b', 'hub-2') }, peer, 409, 'HOP_LIMIT'],
    ['no Idempotency-Key', doc, { 'lienthong-recipient': C, 'lienthong-hops': hops('hub-2') }, peer, 400, 'BAD_REQUEST'],
    ['a recipient the document does not name', doc, { ...base, 'idempotency-key': 'k-2', 'lienthong-recipient': '000.00.00.G22' }, peer, 422, 'RECIPIENT_UNKNOWN'],
    ['bytes changed on the way (verified here, not trusted)', tampered, { ...base, 'idempotency-key': 'k-3' }, peer, 422, undefined],
    ['a good hop', doc, base, peer, 202, undefined],
    ['the same hop retried', doc, base, peer, 200, undefined]
  ]
  let firstReceipt: unknown
  for (const [name, body, headers, client, status, code] of cases) {
    const answer = await post(body, headers, client)
    t.equal(answer.status, status, `${name}: ${JSON.stringify(answer.json).slice(0, 300)}`)
    if (code != null) t.equal(answer.json.code, code, name)
    if (status === 422 && code == null) t.match(answer.json.code, /DIGEST_MISMATCH|SIGNATURE_INVALID/, name)
    if (status === 202) firstReceipt = answer.json.receipt
    if (status === 200) {
      t.equal(answer.json.duplicate, true, name)
      t.equal(answer.json.receipt, firstReceipt, `${name}: the original acceptance receipt again`)
    }
  }
  const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM deliveries')
  t.equal(Number(rows[0]?.n), 1, 'one delivery for the hop, however often it was sent')

  // One document for two agencies of this hub, forwarded once per recipient (the forwarding hub
  // has a delivery each): the second hop adds a delivery and gets a receipt naming its recipient.
  const many = readFileSync(join(FIXTURES, 'signatures', 'valid', 'own-c14n-rsa-sha512-many-recipients.edxml'))
  const first = await post(many, { 'idempotency-key': 'm-1', 'lienthong-recipient': C, 'lienthong-hops': hops('hub-2') }, peer)
  const second = await post(many, { 'idempotency-key': 'm-2', 'lienthong-recipient': H41, 'lienthong-hops': hops('hub-2') }, peer)
  t.equal(first.status, 202, JSON.stringify(first.json).slice(0, 300))
  t.equal(second.status, 200, JSON.stringify(second.json).slice(0, 300))
  t.equal(second.json.id, first.json.id, 'the same document')
  t.not(second.json.deliveryId, first.json.deliveryId, 'a delivery of its own')
  const receiptOf = async (answer: { json: Record<string, unknown> }): Promise<string[]> => {
    const verified = await verifyReceipt(answer.json.receipt as string, policy.trustStore, { hub: hubPinOf(identity.certificate) })
    if (!verified.ok) throw new Error(`receipt not verified: ${verified.code} ${verified.detail}`)
    return verified.fields.kind === 'acceptance' ? verified.fields.recipients : []
  }
  t.same(await receiptOf(first), [C], 'the first hop\'s receipt names its recipient')
  t.same(await receiptOf(second), [H41], 'the second hop\'s receipt names the second recipient, not the first')
  const again = await post(many, { 'idempotency-key': 'm-2', 'lienthong-recipient': H41, 'lienthong-hops': hops('hub-2') }, peer)
  t.equal(again.json.receipt, second.json.receipt, 'the second hop retried: its own receipt again')
  const perRecipient = (await db.query<{ recipient_code: string }>('SELECT recipient_code FROM deliveries WHERE document_id = $1 ORDER BY recipient_code', [first.json.id])).rows
  t.same(perRecipient.map((r) => r.recipient_code), [C, H41].sort())
})
