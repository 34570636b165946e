import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { startDeliveryWorker } from '../../src/delivery/delivery-worker.js'
import type { Database } from '../../src/db/database.js'
import { repairLostJobs } from '../../src/queue/reconciler.js'
import { signEdxml } from '../../src/signing/sign-document.js'
import { testDatabase } from '../helpers/database.js'
import { FIXTURES, PKI } from '../helpers/example-pki.js'
import { REDIS_URL, testHub } from '../helpers/hub.js'
import { databaseUrlOf, lienthongEnv, spawnLienthong } from '../helpers/hub-process.js'
import { PrivateRedis } from '../helpers/redis-server.js'

const G22 = '000.00.00.G22'
const H29 = '000.00.00.H29'

const pem = (...path: string[]): string => readFileSync(join(PKI, ...path), 'utf8')
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
const TEMPLATE = readFileSync(join(FIXTURES, 'templates', 'document-one-recipient.edxml'), 'utf8')

/** A G22 document to H29 (push), DocumentId/CodeNumber `n`. */
function document (n: number): Buffer {
  const xml = TEMPLATE
    .replace(/(<edXML:To>\s*<edXML:OrganId>)[^<]+/, `$1${H29}`)
    .replace('000.00.00.G22,2026/11/20,1234/VPCP-KSTT', `${G22},2026/11/20,${n}/VPCP-KSTT`)
    .replace('<edXML:CodeNumber>1234<', `<edXML:CodeNumber>${n}<`)
  return Buffer.from(signEdxml(xml, { privateKeyPem: pem('agencies', G22, 'key.pem'), certificatePem: pem('agencies', G22, 'cert.pem') + pem('agencies', G22, 'chain.pem') }))
}

async function submitAll (app: FastifyInstance, key: string, numbers: number[]): Promise<Map<string, string>> {
  const bySha = new Map<string, string>()
  for (const n of numbers) {
    const bytes = document(n)
    const res = await app.inject({ method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/xml', authorization: `Bearer ${key}` }, payload: bytes })
    if (res.statusCode !== 202) throw new Error(`submission ${n} refused: ${res.statusCode} ${res.body}`)
    bySha.set(res.json().recipients[0].deliveryId as string, sha256(bytes))
  }
  return bySha
}

/**
 * An idempotent recipient that is slow to answer: a document counts as applied as soon as its
 * whole body has arrived (before the slow answer), under its Idempotency-Key; a POST with a key
 * already applied is a duplicate, answered 200 at once and not applied again.
 */
interface SlowRecipient {
  url: string
  applied: Map<string, string>
  posts: Array<{ key: string, duplicate: boolean, sha: string }>
  open: number
}

async function slowRecipient (t: Test, delayMs: number): Promise<SlowRecipient> {
  const state: SlowRecipient = { url: '', applied: new Map(), posts: [], open: 0 }
  const server = createServer({
    key: pem('hub', 'tls-key.pem'),
    cert: pem('hub', 'tls-cert.pem') + pem('trust', 'issuing-ca.pem'),
    ca: pem('trust', 'root-ca.pem') + pem('trust', 'issuing-ca.pem'),
    requestCert: true,
    rejectUnauthorized: true
  }, (req: IncomingMessage, res: ServerResponse) => {
    const key = String(req.headers['idempotency-key'] ?? '')
    const chunks: Buffer[] = []
    state.open++
    res.on('close', () => { state.open-- })
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const sha = sha256(Buffer.concat(chunks))
      const duplicate = state.applied.has(key)
      state.posts.push({ key, duplicate, sha })
      if (duplicate) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"replay":true}')
        return
      }
      state.applied.set(key, sha)
      const timer = setTimeout(() => { if (!res.destroyed) res.writeHead(201, { 'content-type': 'application/json' }).end('{"applied":true}') }, delayMs)
      res.on('close', () => clearTimeout(timer))
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  state.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/edxml`
  t.teardown(async () => {
    const closed = new Promise((resolve) => server.close(resolve))
    server.closeAllConnections()
    await closed
  })
  return state
}

async function waitFor (what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(50)
  }
}

async function states (db: Database, ids: Iterable<string>): Promise<Map<string, { state: string, attempts: number }>> {
  const { rows } = await db.query<{ id: string, state: string, attempts: number }>('SELECT id, state, attempts FROM deliveries WHERE id = ANY($1::uuid[])', [[...ids]])
  return new Map(rows.map((r) => [r.id, { state: r.state, attempts: r.attempts }]))
}

const allDelivered = async (db: Database, ids: string[]): Promise<boolean> =>
  [...(await states(db, ids)).values()].every((s) => s.state === 'delivered')

/** What every delivery must end as: delivered once, one receipt, and the recipient applied the right bytes once. */
async function assertCompletedOnce (t: Test, db: Database, recipient: SlowRecipient, expected: Map<string, string>): Promise<void> {
  const ids = [...expected.keys()]
  const final = await states(db, ids)
  t.same([...final.values()].map((s) => s.state), ids.map(() => 'delivered'), 'every delivery ends delivered')
  t.same([...recipient.applied.keys()].sort(), [...ids].sort(), 'the recipient applied each document exactly once (distinct Idempotency-Keys = deliveries)')
  t.ok(ids.every((id) => recipient.applied.get(id) === expected.get(id)), 'under each key, the exact bytes of that document')
  t.ok(recipient.posts.every((p) => p.sha === expected.get(p.key)), 'every repeated POST carried the same bytes under the same key')
  const { rows: receipts } = await db.query<{ delivery_id: string, n: number }>(
    'SELECT delivery_id, count(*)::int AS n FROM receipts WHERE kind = \'delivery\' AND delivery_id = ANY($1::uuid[]) GROUP BY delivery_id', [ids])
  t.equal(receipts.length, ids.length, 'a delivery receipt for every delivery')
  t.ok(receipts.every((r) => r.n === 1), 'and only one each')
  const { rows: events } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM delivery_events WHERE event = \'delivered\' AND delivery_id = ANY($1::uuid[])', [ids])
  t.equal(events[0]?.n, ids.length, 'one `delivered` event per delivery')
}

// --- `lienthong worker` as a child process ---------------------------------------------------

// (spawned with test/helpers/hub-process.ts: as an operator starts it, without tap's loaders)

t.test('lienthong worker without DATABASE_URL exits 2 with one clear line', async (t) => {
  const worker = spawnLienthong(t, 'worker', lienthongEnv({ LIENTHONG_LOG_LEVEL: 'warn' }))
  const { code } = await worker.exited
  t.equal(code, 2, 'exit code 2')
  const lines = worker.stderr.trim().split('\n')
  t.equal(lines.length, 1, `one line on stderr: ${worker.stderr}`)
  t.match(lines[0], /^lienthong: .*DATABASE_URL/, 'it names DATABASE_URL')
  t.notMatch(worker.stderr, /\bat .*\.(ts|js):\d+/, 'no stack trace')
  t.equal(worker.stdout, '', 'nothing on stdout')
})

t.test('a worker killed (SIGKILL) mid-delivery: a second worker completes every delivery, none applied twice', async (t) => {
  const started = Date.now()
  const db = await testDatabase(t)
  const { app, queue, keys } = await testHub(t, { db })
  const recipient = await slowRecipient(t, 1500)
  await db.query('UPDATE agencies SET push_url = $2 WHERE code = $1', [H29, recipient.url])
  const env = lienthongEnv({
    DATABASE_URL: databaseUrlOf(db),
    REDIS_URL,
    LIENTHONG_QUEUE_PREFIX: queue!.queue.opts.prefix as string,
    LIENTHONG_PUSH_TIMEOUT_MS: '4000',
    LIENTHONG_RETRY_BASE_MS: '100',
    LIENTHONG_LOG_LEVEL: 'warn',
    LIENTHONG_DELIVERY_CONCURRENCY: '16',
    LIENTHONG_DELIVERY_PER_RECIPIENT: '6',
    LIENTHONG_RECONCILE_INTERVAL_MS: '1000',
    LIENTHONG_WORKER_LOCK_MS: '2000',
    LIENTHONG_WORKER_STALLED_MS: '1000'
  })

  // All ten are queued first, so that the kill finds six POSTs open and four jobs not yet started.
  const expected = await submitAll(app, keys[G22] as string, Array.from({ length: 10 }, (_, i) => 6001 + i))
  const ids = [...expected.keys()]
  const first = spawnLienthong(t, 'worker', env)
  await waitFor('POSTs in progress at the recipient', () => recipient.open >= 6 || first.child.exitCode != null, 30_000)
  t.equal(first.child.exitCode, null, `the first worker runs${first.stderr !== '' ? `: ${first.stderr}` : ''}`)
  t.comment(`first worker POSTing after ${Date.now() - started} ms`)
  const openAtKill = recipient.open
  const postsBeforeKill = recipient.posts.length
  first.child.kill('SIGKILL')
  await first.exited
  t.equal(first.child.signalCode, 'SIGKILL', `first worker killed with ${openAtKill} POSTs open`)
  const midway = await states(db, ids)
  const stuck = [...midway.entries()].filter(([, s]) => s.state === 'sending').map(([id]) => id)
  t.ok(stuck.length > 0, `${stuck.length} deliveries left \`sending\` by the dead worker`)
  t.ok([...midway.values()].every((s) => s.state !== 'delivered'), 'none was delivered yet (the recipient answers after 1.5 s)')

  const killedAt = Date.now()
  const second = spawnLienthong(t, 'worker', env)
  await waitFor('the second worker to start', () => second.stdout.includes('consuming deliveries') || second.child.exitCode != null, 20_000)
  t.comment(`second worker up ${Date.now() - killedAt} ms after the kill`)
  await waitFor('every delivery to be delivered', async () => await allDelivered(db, ids), 60_000)
  t.comment(`all delivered ${Date.now() - killedAt} ms after the kill`)
  second.child.kill('SIGTERM')
  t.equal((await second.exited).code, 0, 'the second worker stops cleanly on SIGTERM')
  t.notMatch(second.stderr, /"level":(50|60)/, 'the second worker logged no errors')

  await assertCompletedOnce(t, db, recipient, expected)
  const after = await states(db, stuck)
  t.ok([...after.values()].every((s) => s.attempts >= 2), 'the deliveries of the dead worker were attempted again')
  const duplicates = recipient.posts.filter((p) => p.duplicate)
  t.ok(duplicates.every((p) => stuck.includes(p.key)), 'duplicate POSTs only for deliveries the dead worker had started')
  t.ok(duplicates.length <= postsBeforeKill, 'at most one duplicate per POST the dead worker made')
  t.comment(`SIGKILL: ${recipient.posts.length} POSTs for ${ids.length} documents, ${duplicates.length} duplicate(s) answered from the Idempotency-Key, ` +
    `${openAtKill} open at the kill, recovered in ${Date.now() - started} ms overall`)
})

t.test('Redis flushed mid-run: the reconciler re-enqueues the lost jobs, every delivery completes once', async (t) => {
  const started = Date.now()
  const redis = await PrivateRedis.create()
  await redis.start()
  t.teardown(async () => { await redis.stop() })
  const { app, db, queue, keys, context } = await testHub(t, { redisUrl: redis.url })
  const recipient = await slowRecipient(t, 1000)
  await db.query('UPDATE agencies SET push_url = $2 WHERE code = $1', [H29, recipient.url])
  const workerErrors: unknown[] = []
  const worker = startDeliveryWorker({
    db,
    hub: context.hub,
    redisUrl: redis.url,
    prefix: queue!.queue.opts.prefix as string,
    concurrency: 8,
    perRecipient: 3,
    timeoutMs: 4000,
    retry: { baseDelayMs: 100, maxDelayMs: 1000, windowMs: 120_000 },
    lockDurationMs: 2000,
    stalledIntervalMs: 1000,
    tls: { cert: Buffer.from(pem('hub', 'tls-cert.pem')), key: Buffer.from(pem('hub', 'tls-key.pem')), ca: Buffer.from(pem('trust', 'root-ca.pem')) },
    onError: (err) => workerErrors.push(err)
  })
  t.teardown(async () => { await worker.close(3000) })

  const expected = await submitAll(app, keys[G22] as string, Array.from({ length: 8 }, (_, i) => 7001 + i))
  const ids = [...expected.keys()]
  await waitFor('POSTs in progress at the recipient', () => recipient.open >= 2, 20_000)
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 })
  t.teardown(() => { admin.disconnect() })
  t.equal(await admin.flushall(), 'OK', 'the private Redis is flushed while deliveries are in progress')
  const lostAtFlush = [...(await states(db, ids)).values()].filter((s) => s.state !== 'delivered').length
  t.ok(lostAtFlush > 0, `${lostAtFlush} deliveries not yet delivered when their jobs vanished`)
  t.same(await queue!.missing(ids), ids, 'no job of ours is left in Redis')

  // The in-flight POSTs finish and are recorded; the rest would wait forever without the reconciler.
  await sleep(1500)
  const waiting = [...(await states(db, ids)).values()].filter((s) => s.state !== 'delivered').length
  t.ok(waiting > 0, `${waiting} deliveries wait with no job behind them`)
  let repaired = 0
  await waitFor('every delivery to be delivered', async () => {
    repaired += await repairLostJobs(db, queue!, 0)
    return await allDelivered(db, ids)
  }, 45_000)
  // Not necessarily all `waiting` ones: a job already inside the worker (its POST still open, or
  // waiting there for the recipient's next slot) finishes its delivery without a job in Redis.
  t.ok(repaired > 0 && repaired <= waiting, `repairLostJobs re-enqueued ${repaired} of the ${waiting} stranded job(s)`)
  await assertCompletedOnce(t, db, recipient, expected)
  const duplicates = recipient.posts.filter((p) => p.duplicate).length
  t.comment(`Redis flush: ${recipient.posts.length} POSTs for ${ids.length} documents, ${duplicates} duplicate(s), ${repaired} job(s) re-enqueued, ` +
    `${workerErrors.length} worker error event(s) (${[...new Set(workerErrors.map((e) => (e as Error).message.replace(/[0-9a-f-]{36}/g, '<id>')))].join('; ')}), ${Date.now() - started} ms`)
})
