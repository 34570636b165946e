import { request } from 'node:https'
import { join } from 'node:path'
import t from 'tap'
import { signAsDemoAgency } from '../../src/demo/demo-agencies.js'
import { answeredDocumentOf, status03 } from '../../src/demo/demo-documents.js'
import { buildGateway } from '../../src/gateway/app.js'
import { AgencyRegistry } from '../../src/registry/agency-registry.js'
import { storedPeerHubs } from '../../src/routing/peer-hubs.js'
import { StoredRoutes } from '../../src/routing/stored-routes.js'
import { syncAgencies } from '../../src/store/agencies.js'
import { createApiKey } from '../../src/store/credentials.js'
import { upsertPeer, upsertRule } from '../../src/store/routes.js'
import { verifyDocument } from '../../src/verification/verify-document.js'
import { verifySignatureLogChain } from '../../src/evidence/signature-log-chain.js'
import { testDatabase } from '../helpers/database.js'
import { examplePolicy, PKI } from '../helpers/example-pki.js'
import { exampleHubIdentity } from '../helpers/hub.js'
import { hubTlsPki } from '../helpers/hub-tls.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'

// Outsider review of /peer with the streaming verifier (attack-vdxp session): a peer sending the
// same hop many times at once (its retries racing, or on purpose), with the same Idempotency-Key
// and with fresh ones. Expected: one document, one status event, one delivery; every answer a
// 2xx or a retryable refusal, never a 500. FINDING P2 (low): on the reviewed code the losers of
// the race hit a unique violation (peer_arrivals, documents) and answered 500 INTERNAL (5 of 6
// with one key; 1 of 6 with fresh keys, whose hop then had no arrival to answer a retry from),
// each after a full verification; the local accept path already answered such a loser as a
// duplicate. Fixed in accept-forwarded.ts (the loser answers from what the winner stored).
// Same gateway as attack-peer.test.ts (hub-3 serves G12
// and H41; hub-2 is the path to G22), real mutual TLS.

const LOCAL = '000.00.00.G12'
const LOCAL_SENDER = '000.00.00.H41'
const REMOTE = '000.00.00.G22'
const T = '2026-05-01T10:00:00.000Z'

interface Client { cert: Buffer, key: Buffer }
interface Answer { status: number, json: Record<string, unknown> }

t.test('a peer hub racing itself on /peer', async (t) => {
  const pki = await hubTlsPki(4)
  const [self, hub2, hub4] = pki.certs as [typeof pki.certs[0], typeof pki.certs[0], typeof pki.certs[0]]
  const db = await testDatabase(t)
  const registry = await AgencyRegistry.load(join(PKI, 'registry.json'))
  await syncAgencies(db, { all: () => registry.all().filter((a) => a.code === LOCAL || a.code === LOCAL_SENDER) } as unknown as AgencyRegistry)
  const policy = await examplePolicy()
  const identity = await exampleHubIdentity()
  const signing = [identity.certificate.fingerprint256.replace(/:/g, '').toLowerCase()]
  for (const [id, cert] of [['hub-2', hub2], ['hub-4', hub4]] as const) {
    await upsertPeer(db, { hub_id: id, base_url: 'https://127.0.0.1:1', server_certificates: [cert.fingerprint], client_certificates: [cert.fingerprint], signing_certificates: signing, source: 'cli' })
  }
  await upsertRule(db, { rule_kind: 'explicit', pattern: REMOTE, target_kind: 'peer', target_id: 'hub-2', source: 'cli' })
  const maxBytes = 256 * 1024
  const app = await buildGateway({
    db,
    verify: async (bytes) => await verifyDocument(bytes, policy),
    queue: undefined,
    hub: identity,
    maxBytes,
    rateLimitPerMinute: 100_000,
    authFailuresPerMinute: 1000,
    hubId: 'hub-3',
    peers: storedPeerHubs(db),
    routes: new StoredRoutes(db, { refreshMs: 0 }),
    timeouts: { headersMs: 1000, requestMs: 3000, bodyIdleMs: 1000, keepAliveMs: 5000 }
  }, { https: { cert: self.cert, key: self.key, ca: pki.ca, requestCert: true, rejectUnauthorized: false } })
  t.teardown(async () => { await app.close() })
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const url = new URL('/peer/v1/documents', base)

  const post = async (body: Buffer, headers: Record<string, string>, client: Client | null): Promise<Answer> =>
    await new Promise((resolve, reject) => {
      const r = request(url, { method: 'POST', ca: pki.ca, ...(client !== null ? { cert: client.cert, key: client.key } : {}), agent: false, headers: { 'content-type': 'application/xml', ...headers } }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json: Record<string, unknown> = {}
          try { json = JSON.parse(text) as Record<string, unknown> } catch { json = { text } }
          resolve({ status: res.statusCode ?? 0, json })
        })
      })
      r.on('error', reject)
      r.end(body)
    })
  const hops = (...entries: Array<string | [string, string]>): string => entries.map((e) => typeof e === 'string' ? `${e};${T}` : `${e[0]};${e[1]}`).join(', ')
  const count = async (sql: string): Promise<number> => Number((await db.query<{ n: string }>(sql)).rows[0]?.n)

  // H41 sends D to G22 through hub-2; G22's status comes back from hub-2 (the path D took).
  const key = (await createApiKey(db, LOCAL_SENDER, 'race')).key
  const outgoing = documentFromTo(LOCAL_SENDER, REMOTE, 61)
  const sent = await app.inject({ method: 'POST', url: '/v1/documents', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' }, payload: outgoing })
  t.equal(sent.statusCode, 202, sent.body)
  const answered = answeredDocumentOf(outgoing)
  if (answered == null) throw new Error('no answered document')
  const status = await signAsDemoAgency(REMOTE, status03({ code: REMOTE, name: REMOTE }, answered))
  const statuses = async (): Promise<number> => await count('SELECT count(*) AS n FROM documents WHERE kind = \'status\'')

  const burst = async (keys: string[]): Promise<Answer[]> => await Promise.all(keys.map(async (k) => await post(status, { 'idempotency-key': k, 'lienthong-recipient': LOCAL_SENDER, 'lienthong-hops': hops('hub-2') }, hub2)))
  const acceptable = (a: Answer): boolean => a.status === 200 || a.status === 202 || ((a.status === 409 || a.status === 503) && a.json.code !== 'INTERNAL')

  const sameKey = await burst(Array.from({ length: 6 }, () => 'race-1'))
  t.ok(sameKey.every(acceptable), `same key: ${sameKey.map((a) => `${a.status} ${String(a.json.code ?? '')}`).join(', ')}`)
  t.ok(sameKey.some((a) => a.status === 202), 'one of them accepted it')
  t.equal(await statuses(), 1, 'one status stored')

  const freshKeys = await burst(Array.from({ length: 6 }, (_, i) => `race-2-${i}`))
  t.ok(freshKeys.every(acceptable), `fresh keys: ${freshKeys.map((a) => `${a.status} ${String(a.json.code ?? '')}`).join(', ')}`)
  t.equal(await statuses(), 1, 'still one status stored')
  t.equal(await count('SELECT count(*) AS n FROM status_events'), 1, 'one status event on D')
  t.equal(await count('SELECT count(*) AS n FROM deliveries x JOIN documents d ON d.id = x.document_id WHERE d.kind = \'status\''), 1, 'one delivery of it to H41')

  // A second document and its status, the burst with fresh keys first (all of them new to the hub).
  const outgoing2 = documentFromTo(LOCAL_SENDER, REMOTE, 62)
  t.equal((await app.inject({ method: 'POST', url: '/v1/documents', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' }, payload: outgoing2 })).statusCode, 202)
  const answered2 = answeredDocumentOf(outgoing2)
  if (answered2 == null) throw new Error('no answered document')
  const status2 = await signAsDemoAgency(REMOTE, status03({ code: REMOTE, name: REMOTE }, answered2))
  const fresh2 = await Promise.all(Array.from({ length: 6 }, async (_, i) => await post(status2, { 'idempotency-key': `race-3-${i}`, 'lienthong-recipient': LOCAL_SENDER, 'lienthong-hops': hops('hub-2') }, hub2)))
  t.ok(fresh2.every(acceptable), `fresh keys, new status: ${fresh2.map((a) => `${a.status} ${String(a.json.code ?? '')}`).join(', ')}`)
  t.equal(fresh2.filter((a) => a.status === 202).length, 1, 'exactly one accepted it')
  t.equal(await statuses(), 2, 'one more status stored')
  t.equal(await count('SELECT count(*) AS n FROM peer_arrivals WHERE idempotency_key LIKE \'race-3-%\''), 6, 'every hop answered has its arrival (a retry gets the same answer)')
  t.match(await verifySignatureLogChain(db), { ok: true }, 'the signature log chain holds')
})
