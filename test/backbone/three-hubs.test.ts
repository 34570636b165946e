import { randomBytes, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config/config.js'
import { startHub, type RunningHub } from '../../src/hub/start-hub.js'
import type { AgencyEntry, RegistryFile } from '../../src/registry/registry-format.js'
import { createApiKey } from '../../src/store/credentials.js'
import { getRaw } from '../../src/store/documents.js'
import { answeredDocumentOf, status03 } from '../../src/demo/demo-documents.js'
import { signAsDemoAgency } from '../../src/demo/demo-agencies.js'
import { testDatabase, type TestPostgres } from '../helpers/database.js'
import { PKI } from '../helpers/example-pki.js'
import { REDIS_URL } from '../helpers/hub.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'
import { waitUntil } from '../helpers/hub-process.js'
import { examplePolicy } from '../helpers/example-pki.js'
import { DirectorySnapshot } from '../../src/routing/directory/directory-provider.js'
import { verifyDirectory } from '../../src/routing/directory/directory-signature.js'
import { DirectoryRefusal } from '../../src/routing/directory/directory-refusal.js'

// Three lienthong hubs as `lienthong start` builds them (startHub: the configuration, the
// registry file with its peers and routes, the gateway over mutual TLS, the worker
// with its peer sender), each with its own example hub identity (certs-example/hub, hubs/hub-2,
// hubs/hub-3), PostgreSQL schema and queue prefix. Agency A on hub 1 reaches agency C on hub 3
// through hub 2; C's status comes back the same way; hub 2 stopped for a while delays a document
// but loses nothing; a routing loop (1 -> 2 -> 1) is refused; an agency added to hub 3 becomes
// reachable from hub 1 by hub 3's signed directory alone, and a forged or stale directory counts
// for nothing. No hub lists another's agencies (no `peerAgencies`): each binds the sender of a
// forwarded document in the signed directory of the hub it started at. One setup for every case: three hubs in one process are cheaper than nine
// processes on a shared machine.

const A = '000.00.00.H41'
const C = '000.00.00.G12'
/** Misrouted on purpose: hub 1 sends it to hub 2, hub 2 back to hub 1. */
const LOOPED = '000.00.00.G22'
/** Not served anywhere at first; then added to hub 3's registry (and so to its signed directory). */
const LATE = '000.00.00.H29'

interface HubSpec { id: string, dir: string, port: number, local: string[], routes: Array<{ code: string, to: string }> }

const fingerprintOf = (file: string): string => new X509Certificate(readFileSync(file)).fingerprint256.replace(/:/g, '').toLowerCase()

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { resolve(typeof address === 'object' && address != null ? address.port : 0) })
    })
  })
}

function databaseUrlOf (db: TestPostgres): string {
  const separator = db.connectionString.includes('?') ? '&' : '?'
  return `${db.connectionString}${separator}options=${encodeURIComponent(`-c search_path=${db.schema}`)}`
}

t.test('three hubs wired by their configuration', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'lt-backbone-'))
  t.teardown(async () => { await rm(work, { recursive: true, force: true }) })
  const demo = JSON.parse(readFileSync(join(PKI, 'registry.json'), 'utf8')) as RegistryFile
  const entry = (code: string): AgencyEntry => demo.agencies.find((a) => a.code === code) as AgencyEntry
  // The gateways present leaf + issuing CA, and accept client certificates chaining to the example root.
  const chain = readFileSync(join(PKI, 'trust', 'issuing-ca.pem'), 'utf8')
  const clientCa = join(work, 'client-ca.pem')
  await writeFile(clientCa, readFileSync(join(PKI, 'trust', 'root-ca.pem'), 'utf8') + chain)

  const specs: HubSpec[] = [
    { id: 'hub', dir: join(PKI, 'hub'), port: await freePort(), local: [A], routes: [{ code: C, to: 'hub-2' }, { code: LOOPED, to: 'hub-2' }] },
    { id: 'hub-2', dir: join(PKI, 'hubs', 'hub-2'), port: await freePort(), local: [], routes: [{ code: C, to: 'hub-3' }, { code: LOOPED, to: 'hub' }] },
    { id: 'hub-3', dir: join(PKI, 'hubs', 'hub-3'), port: await freePort(), local: [C], routes: [] }
  ]

  const configs = new Map<string, ReturnType<typeof loadConfig>>()
  const dbs = new Map<string, TestPostgres>()
  const registryFileOf = (spec: HubSpec): string => join(work, `${spec.id}-registry.json`)
  const writeRegistry = async (spec: HubSpec): Promise<void> => {
    const others = specs.filter((s) => s !== spec)
    const registry: RegistryFile = {
      version: 1,
      agencies: spec.local.map(entry),
      // No peerAgencies: agencies served elsewhere are known by their hubs' signed directories only.
      peers: others.map((o) => ({
        id: o.id,
        url: `https://127.0.0.1:${o.port}`,
        serverCertificates: [fingerprintOf(join(o.dir, 'tls-cert.pem'))],
        clientCertificates: [fingerprintOf(join(o.dir, 'tls-cert.pem'))],
        signingCertificates: [fingerprintOf(join(o.dir, 'signing-cert.pem'))],
        agencies: [],
        prefixes: []
      })),
      routes: { explicit: spec.routes.map((r) => ({ code: r.code, to: { peer: r.to } })), prefixes: [] }
    }
    await writeFile(registryFileOf(spec), JSON.stringify(registry, null, 2))
  }
  for (const spec of specs) {
    await writeRegistry(spec)
    const tlsCert = join(work, `${spec.id}-tls-chain.pem`)
    await writeFile(tlsCert, readFileSync(join(spec.dir, 'tls-cert.pem'), 'utf8') + chain)
    const db = await testDatabase(t)
    dbs.set(spec.id, db)
    configs.set(spec.id, loadConfig({
      DATABASE_URL: databaseUrlOf(db),
      REDIS_URL,
      LIENTHONG_HOST: '127.0.0.1',
      LIENTHONG_PORT: String(spec.port),
      LIENTHONG_QUEUE_PREFIX: `{lt-backbone-${spec.id}-${randomBytes(3).toString('hex')}}`,
      LIENTHONG_HUB_ID: spec.id,
      LIENTHONG_HUB_KEY: join(spec.dir, 'signing-key.pem'),
      LIENTHONG_HUB_CERT: join(spec.dir, 'signing-cert.pem'),
      LIENTHONG_TLS_KEY: join(spec.dir, 'tls-key.pem'),
      LIENTHONG_TLS_CERT: tlsCert,
      LIENTHONG_TLS_CLIENT_CA: clientCa,
      LIENTHONG_PUSH_CLIENT_CERT: join(spec.dir, 'tls-cert.pem'),
      LIENTHONG_PUSH_CLIENT_KEY: join(spec.dir, 'tls-key.pem'),
      LIENTHONG_REGISTRY: registryFileOf(spec),
      LIENTHONG_DIRECTORY_REFRESH_MS: '1000',
      LIENTHONG_VERIFY_THREADS: '1',
      LIENTHONG_RETRY_BASE_MS: '200',
      LIENTHONG_RECONCILE_INTERVAL_MS: '500',
      LIENTHONG_SHUTDOWN_TIMEOUT_MS: '2000',
      LIENTHONG_LOG_LEVEL: 'silent'
    }))
  }

  const running = new Map<string, RunningHub>()
  const start = async (id: string): Promise<RunningHub> => {
    const hub = await startHub(configs.get(id) as ReturnType<typeof loadConfig>, { role: 'start' })
    running.set(id, hub)
    return hub
  }
  const stop = async (id: string): Promise<void> => {
    await running.get(id)?.close()
    running.delete(id)
  }
  t.teardown(async () => {
    for (const [id, hub] of running) {
      await hub.queue.queue.obliterate({ force: true }).catch(() => {})
      await stop(id)
    }
  })
  for (const spec of specs) await start(spec.id)
  const hub1 = running.get('hub') as RunningHub
  const hub3 = running.get('hub-3') as RunningHub
  const [db1, db2, db3] = specs.map((s) => dbs.get(s.id) as TestPostgres) as [TestPostgres, TestPostgres, TestPostgres]
  const keyA = (await createApiKey(db1, A, 'test')).key
  const keyC = (await createApiKey(db3, C, 'test')).key
  const asA = { authorization: `Bearer ${keyA}`, 'content-type': 'application/xml' }
  const at3 = async (edxmlNumber: number): Promise<{ document_id: string } | undefined> =>
    (await db3.query<{ document_id: string }>(
      `SELECT x.document_id FROM deliveries x JOIN documents d ON d.id = x.document_id
       WHERE x.recipient_code = $1 AND x.state = 'available' AND d.edxml_document_id LIKE $2`, [C, `%,${edxmlNumber}/VPCP-KSTT`])).rows[0]

  // A hub binds a forwarded document's sender by the origin hub's directory: each must hold the
  // directory of every hub that serves agencies before the first document leaves.
  const needed: Array<[TestPostgres, Array<[string, string]>]> = [[db1, [['hub-3', C]]], [db2, [['hub', A], ['hub-3', C]]], [db3, [['hub', A]]]]
  for (const [db, listings] of needed) {
    await waitUntil('every hub to hold the directories of the hubs serving A and C', async () => {
      const held = (await DirectorySnapshot.load(db)).codesByHub()
      return listings.every(([hubId, code]) => held.get(hubId)?.includes(code) === true)
    }, 60_000)
  }

  let docId = ''
  let atC: Buffer | undefined
  await t.test('A on hub 1 reaches C on hub 3 through hub 2, bytes untouched, every hop receipted', async (t) => {
    const bytes = documentFromTo(A, C, 1)
    const sent = await hub1.app.inject({ method: 'POST', url: '/v1/documents', headers: asA, payload: bytes })
    t.equal(sent.statusCode, 202, sent.body)
    docId = sent.json<{ id: string }>().id
    let arrived: { document_id: string } | undefined
    await waitUntil('the document in C\'s inbox at hub 3', async () => { arrived = await at3(1); return arrived != null }, 60_000)
    atC = await getRaw(db3, (arrived as { document_id: string }).document_id)
    t.ok(atC?.equals(bytes), 'C\'s bytes are identical to what A signed')
    const travel = (await db3.query<{ hops: Array<{ hub: string }>, received_from_hub: string }>('SELECT hops, received_from_hub FROM documents WHERE id = $1', [arrived?.document_id])).rows[0]
    t.same(travel?.hops.map((h) => h.hub), ['hub', 'hub-2'], 'hub 3 recorded the hops')
    t.equal(travel?.received_from_hub, 'hub-2')
    const bound = (await db3.query<{ flags: string[] }>('SELECT flags FROM signature_log WHERE hub_document_id = $1', [arrived?.document_id])).rows[0]
    t.ok(bound?.flags.some((f) => f.startsWith('sender-bound-by-directory:hub@')), `hub 3 bound A's signer by hub 1's signed directory, not a registry entry (${bound?.flags.join(' ') ?? 'no entry'})`)

    const view = await hub1.app.inject({ method: 'GET', url: `/v1/documents/${docId}`, headers: asA })
    const forwarded = view.json<{ forwarded: Array<{ peerHub: string, receiptVerified: boolean, receipt: string }> }>().forwarded
    t.equal(forwarded.length, 1)
    t.equal(forwarded[0]?.peerHub, 'hub-2')
    t.equal(forwarded[0]?.receiptVerified, true, 'hub 2\'s receipt verified against hub 2\'s own signing certificate')
    const route = (await db1.query<{ route_kind: string, route_target: string }>('SELECT route_kind, route_target FROM deliveries WHERE document_id = $1', [docId])).rows
    t.same(route, [{ route_kind: 'peer', route_target: 'hub-2' }], 'routed by hub 1\'s route table')
    const at2 = (await db2.query<{ verified: boolean, peer_hub_id: string }>('SELECT verified, peer_hub_id FROM hop_receipts')).rows
    t.same(at2, [{ verified: true, peer_hub_id: 'hub-3' }], 'hub 2 kept hub 3\'s verified receipt for its hop')
  })

  await t.test('C\'s status 03 goes back 3 -> 2 -> 1 onto A\'s document', async (t) => {
    const answered = answeredDocumentOf(atC as Buffer)
    const status = await signAsDemoAgency(C, status03({ code: C, name: 'Bộ Tài chính' }, answered as NonNullable<typeof answered>))
    const reply = await hub3.app.inject({ method: 'POST', url: '/v1/documents', headers: { authorization: `Bearer ${keyC}`, 'content-type': 'application/xml' }, payload: status })
    t.equal(reply.statusCode, 202, reply.body)
    await waitUntil('status 03 at hub 1', async () => {
      const v = await hub1.app.inject({ method: 'GET', url: `/v1/documents/${docId}`, headers: asA })
      return v.json<{ statusEvents: Array<{ statusCode: string, recipient: string }> }>().statusEvents.some((e) => e.statusCode === '03' && e.recipient === C)
    }, 60_000)
    const bound = (await db1.query<{ flags: string[] }>('SELECT l.flags FROM signature_log l JOIN documents d ON d.id = l.hub_document_id WHERE d.kind = \'status\'')).rows
    t.ok(bound.some((r) => r.flags.some((f) => f.startsWith('sender-bound-by-directory:hub-3@'))), 'hub 1 bound C\'s signer by hub 3\'s signed directory (no peerAgencies entry)')
    const back = (await db3.query<{ route_kind: string, route_target: string, route_source: string }>('SELECT x.route_kind, x.route_target, x.route_source FROM deliveries x JOIN documents d ON d.id = x.document_id WHERE d.kind = \'status\'')).rows
    t.same(back, [{ route_kind: 'peer', route_target: 'hub-2', route_source: 'return' }], 'hub 3 sent it back to the hub the document came from')
  })

  await t.test('hub 2 stopped for a while delays a document but loses nothing', async (t) => {
    await stop('hub-2')
    const bytes = documentFromTo(A, C, 2)
    const sent = await hub1.app.inject({ method: 'POST', url: '/v1/documents', headers: asA, payload: bytes })
    t.equal(sent.statusCode, 202, sent.body)
    const id = sent.json<{ id: string }>().id
    const stateAt1 = async (): Promise<{ state: string, attempts: number } | undefined> =>
      (await db1.query<{ state: string, attempts: number }>('SELECT state, attempts FROM deliveries WHERE document_id = $1', [id])).rows[0]
    await waitUntil('hub 1 to find hub 2 down and retry', async () => { const s = await stateAt1(); return s?.state === 'waiting_retry' && s.attempts >= 2 }, 60_000)
    t.equal(await at3(2), undefined, 'nothing reached hub 3 while hub 2 was down')
    await start('hub-2')
    await waitUntil('the delayed document in C\'s inbox at hub 3', async () => (await at3(2)) != null, 90_000)
    t.equal((await stateAt1())?.state, 'delivered', 'hub 1\'s delivery done once hub 2 was back')
    const copies = (await db3.query<{ n: string }>('SELECT count(*) AS n FROM documents WHERE edxml_document_id LIKE $1', ['%,2/VPCP-KSTT'])).rows[0]
    t.equal(Number(copies?.n), 1, 'exactly one copy at hub 3')
  })

  await t.test('a routing loop (hub 2 routes back to hub 1) is refused and the sender told', async (t) => {
    const loop = await hub1.app.inject({ method: 'POST', url: '/v1/documents', headers: asA, payload: documentFromTo(A, LOOPED, 3) })
    t.equal(loop.statusCode, 202, loop.body)
    let failed: { state: string, last_response: string | null } | undefined
    await waitUntil('the looped delivery to fail', async () => {
      failed = (await db1.query<{ state: string, last_response: string | null }>('SELECT state, last_response FROM deliveries WHERE recipient_code = $1', [LOOPED])).rows[0]
      return failed?.state === 'failed'
    }, 60_000)
    t.match(failed?.last_response, /HOP_LOOP/, 'hub 1 keeps hub 2\'s HOP_LOOP answer')
  })
  await t.test('an agency added to hub 3\'s directory becomes reachable from hub 1 without touching hub 1\'s configuration', async (t) => {
    const before = await hub1.app.inject({ method: 'POST', url: '/v1/documents', headers: asA, payload: documentFromTo(A, LATE, 4) })
    t.equal(before.statusCode, 422, 'nothing leads to it yet')
    t.equal(before.json<{ code: string }>().code, 'RECIPIENT_UNROUTABLE')
    const spec3 = specs[2] as HubSpec
    spec3.local = [C, LATE]
    await writeRegistry(spec3)
    await hub3.reload()
    await waitUntil('hub 1 to hold hub 3\'s new directory', async () => (await DirectorySnapshot.load(db1)).lookup(LATE).found, 60_000)
    const sent = await hub1.app.inject({ method: 'POST', url: '/v1/documents', headers: asA, payload: documentFromTo(A, LATE, 5) })
    t.equal(sent.statusCode, 202, sent.body)
    const route = (await db1.query<{ route_kind: string, route_target: string, route_source: string }>('SELECT route_kind, route_target, route_source FROM deliveries WHERE document_id = $1', [sent.json<{ id: string }>().id])).rows
    t.same(route, [{ route_kind: 'peer', route_target: 'hub-3', route_source: 'directory' }], 'routed by hub 3\'s signed directory')
    await waitUntil('the document at hub 3 for the new agency', async () =>
      (await db3.query('SELECT 1 FROM deliveries x JOIN documents d ON d.id = x.document_id WHERE x.recipient_code = $1 AND d.edxml_document_id LIKE $2', [LATE, '%,5/VPCP-KSTT'])).rows.length === 1, 60_000)
    t.pass('hub 3 accepted it for its new agency')
  })

  await t.test('a forged or stale directory is refused', async (t) => {
    const policy = await examplePolicy()
    const served = async (hub: RunningHub): Promise<Buffer> => (await hub.app.inject({ method: 'GET', url: '/.well-known/lienthong/directory' })).rawPayload
    const own = await served(hub3)
    const pin3 = { fingerprintsSha256: [fingerprintOf(join((specs[2] as HubSpec).dir, 'signing-cert.pem'))] }
    const cases: Array<[string, Buffer, string | undefined]> = [
      ['hub 3\'s directory as it serves it', own, undefined],
      ['an agency code changed after signing', Buffer.from(own.toString('utf8').replace(`<Code>${LATE}</Code>`, '<Code>000.00.00.X99</Code>')), 'DIRECTORY_SIGNATURE_INVALID'],
      ['hub 2\'s directory passed off as hub 3\'s', await served(running.get('hub-2') as RunningHub), 'DIRECTORY_SIGNER_NOT_PEER']
    ]
    for (const [name, bytes, expected] of cases) {
      let code: string | undefined
      try {
        await verifyDirectory(bytes, policy.trustStore, { signer: pin3, now: new Date(), requireRevocation: true })
      } catch (err) {
        code = err instanceof DirectoryRefusal ? err.code : String(err)
      }
      t.equal(code, expected, name)
    }
    // Past its valid-until, the directory hub 1 holds from hub 3 answers nothing (fail closed).
    const snapshot = await DirectorySnapshot.load(db1)
    const held = snapshot.directories.find((d) => d.hubId === 'hub-3')
    t.ok(held, 'hub 1 holds hub 3\'s directory')
    const after = new Date((held?.validUntil.getTime() ?? 0) + 1000)
    t.same(snapshot.lookup(LATE, after), { found: false, why: 'expired', hubIds: ['hub-3'] }, 'stale: no route by it')
    t.equal(snapshot.peerFor(LATE, after), undefined)
  })
})
