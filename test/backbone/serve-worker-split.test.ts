import { randomBytes, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:https'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config/config.js'
import { startHub, type RunningHub } from '../../src/hub/start-hub.js'
import type { AgencyEntry, RegistryFile } from '../../src/registry/registry-format.js'
import { DirectorySnapshot } from '../../src/routing/directory/directory-provider.js'
import { createApiKey } from '../../src/store/credentials.js'
import { getRaw } from '../../src/store/documents.js'
import { answeredDocumentOf, status03 } from '../../src/demo/demo-documents.js'
import { signAsDemoAgency } from '../../src/demo/demo-agencies.js'
import { testDatabase, type TestPostgres } from '../helpers/database.js'
import { PKI } from '../helpers/example-pki.js'
import { REDIS_URL } from '../helpers/hub.js'
import { databaseUrlOf, lienthongEnv, startLienthong, waitUntil } from '../helpers/hub-process.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'

// Peer forwarding with hub 1 run as an operator runs a cluster: `lienthong serve` (the gateway,
// /peer included) and `lienthong worker` (deliveries, the peer sender, the refresh of peers'
// directories) as separate processes of the compiled CLI, on one database and queue prefix.
// Hub 2 is `start` in this process. A on hub 1 sends to C on hub 2 (hub 1's worker forwards);
// C's status goes back to hub 1's gateway, which binds C's signer by hub 2's signed directory
// (fetched by hub 1's worker, no peerAgencies), and the LIENTHONG_HOP_LIMIT of the serve process
// refuses a hop list as long as its limit.

const A = '000.00.00.H41'
const C = '000.00.00.G12'
const T = '2026-05-01T10:00:00.000Z'

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

t.test('peer forwarding through a serve + worker hub', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'lt-split-'))
  t.teardown(async () => { await rm(work, { recursive: true, force: true }) })
  const demo = JSON.parse(readFileSync(join(PKI, 'registry.json'), 'utf8')) as RegistryFile
  const entry = (code: string): AgencyEntry => demo.agencies.find((a) => a.code === code) as AgencyEntry
  const rootCa = readFileSync(join(PKI, 'trust', 'root-ca.pem'), 'utf8')
  const chain = readFileSync(join(PKI, 'trust', 'issuing-ca.pem'), 'utf8')
  const clientCa = join(work, 'client-ca.pem')
  await writeFile(clientCa, rootCa + chain)
  const hubs = [
    { id: 'hub', dir: join(PKI, 'hub'), port: await freePort(), local: A, peer: 'hub-2', routeTo: C },
    { id: 'hub-2', dir: join(PKI, 'hubs', 'hub-2'), port: await freePort(), local: C, peer: 'hub', routeTo: undefined }
  ] as const
  const settings = new Map<string, Record<string, string>>()
  const dbs = new Map<string, TestPostgres>()
  for (const hub of hubs) {
    const other = hubs.find((h) => h.id !== hub.id) as typeof hubs[number]
    const registry: RegistryFile = {
      version: 1,
      agencies: [entry(hub.local)],
      peers: [{
        id: other.id,
        url: `https://127.0.0.1:${other.port}`,
        serverCertificates: [fingerprintOf(join(other.dir, 'tls-cert.pem'))],
        clientCertificates: [fingerprintOf(join(other.dir, 'tls-cert.pem'))],
        signingCertificates: [fingerprintOf(join(other.dir, 'signing-cert.pem'))],
        agencies: [],
        prefixes: []
      }],
      routes: { explicit: hub.routeTo != null ? [{ code: hub.routeTo, to: { peer: other.id } }] : [], prefixes: [] }
    }
    const registryFile = join(work, `${hub.id}-registry.json`)
    await writeFile(registryFile, JSON.stringify(registry, null, 2))
    const tlsCert = join(work, `${hub.id}-tls-chain.pem`)
    await writeFile(tlsCert, readFileSync(join(hub.dir, 'tls-cert.pem'), 'utf8') + chain)
    const db = await testDatabase(t)
    dbs.set(hub.id, db)
    settings.set(hub.id, {
      DATABASE_URL: databaseUrlOf(db),
      REDIS_URL,
      LIENTHONG_HOST: '127.0.0.1',
      LIENTHONG_PORT: String(hub.port),
      LIENTHONG_QUEUE_PREFIX: `{lt-split-${hub.id}-${randomBytes(3).toString('hex')}}`,
      LIENTHONG_HUB_ID: hub.id,
      LIENTHONG_HUB_KEY: join(hub.dir, 'signing-key.pem'),
      LIENTHONG_HUB_CERT: join(hub.dir, 'signing-cert.pem'),
      LIENTHONG_TLS_KEY: join(hub.dir, 'tls-key.pem'),
      LIENTHONG_TLS_CERT: tlsCert,
      LIENTHONG_TLS_CLIENT_CA: clientCa,
      LIENTHONG_PUSH_CLIENT_CERT: join(hub.dir, 'tls-cert.pem'),
      LIENTHONG_PUSH_CLIENT_KEY: join(hub.dir, 'tls-key.pem'),
      LIENTHONG_REGISTRY: registryFile,
      LIENTHONG_DATA_DIR: join(work, hub.id),
      LIENTHONG_DIRECTORY_REFRESH_MS: '1000',
      LIENTHONG_VERIFY_THREADS: '1',
      LIENTHONG_RETRY_BASE_MS: '200',
      LIENTHONG_RECONCILE_INTERVAL_MS: '500',
      LIENTHONG_SHUTDOWN_TIMEOUT_MS: '2000',
      LIENTHONG_HOP_LIMIT: '3',
      LIENTHONG_LOG_LEVEL: 'warn'
    })
  }
  const db1 = dbs.get('hub') as TestPostgres
  const db2 = dbs.get('hub-2') as TestPostgres

  const hub2: RunningHub = await startHub(loadConfig(settings.get('hub-2') as Record<string, string>), { role: 'start' })
  t.teardown(async () => {
    await hub2.queue.queue.obliterate({ force: true }).catch(() => {})
    await hub2.close()
  })
  const env1 = lienthongEnv(settings.get('hub') as Record<string, string>)
  const serve = await startLienthong(t, 'serve', env1)
  await startLienthong(t, 'worker', env1)

  // The directories the sender bindings need: hub 1's (fetched by hub 2) and hub 2's (fetched by hub 1's worker).
  await waitUntil('hub 1\'s worker to hold hub 2\'s directory', async () => (await DirectorySnapshot.load(db1)).lookup(C).found, 60_000)
  await waitUntil('hub 2 to hold hub 1\'s directory', async () => (await DirectorySnapshot.load(db2)).lookup(A).found, 60_000)

  const keyA = (await createApiKey(db1, A, 'test')).key
  const keyC = (await createApiKey(db2, C, 'test')).key
  const toServe = async (path: string, body: Buffer | undefined, headers: Record<string, string>, client?: { cert: Buffer, key: Buffer }): Promise<{ status: number, json: Record<string, unknown> }> =>
    await new Promise((resolve, reject) => {
      const r = request(new URL(path, serve.url), {
        method: body == null ? 'GET' : 'POST', ca: rootCa + chain, agent: false, headers, ...(client ?? {})
      }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }))
      })
      r.on('error', reject)
      r.end(body)
    })

  const bytes = documentFromTo(A, C, 1)
  const sent = await toServe('/v1/documents', bytes, { authorization: `Bearer ${keyA}`, 'content-type': 'application/xml' })
  t.equal(sent.status, 202, JSON.stringify(sent.json).slice(0, 300))
  const docId = sent.json.id as string
  let arrived: string | undefined
  await waitUntil('the document in C\'s inbox at hub 2 (forwarded by hub 1\'s worker process)', async () => {
    arrived = (await db2.query<{ document_id: string }>('SELECT document_id FROM deliveries WHERE recipient_code = $1 AND state = \'available\'', [C])).rows[0]?.document_id
    return arrived != null
  }, 60_000)
  const atC = await getRaw(db2, arrived as string)
  t.ok(atC?.equals(bytes), 'C\'s bytes are identical to what A signed')
  // Hub 2 stores the document before it answers; hub 1's worker records the answer just after.
  await waitUntil('hub 1\'s worker to record the hop', async () =>
    (await db1.query('SELECT 1 FROM deliveries WHERE document_id = $1 AND state = \'delivered\'', [docId])).rows.length === 1, 30_000)
  t.same((await db1.query('SELECT route_kind, route_target, state FROM deliveries WHERE document_id = $1', [docId])).rows, [{ route_kind: 'peer', route_target: 'hub-2', state: 'delivered' }], 'hub 1\'s worker delivered it to hub 2')
  t.equal((await db1.query('SELECT 1 FROM hop_receipts WHERE verified')).rows.length, 1, 'with hub 2\'s verified receipt')

  const answered = answeredDocumentOf(atC as Buffer)
  const status = await signAsDemoAgency(C, status03({ code: C, name: 'Bộ Tài chính' }, answered as NonNullable<typeof answered>))
  const reply = await hub2.app.inject({ method: 'POST', url: '/v1/documents', headers: { authorization: `Bearer ${keyC}`, 'content-type': 'application/xml' }, payload: status })
  t.equal(reply.statusCode, 202, reply.body)
  await waitUntil('status 03 at hub 1 (received by its serve process)', async () =>
    (await db1.query('SELECT 1 FROM status_events WHERE document_id = $1 AND status_code = \'03\' AND from_code = $2', [docId, C])).rows.length === 1, 60_000)
  const bound = (await db1.query<{ flags: string[] }>('SELECT l.flags FROM signature_log l JOIN documents d ON d.id = l.hub_document_id WHERE d.kind = \'status\'')).rows[0]
  t.ok(bound?.flags.some((f) => f.startsWith('sender-bound-by-directory:hub-2@')), `hub 1's gateway bound C's signer by hub 2's directory (${bound?.flags.join(' ') ?? 'no entry'})`)

  // The serve process reads LIENTHONG_HOP_LIMIT (3): three hops already is one too many.
  const peer2 = { cert: readFileSync(join(PKI, 'hubs', 'hub-2', 'tls-cert.pem')), key: readFileSync(join(PKI, 'hubs', 'hub-2', 'tls-key.pem')) }
  const long = await toServe('/peer/v1/documents', documentFromTo(C, A, 2), {
    'content-type': 'application/xml', 'idempotency-key': 'split-1', 'lienthong-recipient': A, 'lienthong-hops': ['x', 'y', 'hub-2'].map((h) => `${h};${T}`).join(', ')
  }, peer2)
  t.equal(long.status, 409, JSON.stringify(long.json).slice(0, 300))
  t.equal(long.json.code, 'HOP_LIMIT')
})
