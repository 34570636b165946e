import t from 'tap'
import { randomBytes } from 'node:crypto'
import { readdirSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { DeliveryQueue } from '../../src/queue/delivery-queue.js'
import { AgencyRegistry } from '../../src/registry/agency-registry.js'
import { syncAgencies } from '../../src/store/agencies.js'
import { upsertUpstream } from '../../src/store/routes.js'
import { insertVdxpSystem } from '../../src/store/vdxp-systems.js'
import { sealSecret } from '../../src/vdxp/secret-box.js'
import { testDatabase } from '../helpers/database.js'
import { PKI } from '../helpers/example-pki.js'
import { REDIS_URL, testHub } from '../helpers/hub.js'
import { lienthongEnv, opsHubSettings, sleep, startLienthong, waitUntil } from '../helpers/hub-process.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'
import { submitV1 } from './two-hubs.js'

// A `lienthong worker` process (the compiled CLI, as an operator runs it next to `serve`) polls an
// upstream VDXP axis and verifies what it fetches in a verification pool of its own
// (src/hub/start-worker.ts): no gateway runs in hub 1 here, so nothing but that pool can verify.
// The axis is hub 2, a real gateway with its /vdxp API on HTTP, where hub 1 is the VDXP system
// `hub-1` serving H41. A valid document is accepted and stored for H41; one changed on the axis
// after G22 signed it is refused with its reason code and a signature-log entry; the pool's
// threads exist while the worker runs and are closed, not cut off, when it stops.

const SENDER = '000.00.00.G22'
const OURS = '000.00.00.H41'
const THREADS = 2

/** Threads of a running process (Linux): the pool's worker threads are among them. */
const threadsOf = (pid: number): number => readdirSync(`/proc/${pid}/task`).length

t.test('a worker process verifies what it polls from an upstream axis in its own pool', async (t) => {
  // Hub 2: the axis.
  const key = randomBytes(32)
  const hub2 = await testHub(t, { redisUrl: null, vdxpKey: key, authFailuresPerMinute: 10_000 })
  const secret = randomBytes(24).toString('base64')
  await insertVdxpSystem(hub2.db, { systemId: 'hub-1', agencies: [OURS], allowDirectoryChanges: false, sealed: sealSecret(key, 'hub-1', secret), ipAllowList: [] })
  await hub2.app.listen({ port: 0, host: '127.0.0.1' })
  const endpoint = `http://127.0.0.1:${(hub2.app.server.address() as AddressInfo).port}/vdxp`

  // Hub 1: its database seeded from the demo registry, as its gateway would have done.
  const db = await testDatabase(t)
  const registryFile = join(PKI, 'registry.json')
  await syncAgencies(db, await AgencyRegistry.load(registryFile))
  const prefix = `{lt-worker-upstream-${process.pid}-${randomBytes(3).toString('hex')}}`
  t.teardown(async () => {
    const queue = new DeliveryQueue(REDIS_URL, prefix)
    await queue.queue.obliterate({ force: true }).catch(() => {})
    await queue.close()
  })
  const env = lienthongEnv(opsHubSettings({ db, redisUrl: REDIS_URL, prefix, registryFile, dir: t.testdir() }, {
    LIENTHONG_VERIFY_THREADS: String(THREADS),
    LIENTHONG_UPSTREAM_POLL_MS: '1000',
    LIENTHONG_SHUTDOWN_TIMEOUT_MS: '10000',
    HUB_2_SECRET: secret
  }))

  // The same worker without an upstream starts no pool: its thread count is the reference.
  const plain = await startLienthong(t, 'worker', env)
  await sleep(500)
  const plainThreads = threadsOf(plain.pid)
  t.equal((await plain.stop()).code, 0, 'the worker without upstream stops cleanly')

  await upsertUpstream(db, { upstream_id: 'hub-2', endpoint, system_id: 'hub-1', secret_file: null, secret_env: 'HUB_2_SECRET', source: 'cli' })
  const worker = await startLienthong(t, 'worker', env)

  const valid = documentFromTo(SENDER, OURS, 9101)
  const validOnHub2 = await submitV1(t, hub2, SENDER, valid)
  await waitUntil('the worker to accept the polled document', async () =>
    (await db.query('SELECT 1 FROM upstream_received WHERE outcome = \'accepted\'')).rows.length === 1, 60_000)
  const stored = await db.query<{ raw: Uint8Array, sender_code: string }>('SELECT raw, sender_code FROM documents')
  t.equal(stored.rows.length, 1, 'hub 1 holds the document once')
  t.ok(Buffer.from(stored.rows[0]?.raw ?? []).equals(valid), 'byte for byte what G22 signed')
  t.match((await db.query('SELECT recipient_code, state FROM deliveries')).rows, [{ recipient_code: OURS, state: 'available' }], 'waiting in H41\'s inbox on hub 1')
  t.match((await db.query('SELECT verdict, reason_code, authenticated_agency FROM signature_log')).rows, [{ verdict: 'accepted', reason_code: null, authenticated_agency: 'upstream:hub-2' }])
  await waitUntil('hub 2 to have it acknowledged', async () =>
    (await hub2.db.query('SELECT 1 FROM deliveries WHERE document_id = $1 AND state = \'acknowledged\'', [validOnHub2])).rows.length === 1, 30_000)

  // Changed on the axis after G22 signed it: the pool refuses it, nothing is stored.
  const tampered = documentFromTo(SENDER, OURS, 9102)
  const tamperedOnHub2 = await submitV1(t, hub2, SENDER, tampered)
  await hub2.db.query('UPDATE documents SET raw = $1 WHERE id = $2', [Buffer.from(tampered.toString('utf8').replace('<edXML:CodeNumber>9102<', '<edXML:CodeNumber>9103<')), tamperedOnHub2])
  await waitUntil('the worker to refuse the tampered document', async () =>
    (await db.query('SELECT 1 FROM upstream_received WHERE outcome = \'rejected\'')).rows.length === 1, 60_000)
  t.match((await db.query('SELECT outcome, reason_code, ack_status FROM upstream_received WHERE outcome = \'rejected\'')).rows, [{ outcome: 'rejected', reason_code: 'DIGEST_MISMATCH' }])
  t.match((await db.query('SELECT verdict, reason_code, authenticated_agency FROM signature_log WHERE verdict = \'rejected\'')).rows,
    [{ verdict: 'rejected', reason_code: 'DIGEST_MISMATCH', authenticated_agency: 'upstream:hub-2' }], 'one signature-log entry with the reason')
  t.equal((await db.query('SELECT 1 FROM documents')).rows.length, 1, 'still only the valid document stored')
  await waitUntil('hub 2 to have it failed', async () =>
    (await hub2.db.query('SELECT 1 FROM deliveries WHERE document_id = $1 AND state = \'failed\'', [tamperedOnHub2])).rows.length === 1, 30_000)

  const poolThreads = threadsOf(worker.pid)
  t.ok(poolThreads >= plainThreads + THREADS, `the worker with an upstream runs ${THREADS} more threads, its pool's (${poolThreads} threads, ${plainThreads} without upstream)`)

  // Stopping: the worker closes everything, the pool among them, within its deadline; a pool
  // that kept its threads would hold the close past LIENTHONG_SHUTDOWN_TIMEOUT_MS.
  const exit = await worker.stop('SIGTERM', 60_000)
  t.equal(exit.code, 0, 'exit 0')
  t.match(worker.stdout, /lienthong worker: SIGTERM, finishing current deliveries/)
  t.notMatch(worker.stdout, /left to other workers/, 'closed before its deadline, not cut off by it')
})
