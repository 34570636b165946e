import { request } from 'node:https'
import { join } from 'node:path'
import t from 'tap'
import { buildGateway } from '../../src/gateway/app.js'
import { AgencyRegistry } from '../../src/registry/agency-registry.js'
import { syncAgencies } from '../../src/store/agencies.js'
import { verifyDocument } from '../../src/verification/verify-document.js'
import { hubPinOf } from '../../src/evidence/receipts.js'
import { staticPeerHubs } from '../../src/routing/peer-hubs.js'
import { testDatabase } from '../helpers/database.js'
import { examplePolicy, PKI } from '../helpers/example-pki.js'
import { exampleHubIdentity } from '../helpers/hub.js'
import { hubTlsPki } from '../helpers/hub-tls.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'

// The receiving side of peer forwarding (POST /peer/v1/documents) against a real gateway over
// mutual TLS: who may forward, the hop rules, the document verified here, a retried hop harmless.

const A = '000.00.00.H41'
const C = '000.00.00.G12'
const T = '2026-05-01T10:00:00.000Z'

t.test('POST /peer/v1/documents', async (t) => {
  const pki = await hubTlsPki(3)
  const [self, peer, stranger] = pki.certs as [typeof pki.certs[0], typeof pki.certs[0], typeof pki.certs[0]]
  const db = await testDatabase(t)
  const registry = await AgencyRegistry.load(join(PKI, 'registry.json'))
  await syncAgencies(db, { all: () => registry.all().filter((a) => a.code === C) } as unknown as AgencyRegistry)
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
    peers: staticPeerHubs([{ hubId: 'hub-2', baseUrl: 'https://127.0.0.1:1', serverPin: { fingerprints: [peer.fingerprint] }, clientCertificates: [peer.fingerprint], signingPin: hubPinOf(identity.certificate) }])
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

  const doc = documentFromTo(A, C, 7)
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
})
