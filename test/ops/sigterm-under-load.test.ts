import t from 'tap'
import { randomBytes } from 'node:crypto'
import { Agent, request } from 'node:http'
import { DeliveryQueue } from '../../src/queue/delivery-queue.js'
import { AgencyRegistry } from '../../src/registry/agency-registry.js'
import { syncAgencies } from '../../src/store/agencies.js'
import { createApiKey } from '../../src/store/credentials.js'
import { testDatabase } from '../helpers/database.js'
import { REDIS_URL } from '../helpers/hub.js'
import { lienthongEnv, opsHubSettings, sleep, startLienthong, waitUntil } from '../helpers/hub-process.js'
import { PUSH_RECIPIENT, SENDER, registryWithPushUrls, signedDocuments, type SignedDocument } from '../helpers/ops-fixtures.js'
import { recipientServer } from '../helpers/recipient-server.js'

// A rolling restart under load: SIGTERM reaches a gateway while agencies are sending, then a
// worker while it is pushing to a slow recipient. Nothing accepted may be lost or half-stored,
// and nothing may be answered 202 that is not stored.

const CLIENTS = 4
/** The gateway is stopped once this many documents were accepted (the others are in flight or not sent yet). */
const ACCEPTED_BEFORE_STOP = 12
const GATEWAY_SHUTDOWN_MS = 10_000
const WORKER_SHUTDOWN_MS = 1000
/**
 * The recipient answers this late (then, for the second worker, at once): much longer than the
 * worker's shutdown deadline plus slack, so a worker that waits for its deliveries instead of
 * keeping its deadline fails the test.
 */
const RECIPIENT_DELAY_MS = 20_000
/** How long past its own deadline a process may take to exit (node teardown, a loaded machine). */
const SLACK_MS = 10_000

interface Outcome { doc: SignedDocument, sentAfterSigterm: boolean, answeredAfterSigterm?: boolean, status?: number, body?: string, error?: string }
/** POST over node:http, so the test decides which connection (pooled keep-alive, or a new one) carries it. */
async function postDocument (url: string, key: string, body: Buffer, agent: Agent | false): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request(`${url}/v1/documents`, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/xml', 'content-length': body.length, authorization: `Bearer ${key}` },
      timeout: GATEWAY_SHUTDOWN_MS + SLACK_MS
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('no answer')))
    req.on('error', reject)
    req.end(body)
  })
}

interface Accepted { id: string, signatureLogEntry: number, recipients: Array<{ code: string, deliveryId?: string }> }

t.test('SIGTERM under load: the gateway drains, the worker hands its deliveries over', async (t) => {
  const db = await testDatabase(t)
  const prefix = `{lt-sigterm-${process.pid}-${randomBytes(3).toString('hex')}}`
  const queue = new DeliveryQueue(REDIS_URL, prefix)
  t.teardown(async () => {
    await queue.queue.obliterate({ force: true }).catch(() => {})
    await queue.close()
  })
  const recipient = await recipientServer(t, { behaviour: { kind: 'slow', delayMs: RECIPIENT_DELAY_MS } })
  const dir = t.testdir()
  const registryFile = registryWithPushUrls(dir, { [PUSH_RECIPIENT]: recipient.url })
  await syncAgencies(db, await AgencyRegistry.load(registryFile))
  const { key } = await createApiKey(db, SENDER, 'sigterm test')
  const settings = opsHubSettings({ db, redisUrl: REDIS_URL, prefix, registryFile, dir }, {
    LIENTHONG_PUSH_TIMEOUT_MS: '30000',
    LIENTHONG_DELIVERY_PER_RECIPIENT: '4',
    // A worker that dies or gives up its jobs: another takes them over within seconds.
    LIENTHONG_WORKER_LOCK_MS: '2000',
    LIENTHONG_WORKER_STALLED_MS: '1000'
  })
  const documents = signedDocuments(72_000, 40)
  const started = Date.now()
  const [gateway, worker] = await Promise.all([
    startLienthong(t, 'serve', lienthongEnv({ ...settings, LIENTHONG_SHUTDOWN_TIMEOUT_MS: String(GATEWAY_SHUTDOWN_MS) })),
    startLienthong(t, 'worker', lienthongEnv({ ...settings, LIENTHONG_SHUTDOWN_TIMEOUT_MS: String(WORKER_SHUTDOWN_MS) }))
  ])

  // --- the gateway ------------------------------------------------------------------------------
  // CLIENTS senders keep POSTing new documents over keep-alive connections (like a proxy's
  // connection pool); once enough are accepted the gateway gets SIGTERM while requests are in
  // flight. A sender then stops and keeps its connection open and idle, as a pool does: the
  // gateway must close it itself. Late senders, on new connections, keep trying until they have
  // been refused three times.
  const pool = new Agent({ keepAlive: true })
  t.teardown(() => { pool.destroy() })
  const outcomes: Outcome[] = []
  let next = 0
  let accepted = 0
  const signalled = { sigterm: false }
  const send = async (agent: Agent | false): Promise<Outcome> => {
    const outcome: Outcome = { doc: documents[next++] as SignedDocument, sentAfterSigterm: signalled.sigterm }
    outcomes.push(outcome)
    try {
      Object.assign(outcome, await postDocument(gateway.url, key, outcome.doc.bytes, agent))
    } catch (err) {
      outcome.error = (err as { code?: string }).code ?? (err as Error).message
    }
    outcome.answeredAfterSigterm = signalled.sigterm
    if (outcome.status === 202) accepted++
    return outcome
  }
  const gatewayExit = (async () => {
    await waitUntil(`${ACCEPTED_BEFORE_STOP} documents accepted`, () => accepted >= ACCEPTED_BEFORE_STOP || !gateway.running, 30_000)
    signalled.sigterm = true
    return await gateway.stop('SIGTERM', GATEWAY_SHUTDOWN_MS + SLACK_MS)
  })()
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (!signalled.sigterm && next < documents.length) await send(pool)
  }))
  await Promise.all(Array.from({ length: 2 }, async () => {
    let refusals = 0
    while (refusals < 3 && next < documents.length) {
      if ((await send(false)).status !== 202) refusals++
      await sleep(20)
    }
  }))
  t.comment(`gateway stopped ${Date.now() - started} ms after start`)
  t.same(await gatewayExit, { code: 0, signal: null }, `the gateway exits 0 within its ${GATEWAY_SHUTDOWN_MS} ms deadline, connections of finished requests closed`)
  t.match(gateway.stdout, /lienthong: SIGTERM, stopping/, 'and says why')

  const answered = outcomes.filter((o) => o.status === 202)
  const refused = outcomes.filter((o) => o.status !== 202)
  t.comment(`gateway: ${answered.length} accepted (${answered.filter((o) => o.sentAfterSigterm).length} of them sent after SIGTERM), ` +
    `refused: ${[...new Set(refused.map((o) => o.status ?? o.error))].join(', ')} (${refused.length})`)
  t.ok(answered.length >= ACCEPTED_BEFORE_STOP, 'documents were accepted before the stop')
  t.same(refused.filter((o) => !o.sentAfterSigterm).map((o) => o.status ?? o.error), [], 'every request sent before SIGTERM was answered 202 (in flight ones finished)')
  t.ok(answered.some((o) => !o.sentAfterSigterm && o.answeredAfterSigterm === true), 'some of them were in flight when SIGTERM came')
  t.ok(refused.length > 0, 'requests sent after SIGTERM were refused')
  t.same(refused.filter((o) => o.status != null && o.status !== 503).map((o) => `${o.status ?? ''} ${o.body ?? ''}`), [],
    'a refused request is a connection error or a 503, never another answer')

  const acceptedIds = answered.map((o) => (JSON.parse(o.body as string) as Accepted).id)
  const { rows: stored } = await db.query<{ id: string, digest_sha256: string, signature_log_id: number | null }>('SELECT id, digest_sha256, signature_log_id FROM documents')
  t.same(new Set(stored.map((d) => d.id)), new Set(acceptedIds), 'exactly the documents answered 202 are stored (none lost, none stored unanswered)')
  for (const o of answered) {
    const body = JSON.parse(o.body as string) as Accepted
    const { rows: deliveries } = await db.query<{ id: string, recipient_code: string }>('SELECT id, recipient_code FROM deliveries WHERE document_id = $1 ORDER BY recipient_code', [body.id])
    const { rows: log } = await db.query<{ id: number, verdict: string, digest_sha256: string }>('SELECT id, verdict, digest_sha256 FROM signature_log WHERE hub_document_id = $1', [body.id])
    const problems = [
      deliveries.map((d) => d.recipient_code).join() === [...o.doc.recipients].sort().join() ? undefined : `deliveries to ${deliveries.map((d) => d.recipient_code).join() || 'nobody'}`,
      deliveries.every((d) => body.recipients.some((r) => r.deliveryId === d.id)) ? undefined : 'delivery ids differ from the answer',
      log.length === 1 && log[0]?.verdict === 'accepted' && log[0].id === body.signatureLogEntry && log[0].digest_sha256 === o.doc.sha256 ? undefined : `signature log ${JSON.stringify(log)}`,
      stored.find((d) => d.id === body.id)?.signature_log_id === body.signatureLogEntry ? undefined : 'document not linked to its log entry'
    ].filter((p) => p != null)
    if (problems.length > 0) t.fail(`document ${o.doc.n} (${body.id}) answered 202 but: ${problems.join('; ')}`)
  }
  t.pass(`every accepted document has its row, ${documents[0]?.recipients.length ?? 0} deliveries and its signature-log entry`)

  // --- the worker -------------------------------------------------------------------------------
  const { rows: pushRows } = await db.query<{ id: string, document_id: string }>('SELECT id, document_id FROM deliveries WHERE mode = \'push\'')
  const shaByDelivery = new Map(pushRows.map((r) => [r.id, answered.find((o) => (JSON.parse(o.body as string) as Accepted).id === r.document_id)?.doc.sha256]))
  await waitUntil('the worker to be pushing to the slow recipient', () => recipient.open > 0 || !worker.running, 30_000)
  const inFlight = recipient.requests.filter((r) => r.status == null).map((r) => r.idempotencyKey as string)
  const workerExit = await worker.stop('SIGTERM', WORKER_SHUTDOWN_MS + SLACK_MS)
  t.same(workerExit, { code: 0, signal: null }, `the worker exits 0 within its ${WORKER_SHUTDOWN_MS} ms deadline, ${inFlight.length} POST(s) in flight`)
  t.match(worker.stdout, /lienthong worker: SIGTERM, finishing current deliveries/, 'and says why')
  const { rows: left } = await db.query<{ state: string, n: number }>('SELECT state, count(*)::int AS n FROM deliveries WHERE mode = \'push\' GROUP BY state ORDER BY state')
  t.comment(`after the first worker: ${left.map((s) => `${s.n} ${s.state}`).join(', ')}`)
  t.ok(left.some((s) => s.state !== 'delivered'), 'deliveries were left to do')

  t.comment(`first worker stopped ${Date.now() - started} ms after start`)
  recipient.setBehaviour({ kind: 'healthy' })
  const successor = await startLienthong(t, 'worker', lienthongEnv({ ...settings, LIENTHONG_DELIVERY_PER_RECIPIENT: '8' }))
  await waitUntil('every push delivery to be delivered', async () => {
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM deliveries WHERE mode = \'push\' AND state <> \'delivered\'')
    return rows[0]?.n === 0
  }, 45_000)
  t.comment(`all delivered ${Date.now() - started} ms after start`)
  t.equal(pushRows.length, answered.length, 'one push delivery per accepted document')
  t.same(new Set(recipient.applied.keys()), new Set(pushRows.map((r) => r.id)), 'the recipient applied every delivery (none lost)')
  t.ok([...recipient.applied].every(([id, sha]) => sha === shaByDelivery.get(id)), 'each with the original bytes of its document')
  t.ok(recipient.requests.every((r) => r.replay === true || r.status == null || recipient.applied.get(r.idempotencyKey as string) === r.bodySha256), 'a repeated POST carried the same bytes')
  t.ok(inFlight.every((id) => recipient.applied.has(id)), 'including those in flight at SIGTERM')
  const { rows: events } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM delivery_events WHERE event = \'delivered\'')
  t.equal(events[0]?.n, pushRows.length, 'one `delivered` event per delivery')
  t.comment(`recipient: ${recipient.requests.length} POSTs for ${pushRows.length} deliveries, ${recipient.requests.filter((r) => r.replay === true).length} replay(s)`)
  t.same(await successor.stop('SIGTERM', 25_000 + SLACK_MS), { code: 0, signal: null }, 'the second worker stops cleanly when idle')
})
