import { randomBytes } from 'node:crypto'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildGateway } from '../../src/gateway/app.js'
import { startDeliveryWorker, type DeliveryWorker } from '../../src/delivery/delivery-worker.js'
import { DeliveryQueue } from '../../src/queue/delivery-queue.js'
import { AgencyRegistry } from '../../src/registry/agency-registry.js'
import { syncAgencies } from '../../src/store/agencies.js'
import { createApiKey } from '../../src/store/credentials.js'
import { getRaw } from '../../src/store/documents.js'
import { verifyDocument } from '../../src/verification/verify-document.js'
import { verifyReceipt, hubPinOf } from '../../src/evidence/receipts.js'
import { staticPeerHubs, staticRoutes, type PeerHub } from '../../src/routing/peer-hubs.js'
import type { RouteTarget } from '../../src/routing/route.js'
import { answeredDocumentOf, status03 } from '../../src/demo/demo-documents.js'
import { signAsDemoAgency } from '../../src/demo/demo-agencies.js'
import { hubTlsPki } from '../helpers/hub-tls.js'
import { testDatabase } from '../helpers/database.js'
import { examplePolicy, PKI } from '../helpers/example-pki.js'
import { exampleHubIdentity, REDIS_URL } from '../helpers/hub.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'
import { waitUntil } from '../helpers/hub-process.js'
import { join } from 'node:path'

// Three lienthong hubs in one run (issue 13), each with its own PostgreSQL schema, Redis queue
// prefix, TLS identity and hub id, wired as peers over mutual TLS: agency A on hub 1 sends to
// agency C on hub 3 through hub 2; C's status 03 comes back the same way; a routing loop
// (1 -> 2 -> 1) is refused with HOP_LOOP. In-process gateways and workers: one process is cheaper
// than nine on a shared 2-core machine; the forwarding path is the same code.

const A = '000.00.00.H41'
const C = '000.00.00.G12'
/** Misrouted on purpose: hub 1 sends it to hub 2, hub 2 back to hub 1. */
const LOOPED = '000.00.00.G22'

interface Hub {
  id: string
  app: FastifyInstance
  url: string
  keys: Record<string, string>
  worker: DeliveryWorker
  db: Awaited<ReturnType<typeof testDatabase>>
}

t.test('three hubs: A on hub 1 reaches C on hub 3 through hub 2, and the status comes back', async (t) => {
  const pki = await hubTlsPki(3)
  const policy = await examplePolicy()
  const identity = await exampleHubIdentity()
  const registry = await AgencyRegistry.load(join(PKI, 'registry.json'))
  const peers: PeerHub[] = []
  const routesOf: Record<string, Record<string, RouteTarget>> = {
    'hub-1': { G12: { kind: 'peer', hubId: 'hub-2' }, [LOOPED]: { kind: 'peer', hubId: 'hub-2' } },
    'hub-2': { [C]: { kind: 'peer', hubId: 'hub-3' }, [LOOPED]: { kind: 'peer', hubId: 'hub-1' } },
    'hub-3': {}
  }
  const agenciesOf: Record<string, string[]> = { 'hub-1': [A], 'hub-2': [], 'hub-3': [C] }

  const hubs: Hub[] = []
  for (let i = 0; i < 3; i++) {
    const id = `hub-${i + 1}`
    const tls = pki.certs[i] as { cert: Buffer, key: Buffer, fingerprint: string }
    const db = await testDatabase(t)
    const local = agenciesOf[id] as string[]
    await syncAgencies(db, { all: () => registry.all().filter((a) => local.includes(a.code)) } as unknown as AgencyRegistry)
    const keys: Record<string, string> = {}
    for (const code of local) keys[code] = (await createApiKey(db, code, 'test')).key
    const prefix = `{lt-backbone-${randomBytes(4).toString('hex')}}`
    const queue = new DeliveryQueue(REDIS_URL, prefix)
    // The list is filled once every hub listens: looked up at call time, each hub's peers being the others.
    const others = {
      byId: async (hubId: string) => await staticPeerHubs(peers.filter((p) => p.hubId !== id)).byId(hubId),
      byClientCertificate: async (fp: string) => await staticPeerHubs(peers.filter((p) => p.hubId !== id)).byClientCertificate(fp)
    }
    const app = await buildGateway({
      db,
      verify: async (bytes) => await verifyDocument(bytes, policy),
      queue,
      hub: identity,
      maxBytes: 50 * 1024 * 1024,
      rateLimitPerMinute: 100_000,
      hubId: id,
      peers: others,
      routes: staticRoutes(routesOf[id] as Record<string, RouteTarget>)
    }, { https: { cert: tls.cert, key: tls.key, ca: pki.ca, requestCert: true, rejectUnauthorized: false } })
    const url = await app.listen({ host: '127.0.0.1', port: 0 })
    const worker = startDeliveryWorker({
      db,
      hub: identity,
      retry: { baseDelayMs: 200, maxDelayMs: 1000, windowMs: 120_000 },
      timeoutMs: 5000,
      tls: { cert: tls.cert, key: tls.key, ca: pki.ca },
      redisUrl: REDIS_URL,
      prefix,
      concurrency: 4,
      perRecipient: 2,
      forwarding: { hubId: id, peers: others, verifyReceipt: async (xml, pin) => await verifyReceipt(xml, policy.trustStore, { hub: pin }) }
    })
    t.teardown(async () => {
      await worker.close(2000)
      await app.close()
      await queue.queue.obliterate({ force: true }).catch(() => {})
      await queue.close()
    })
    peers.push({ hubId: id, baseUrl: url, serverPin: { fingerprints: [tls.fingerprint] }, clientCertificates: [tls.fingerprint], signingPin: hubPinOf(identity.certificate) })
    hubs.push({ id, app, url, keys, worker, db })
  }
  const [hub1, hub2, hub3] = hubs as [Hub, Hub, Hub]
  const asAgency = (hub: Hub, code: string) => ({ authorization: `Bearer ${hub.keys[code] as string}`, 'content-type': 'application/xml' })

  // A sends to C: hub 1 knows C only by the route (prefix G12 -> hub 2).
  const bytes = documentFromTo(A, C, 1)
  const sent = await hub1.app.inject({ method: 'POST', url: '/v1/documents', headers: asAgency(hub1, A), payload: bytes })
  t.equal(sent.statusCode, 202, sent.body)
  const docId = sent.json<{ id: string }>().id

  // C's inbox on hub 3 gets the very bytes A signed.
  let c: { document_id: string } | undefined
  await waitUntil('the document at hub 3', async () => {
    c = (await hub3.db.query<{ document_id: string }>('SELECT document_id FROM deliveries WHERE recipient_code = $1 AND state = \'available\'', [C])).rows[0]
    return c != null
  }, 45_000)
  const atC = await getRaw(hub3.db, (c as { document_id: string }).document_id)
  t.ok(atC?.equals(bytes), 'C\'s bytes are identical to what A sent')
  const viewAt3 = (await hub3.db.query<{ hops: Array<{ hub: string }>, received_from_hub: string }>('SELECT hops, received_from_hub FROM documents WHERE id = $1', [c?.document_id])).rows[0]
  t.same(viewAt3?.hops.map((h) => h.hub), ['hub-1', 'hub-2'], 'hub 3 recorded the hops')
  t.equal(viewAt3?.received_from_hub, 'hub-2')

  // A sees its forward with hub 2's verified receipt.
  const view = await hub1.app.inject({ method: 'GET', url: `/v1/documents/${docId}`, headers: asAgency(hub1, A) })
  const forwarded = view.json<{ forwarded: Array<{ peerHub: string, receiptVerified: boolean, receipt: string }> }>().forwarded
  t.equal(forwarded.length, 1)
  t.equal(forwarded[0]?.peerHub, 'hub-2')
  t.equal(forwarded[0]?.receiptVerified, true, 'hub 2\'s acceptance receipt verified against its pinned signing certificate')
  t.match(forwarded[0]?.receipt, /<Receipt/)
  const at2 = (await hub2.db.query<{ verified: boolean, peer_hub_id: string }>('SELECT verified, peer_hub_id FROM hop_receipts')).rows
  t.same(at2, [{ verified: true, peer_hub_id: 'hub-3' }], 'hub 2 kept hub 3\'s verified receipt for its hop')

  // C answers 03 on hub 3; it travels 3 -> 2 -> 1 and lands on A's document.
  const answered = answeredDocumentOf(atC as Buffer)
  const status = await signAsDemoAgency(C, status03({ code: C, name: 'Bộ Tài chính' }, answered as NonNullable<typeof answered>))
  const reply = await hub3.app.inject({ method: 'POST', url: '/v1/documents', headers: asAgency(hub3, C), payload: status })
  t.equal(reply.statusCode, 202, reply.body)
  await waitUntil('status 03 at hub 1', async () => {
    const v = await hub1.app.inject({ method: 'GET', url: `/v1/documents/${docId}`, headers: asAgency(hub1, A) })
    return v.json<{ statusEvents: Array<{ statusCode: string, recipient: string }> }>().statusEvents.some((e) => e.statusCode === '03' && e.recipient === C)
  }, 45_000)
  t.pass('C\'s status 03 is on A\'s document at hub 1')

  // A loop by misconfigured routes: hub 2 sends LOOPED back to hub 1; refused with HOP_LOOP.
  const loop = await hub1.app.inject({ method: 'POST', url: '/v1/documents', headers: asAgency(hub1, A), payload: documentFromTo(A, LOOPED, 2) })
  t.equal(loop.statusCode, 202, loop.body)
  let failed: { state: string, last_response: string | null } | undefined
  await waitUntil('the looped delivery to fail', async () => {
    failed = (await hub1.db.query<{ state: string, last_response: string | null }>('SELECT state, last_response FROM deliveries WHERE recipient_code = $1', [LOOPED])).rows[0]
    return failed?.state === 'failed'
  }, 45_000)
  t.match(failed?.last_response, /HOP_LOOP/, 'the forwarding hub keeps the peer\'s HOP_LOOP answer')
})
