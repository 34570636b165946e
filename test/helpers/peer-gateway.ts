import { request } from 'node:https'
import { join } from 'node:path'
import type { Test } from 'tap'
import { buildGateway } from '../../src/gateway/app.js'
import { AgencyRegistry } from '../../src/registry/agency-registry.js'
import { storedPeerHubs } from '../../src/routing/peer-hubs.js'
import { StoredRoutes } from '../../src/routing/stored-routes.js'
import { syncAgencies } from '../../src/store/agencies.js'
import { upsertPeer, upsertRule } from '../../src/store/routes.js'
import { verifyDocument } from '../../src/verification/verify-document.js'
import { testDatabase, type TestPostgres } from './database.js'
import { examplePolicy, PKI } from './example-pki.js'
import { exampleHubIdentity } from './hub.js'
import { hubTlsPki } from './hub-tls.js'

/**
 * The /peer gateway of the peer attack tests (test/security/attack-peer*.test.ts): hub-3, on a
 * fresh PostgreSQL schema holding the given agencies of the example registry, with peers hub-2
 * (the route to `remote`) and hub-4 registered and pinned to the first certificates of a test TLS
 * PKI, over real mutual TLS. A fourth certificate of the same CA is pinned to no peer (`stranger`).
 */
export interface Client { cert: Buffer, key: Buffer }
export interface Answer { status: number, json: Record<string, unknown> }

export async function startPeerGateway (t: Test, options: { agencies: readonly string[], remote: string }) {
  const pki = await hubTlsPki(4)
  const [self, hub2, hub4, stranger] = pki.certs as [typeof pki.certs[0], typeof pki.certs[0], typeof pki.certs[0], typeof pki.certs[0]]
  const db: TestPostgres = await testDatabase(t)
  const registry = await AgencyRegistry.load(join(PKI, 'registry.json'))
  await syncAgencies(db, { all: () => registry.all().filter((a) => options.agencies.includes(a.code)) } as unknown as AgencyRegistry)
  const policy = await examplePolicy()
  const identity = await exampleHubIdentity()
  const signing = [identity.certificate.fingerprint256.replace(/:/g, '').toLowerCase()]
  for (const [id, cert] of [['hub-2', hub2], ['hub-4', hub4]] as const) {
    await upsertPeer(db, { hub_id: id, base_url: 'https://127.0.0.1:1', server_certificates: [cert.fingerprint], client_certificates: [cert.fingerprint], signing_certificates: signing, source: 'cli' })
  }
  await upsertRule(db, { rule_kind: 'explicit', pattern: options.remote, target_kind: 'peer', target_id: 'hub-2', source: 'cli' })
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

  /** POSTs to /peer/v1/documents as `client` (null: no client certificate); the answer's JSON. */
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
  const count = async (sql: string): Promise<number> => Number((await db.query<{ n: string }>(sql)).rows[0]?.n)
  return { app, pki, self, hub2, hub4, stranger, db, identity, maxBytes, base, url, post, count }
}
