import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { attemptDelivery, type DeliveryDependencies } from '../../src/delivery/attempt-delivery.js'
import type { RouteDelivery, RouteSendOutcome } from '../../src/outbound/route-sender.js'
import { AgencyRegistry } from '../../src/registry/agency-registry.js'
import { StoredRoutes } from '../../src/routing/stored-routes.js'
import { syncRoutes } from '../../src/store/routes.js'
import { PKI } from '../helpers/example-pki.js'
import { testDatabase, type TeardownHost } from '../helpers/database.js'
import { exampleHubIdentity, testHub } from '../helpers/hub.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'

// Recipients routed at acceptance through the HTTP API (real PostgreSQL and Redis): a code behind
// a peer gets a delivery row carrying its route, an unroutable one is refused with its own code
// and a signature-log entry, and the delivery worker hands routed deliveries to the sender of
// their kind, or holds them while there is none.

const G22 = '000.00.00.G22'
const FP = 'ab'.repeat(32)
const demo = JSON.parse(readFileSync(join(PKI, 'registry.json'), 'utf8')) as Record<string, unknown>
const routing = AgencyRegistry.fromJson({
  ...demo,
  peers: [{ id: 'hub-h98', url: 'https://hub-h98.example', serverCertificates: [FP], clientCertificates: [FP], signingCertificates: [FP], prefixes: ['H98'] }],
  upstreams: [{ id: 'national-axis', endpoint: 'https://axis.example/vdxp', systemId: 'h41', secretEnv: 'AXIS_SECRET' }],
  routes: { explicit: [{ code: '000.00.00.G99', to: { upstream: 'national-axis' } }] }
}).routing

let n = 1000
const post = async (app: import('fastify').FastifyInstance, key: string, to: string) => await app.inject({
  method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/xml', authorization: `Bearer ${key}` }, payload: documentFromTo(G22, to, n++)
})

async function routedHub (t: TeardownHost) {
  const db = await testDatabase(t)
  await db.transaction(async (tx) => await syncRoutes(tx, routing))
  return await testHub(t, { db, routes: new StoredRoutes(db) })
}

const accepted: Array<[to: string, route: Record<string, string>]> = [
  ['000.00.31.H98', { kind: 'peer', target: 'hub-h98', source: 'prefix', rule: 'H98' }],
  ['000.00.00.G99', { kind: 'upstream', target: 'national-axis', source: 'explicit', rule: '000.00.00.G99' }],
  ['000.00.00.G12', { kind: 'local', source: 'agency', rule: '000.00.00.G12' }]
]

t.test('routed recipients: 202, the route in the answer and on the delivery row, remote ones queued like pushes', async (t) => {
  const { app, db, queue, keys } = await routedHub(t)
  for (const [to, route] of accepted) {
    const res = await post(app, keys[G22]!, to)
    t.equal(res.statusCode, 202, res.body)
    const recipient = res.json().recipients[0]
    t.same(recipient.route, route, `${to}: route in the answer`)
    const { rows } = await db.query<Record<string, unknown>>('SELECT mode, state, route_kind, route_target, route_source, route_rule FROM deliveries WHERE id = $1', [recipient.deliveryId])
    t.same(rows[0], {
      mode: route.kind === 'local' ? 'pull' : 'push',
      state: route.kind === 'local' ? 'available' : 'queued',
      route_kind: route.kind,
      route_target: route.target ?? null,
      route_source: route.source,
      route_rule: route.rule
    }, `${to}: delivery row`)
    if (route.kind !== 'local') t.ok(await queue!.queue.getJob(recipient.deliveryId), `${to}: a job exists`)
  }
})

t.test('an unroutable recipient: 422 RECIPIENT_UNROUTABLE with a signature-log entry; a hub without routes keeps RECIPIENT_UNKNOWN', async (t) => {
  for (const [name, hub, code] of [['routed', await routedHub(t), 'RECIPIENT_UNROUTABLE'], ['no routes', await testHub(t), 'RECIPIENT_UNKNOWN']] as const) {
    const res = await post(hub.app, hub.keys[G22]!, '000.00.00.Z77')
    t.equal(res.statusCode, 422, name)
    const body = res.json()
    t.equal(body.code, code, name)
    t.same(body.recipients, [{ code: '000.00.00.Z77', error: code }], `${name}: the recipient named`)
    const { rows } = await hub.db.query<{ verdict: string, reason_code: string }>('SELECT verdict, reason_code FROM signature_log WHERE id = $1', [body.signatureLogEntry])
    t.same(rows[0], { verdict: 'rejected', reason_code: code }, `${name}: logged`)
    const { rows: deliveries } = await hub.db.query('SELECT 1 FROM deliveries')
    t.equal(deliveries.length, 0, `${name}: nothing stored to deliver`)
  }
})

t.test('the worker: no sender holds a routed delivery (never failed); a sender delivers or fails it, fenced like a push', async (t) => {
  const { app, db, keys } = await routedHub(t)
  const deliveryTo = async (to: string): Promise<string> => (await post(app, keys[G22]!, to)).json().recipients[0].deliveryId
  const deps: DeliveryDependencies = {
    db, hub: await exampleHubIdentity(), retry: { baseDelayMs: 10, maxDelayMs: 10, windowMs: 60_000 }, timeoutMs: 1000, actor: 'test', holdMs: 0
  }
  const row = async (id: string) => (await db.query<{ state: string, attempts: number, last_error: string | null }>('SELECT state, attempts, last_error FROM deliveries WHERE id = $1', [id])).rows[0]
  const events = async (id: string) => (await db.query<{ event: string, detail: string }>('SELECT event, detail FROM delivery_events WHERE delivery_id = $1 ORDER BY id', [id])).rows

  const held = await deliveryTo('000.00.12.H98')
  for (let i = 0; i < 3; i++) t.match(await attemptDelivery(deps, held), { state: 'waiting_retry', attempted: false }, `look ${i + 1}: held`)
  t.match(await row(held), { state: 'waiting_retry', attempts: 0, last_error: /no peer sender is configured/ }, 'waiting, no attempt counted')
  t.same((await events(held)).map((e) => e.event), ['held'], 'the reason once in the trail')

  const seen: RouteDelivery[] = []
  const peer = (outcome: RouteSendOutcome) => ({ send: async (d: RouteDelivery) => { seen.push(d); return outcome } })
  const recorded: string[] = []
  const delivered = await attemptDelivery({
    ...deps,
    routeSenders: { peer: peer({ kind: 'delivered', status: 202, answer: 'accepted as X', detail: 'hub-h98 accepted', record: async (tx) => { await tx.query('SELECT 1'); recorded.push('in tx') } }) }
  }, held)
  t.match(delivered, { state: 'delivered', changed: true })
  t.match(await row(held), { state: 'delivered', attempts: 1 })
  t.same(recorded, ['in tx'], 'the sender\'s record ran in the settling transaction')
  t.match(seen[0], { deliveryId: held, recipientCode: '000.00.12.H98', senderCode: G22, target: { kind: 'peer', hubId: 'hub-h98' }, rule: 'H98', attempt: 1 })
  t.match((await seen[0]!.bytes()).toString('utf8'), /<edXML:OrganId>000\.00\.12\.H98</, 'the stored signed bytes')
  t.match((await events(held)).at(-1), { event: 'forwarded', detail: /handed to peer:hub-h98: hub-h98 accepted/ })

  const refused = await deliveryTo('000.00.13.H98')
  t.match(await attemptDelivery({ ...deps, routeSenders: { peer: peer({ kind: 'permanent', reason: 'LOOP_DETECTED', status: 409 }) } }, refused), { state: 'failed' })
  const { rows: notices } = await db.query('SELECT 1 FROM receipts WHERE delivery_id = $1 AND kind = \'failure\'', [refused])
  t.equal(notices.length, 1, 'a signed failure notice for the sender')

  const throwing = await deliveryTo('000.00.14.H98')
  const result = await attemptDelivery({ ...deps, routeSenders: { peer: { send: async () => { throw new Error('peer down') } } } }, throwing)
  t.match(result, { state: 'waiting_retry' }, 'a sender that throws is retried')
  t.match(await row(throwing), { state: 'waiting_retry', attempts: 1, last_error: /peer sender failed: peer down/ })

  const upstream = await deliveryTo('000.00.00.G99')
  t.match(await attemptDelivery({ ...deps, routeSenders: { peer: peer({ kind: 'delivered' }) } }, upstream), { state: 'waiting_retry', attempted: false }, 'a peer sender does not carry upstream deliveries')
})

t.test('a recipient equal to an agency of this hub ignoring letter case: refused at acceptance, never sent on the default route', async (t) => {
  // A default route (everything unknown goes upstream) and a prefix rule matching the code: with
  // exact matching alone, 000.00.00.h41 would leave for the axis instead of being refused.
  const withDefault = AgencyRegistry.fromJson({
    ...demo,
    upstreams: [{ id: 'national-axis', endpoint: 'https://axis.example/vdxp', systemId: 'h41', secretEnv: 'AXIS_SECRET' }],
    routes: { prefixes: [{ prefix: 'h41', to: { upstream: 'national-axis' } }], default: { upstream: 'national-axis' } }
  }).routing
  const db = await testDatabase(t)
  await db.transaction(async (tx) => await syncRoutes(tx, withDefault))
  const { app, keys } = await testHub(t, { db, routes: new StoredRoutes(db) })
  const cases: Array<[string, string, number, string | undefined]> = [
    ['lower-case variant of a local agency', '000.00.00.h41', 422, 'RECIPIENT_CASE_MISMATCH'],
    ['mixed-case variant of a local agency', '000.00.00.g12', 422, 'RECIPIENT_CASE_MISMATCH'],
    ['control: the exact local code', '000.00.00.H41', 202, undefined],
    ['control: an unknown code takes the default route', '000.00.00.Z77', 202, undefined]
  ]
  for (const [name, to, status, code] of cases) {
    const res = await post(app, keys[G22]!, to)
    t.equal(res.statusCode, status, `${name}: ${res.body.slice(0, 300)}`)
    if (code == null) continue
    const body = res.json()
    t.equal(body.code, code, name)
    t.same(body.recipients, [{ code: to, error: code }], `${name}: the recipient named`)
    t.match(body.detail, /only in letter case/, name)
    const { rows } = await db.query<{ verdict: string, reason_code: string }>('SELECT verdict, reason_code FROM signature_log WHERE id = $1', [body.signatureLogEntry])
    t.same(rows[0], { verdict: 'rejected', reason_code: code }, `${name}: logged`)
  }
  const { rows } = await db.query<{ recipient_code: string, route_kind: string }>('SELECT recipient_code, route_kind FROM deliveries ORDER BY recipient_code')
  t.same(rows, [{ recipient_code: '000.00.00.H41', route_kind: 'local' }, { recipient_code: '000.00.00.Z77', route_kind: 'upstream' }], 'no delivery for a case variant, on any route')
})

t.test('a held delivery\'s retry window counts from when it could first be sent, not from its creation', async (t) => {
  const { app, db, keys } = await routedHub(t)
  const deliveryTo = async (to: string): Promise<string> => (await post(app, keys[G22]!, to)).json().recipients[0].deliveryId
  const deps: DeliveryDependencies = {
    db, hub: await exampleHubIdentity(), retry: { baseDelayMs: 10, maxDelayMs: 10, windowMs: 60_000 }, timeoutMs: 1000, actor: 'test', holdMs: 0
  }
  const peerDown = { peer: { send: async (): Promise<RouteSendOutcome> => ({ kind: 'retry', reason: 'peer down' }) } }
  // Both created two days ago, far beyond the 60 s window; one of them was held (no peer sender
  // in the worker) until now, the other was sendable all along.
  const held = await deliveryTo('000.00.21.H98')
  const sendable = await deliveryTo('000.00.22.H98')
  await db.query('UPDATE deliveries SET created_at = now() - interval \'2 days\' WHERE id = ANY($1)', [[held, sendable]])
  t.match(await attemptDelivery(deps, held), { state: 'waiting_retry', attempted: false }, 'held: no sender yet')
  const cases: Array<[string, string, string]> = [
    ['held for two days, then its first attempt fails: retried (the window starts at the hold)', held, 'waiting_retry'],
    ['sendable for two days, its attempt fails: the window is over', sendable, 'failed']
  ]
  for (const [name, id, state] of cases) {
    t.match(await attemptDelivery({ ...deps, routeSenders: peerDown }, id), { state }, name)
  }
  const { rows } = await db.query<{ held_at: Date | null, created_at: Date }>('SELECT held_at, created_at FROM deliveries WHERE id = $1', [held])
  t.ok(rows[0]?.held_at != null && rows[0].held_at > rows[0].created_at, 'the hold is recorded on the row')
})
