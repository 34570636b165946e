import t from 'tap'
import { randomBytes } from 'node:crypto'
import { Agent } from 'node:http'
import { Redis } from 'ioredis'
import { migrate } from '../../src/db/migrate.js'
import { openPostgres } from '../../src/db/postgres-database.js'
import { isUnavailableError } from '../../src/db/unavailable.js'
import { DeliveryQueue } from '../../src/queue/delivery-queue.js'
import { AgencyRegistry } from '../../src/registry/agency-registry.js'
import { syncAgencies } from '../../src/store/agencies.js'
import { createApiKey } from '../../src/store/credentials.js'
import { postDocument as post, tally, wrongAnswers, type Answer } from '../helpers/document-client.js'
import { REDIS_URL, testHub } from '../helpers/hub.js'
import { lienthongEnv, sleep, startLienthong, waitUntil } from '../helpers/hub-process.js'
import { PUSH_RECIPIENT, SENDER, registryWithPushUrls, signedDocuments, type SignedDocument } from '../helpers/ops-fixtures.js'
import { PrivatePostgres } from '../helpers/private-postgres.js'
import { freePort } from '../helpers/redis-server.js'
import { recipientServer } from '../helpers/recipient-server.js'

// PostgreSQL restarting under the hub: a private cluster (initdb/pg_ctl in a temp directory)
// restarted while clients are checked out of the pool. No process may exit; the request in
// flight fails (as "unavailable"), the next one reconnects.

const cluster = await PrivatePostgres.create()
t.teardown(async () => { await cluster.destroy() })
await cluster.start()

let uncaught: unknown[] = []
const onUncaught = (err: unknown): void => { uncaught.push(err) }
process.on('uncaughtException', onUncaught)
t.teardown(() => { process.removeListener('uncaughtException', onUncaught) })

t.test('a transaction open across a restart: the process stays alive, the next transaction succeeds', async (t) => {
  for (const mode of ['restart -m fast', 'stop -m immediate + start'] as const) {
    uncaught = []
    const db = await openPostgres({ connectionString: cluster.url, max: 2 })
    let release!: () => void
    const held = new Promise<void>((resolve) => { release = resolve })
    let opened!: () => void
    const isOpen = new Promise<void>((resolve) => { opened = resolve })
    const inFlight = db.transaction(async (tx) => {
      await tx.query('SELECT 1')
      opened()
      await held
      await tx.query('SELECT 2')
    })
    const outcome = inFlight.then(() => 'committed', (err: unknown) => err)
    await isOpen
    if (mode === 'restart -m fast') await cluster.restartFast()
    else {
      await cluster.stopImmediate()
      // Down: a transaction fails as unavailable, never as a crash.
      const down = await db.transaction(async (tx) => await tx.query('SELECT 1')).then(() => undefined, (err: unknown) => err)
      t.ok(isUnavailableError(down), `while down: classified as unavailable (${String(down)})`)
      await cluster.start()
    }
    // Let the terminated connection's 'error' and 'end' arrive while the client is still checked out.
    await new Promise((resolve) => setTimeout(resolve, 200))
    release()
    const result = await outcome
    t.not(result, 'committed', `${mode}: the transaction in flight failed`)
    t.ok(isUnavailableError(result), `${mode}: its error is classified as unavailable (${String(result)})`)
    const { rows } = await db.transaction(async (tx) => await tx.query<{ n: number }>('SELECT 42 AS n'))
    t.equal(rows[0]?.n, 42, `${mode}: the next transaction succeeds on a new connection`)
    t.same((await db.query<{ n: number }>('SELECT 7 AS n')).rows, [{ n: 7 }], `${mode}: pool queries succeed too`)
    t.same(uncaught, [], `${mode}: no uncaught exception`)
    await db.close()
  }
})

t.test('a COPY upload (uploadBytea) cut by a restart fails, the process stays alive, the next one succeeds', async (t) => {
  uncaught = []
  const db = await openPostgres({ connectionString: cluster.url, max: 2 })
  t.teardown(async () => { await db.close() })
  const big = Buffer.alloc(64 * 1024 * 1024, 7)
  const upload = db.transaction(async (tx) => {
    await tx.uploadBytea?.(big)
    return (await tx.query<{ n: number }>('SELECT length(b) AS n FROM lienthong_upload')).rows[0]?.n
  }).then((n) => n, (err: unknown) => err)
  await sleep(50)
  await cluster.restartFast()
  const result = await upload
  // On a fast machine the upload may finish before the restart reaches it: then it committed whole.
  t.ok(result === big.length || isUnavailableError(result), `the upload completed whole or failed as unavailable (${String(result)})`)
  const small = Buffer.from('after the restart')
  const n = await db.transaction(async (tx) => {
    await tx.uploadBytea?.(small)
    return (await tx.query<{ n: number }>('SELECT length(b) AS n FROM lienthong_upload')).rows[0]?.n
  })
  t.equal(n, small.length, 'the next upload succeeds')
  t.same(uncaught, [], 'no uncaught exception')
})

t.test('lienthong start and lienthong worker on the private cluster ride out restart -m fast and stop -m immediate + start while documents are POSTed', async (t) => {
  const setup = await openPostgres({ connectionString: cluster.url })
  await migrate(setup)
  const recipient = await recipientServer(t, { behaviour: { kind: 'healthy' } })
  const dir = t.testdir()
  const registryFile = registryWithPushUrls(dir, { [PUSH_RECIPIENT]: recipient.url })
  await syncAgencies(setup, await AgencyRegistry.load(registryFile))
  const { key } = await createApiKey(setup, SENDER, 'postgres restart test')
  const prefix = `{lt-pgrestart-${process.pid}-${randomBytes(3).toString('hex')}}`
  const queue = new DeliveryQueue(REDIS_URL, prefix)
  t.teardown(async () => {
    await queue.queue.obliterate({ force: true }).catch(() => {})
    await queue.close()
  })

  const settings = {
    DATABASE_URL: cluster.url,
    REDIS_URL,
    LIENTHONG_QUEUE_PREFIX: prefix,
    LIENTHONG_REGISTRY: registryFile,
    LIENTHONG_DATA_DIR: dir,
    LIENTHONG_PORT: '0',
    LIENTHONG_VERIFY_THREADS: '1',
    LIENTHONG_VERIFY_QUEUE: '32',
    LIENTHONG_LOG_LEVEL: 'warn',
    LIENTHONG_RECONCILE_INTERVAL_MS: '500',
    LIENTHONG_RATE_LIMIT_PER_MINUTE: '100000'
  }
  // The whole hub in one process (gateway + worker), and a separate worker beside it.
  const [hub, worker] = await Promise.all([
    startLienthong(t, 'start', lienthongEnv(settings)),
    startLienthong(t, 'worker', lienthongEnv(settings))
  ])

  const documents = signedDocuments(91_000, 250)
  let next = 0
  const answers: Answer[] = []
  const state = { sending: true }
  const agent = new Agent({ keepAlive: true, maxSockets: 4 })
  t.teardown(() => { agent.destroy() })
  const client = async (): Promise<void> => {
    while (state.sending && next < documents.length) {
      const doc = documents[next++] as SignedDocument
      const answer = await post(hub.url, key, doc, agent)
      answers.push(answer)
      // An outage: back off a little, as a client honouring Retry-After would (shortened).
      if (answer.status !== 202) await sleep(100)
    }
  }
  const clients = Promise.all([client(), client(), client(), client()])
  const acceptedAfter = (time: number): number => answers.filter((a) => a.status === 202 && a.at > time).length

  const recovery: Record<string, number> = {}
  const unavailableDuring: Record<string, number> = {}
  const fault = async (name: string, inject: () => Promise<void>): Promise<void> => {
    const before = Date.now()
    const alive = (): void => {
      if (!hub.running || !worker.running) throw new Error(`a process exited during ${name}: ${hub.describe()} ${worker.describe()}`)
    }
    await waitUntil('documents accepted before the fault', () => { alive(); return acceptedAfter(before) >= 5 }, 20_000)
    await inject()
    const back = Date.now()
    await waitUntil(`documents accepted after ${name}`, () => { alive(); return acceptedAfter(back) >= 5 }, 20_000)
    const first = answers.find((a) => a.status === 202 && a.at > back) as Answer
    recovery[name] = first.at - back
    unavailableDuring[name] = answers.filter((a) => a.status === 503 && a.at > before && a.at <= first.at).length
    t.ok(hub.running, `${name}: the hub process (start) is still running`)
    t.ok(worker.running, `${name}: the worker process is still running`)
  }
  await fault('restart -m fast', async () => { await cluster.restartFast() })
  await fault('stop -m immediate, 3 s down, start', async () => {
    await cluster.stopImmediate()
    await sleep(3000)
    await cluster.start()
  })
  state.sending = false
  await clients

  t.ok(hub.running, `the hub never exited: ${hub.running ? '' : hub.describe()}`)
  t.ok(worker.running, `the worker never exited: ${worker.running ? '' : worker.describe()}`)
  t.comment(`answers: ${JSON.stringify(tally(answers))}; first 202 after the server was back (ms): ${JSON.stringify(recovery)}; 503s per fault: ${JSON.stringify(unavailableDuring)}`)
  t.same(wrongAnswers(answers), [], 'only 202, or 503 UNAVAILABLE with Retry-After (never 500)')
  t.ok(answers.some((a) => a.status === 503 && a.code === 'UNAVAILABLE'), 'the outage was answered 503 UNAVAILABLE at least once')

  // Every 202 is stored, whole: the document row and its signature-log entry.
  const accepted = answers.filter((a) => a.status === 202)
  const ids = accepted.map((a) => a.id as string)
  const { rows } = await setup.query<{ id: string }>('SELECT id FROM documents WHERE id = ANY($1::uuid[])', [ids])
  t.equal(rows.length, ids.length, `every 202 document (${ids.length}) is in the database`)
  // A 503 document is not half-written: either absent, or stored whole (its COMMIT was lost in transit) and
  // then answered as a duplicate on retry.
  const unavailable = answers.filter((a) => a.status === 503).map((a) => a.doc.edxmlDocumentId)
  const { rows: half } = await setup.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM documents d WHERE d.edxml_document_id = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.document_id = d.id)', [unavailable])
  t.equal(half[0]?.n, 0, 'no 503 document is stored without its deliveries')
  await setup.close()
  await Promise.all([hub.stop('SIGTERM', 30_000), worker.stop('SIGTERM', 30_000)])
})

t.test('the OpenAPI document says every /v1 operation may answer 503 (UNAVAILABLE, with Retry-After)', async (t) => {
  const { app } = await testHub(t, { redisUrl: null })
  const spec = (await app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }
  const missing: string[] = []
  for (const [path, operations] of Object.entries(spec.paths)) {
    if (!path.startsWith('/v1/')) continue
    for (const [method, operation] of Object.entries(operations)) if (operation.responses['503'] == null) missing.push(`${method} ${path}`)
  }
  t.ok(Object.keys(spec.paths).some((p) => p.startsWith('/v1/')), 'the document has /v1 paths')
  t.same(missing, [], 'no /v1 operation lacks the 503')
})

t.test('errors are classified by their nature: connection failures are unavailable, defects are not', async (t) => {
  const rejection = async (p: Promise<unknown>): Promise<unknown> => await p.then(() => { throw new Error('resolved') }, (err: unknown) => err)
  const nothing = `redis://127.0.0.1:${await freePort()}`
  const pgRefused = await rejection(openPostgres({ connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/postgres` }))
  t.ok(isUnavailableError(pgRefused), `pg, nothing listening: ${String(pgRefused)}`)
  const clients = [
    new Redis(nothing, { maxRetriesPerRequest: 1 }),
    new Redis(nothing, { retryStrategy: () => null }),
    new Redis(nothing, { enableOfflineQueue: false, retryStrategy: () => null })
  ]
  for (const redis of clients) redis.on('error', () => {})
  for (const redis of clients) {
    const err = await rejection(redis.get('x'))
    t.ok(isUnavailableError(err), `ioredis: ${String(err)}`)
    redis.disconnect()
  }
  const db = await openPostgres({ connectionString: cluster.url, max: 1 })
  t.teardown(async () => { await db.close() })
  for (const sql of ['SELEC 1', 'SELECT 1/0', "SELECT 'x'::int"]) {
    const err = await rejection(db.query(sql))
    t.notOk(isUnavailableError(err), `not unavailable: ${String(err)}`)
  }
  t.notOk(isUnavailableError(new Error('something else')), 'a plain error is not')
})
