import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { startDeliveryWorker } from '../../src/delivery/delivery-worker.js'
import { HubMetrics } from '../../src/metrics/hub-metrics.js'
import { startMetricsServer } from '../../src/metrics/metrics-server.js'
import { DeliveryQueue } from '../../src/queue/delivery-queue.js'
import { FIXTURES } from '../helpers/example-pki.js'
import { testDatabase } from '../helpers/database.js'
import { REDIS_URL, testHub, type TestHub } from '../helpers/hub.js'
import { recipientServer, WORKER_TLS } from '../helpers/recipient-server.js'
import { PrivateRedis } from '../helpers/redis-server.js'
import { parseExposition, total, value, type Exposition } from './exposition.js'

const G22 = '000.00.00.G22'
const G12 = '000.00.00.G12'
const H29 = '000.00.00.H29'

/** From G22 to H29 (push) and G12, H41 (pull). */
const VALID = readFileSync(join(FIXTURES, 'signatures', 'valid', 'own-c14n-rsa-sha512-many-recipients.edxml'))
/** From G22, signature value altered: SIGNATURE_INVALID. */
const FORGED = readFileSync(join(FIXTURES, 'signatures', 'invalid', 'SIGNATURE_INVALID.tampered-signature-value.edxml'))

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

interface MeteredHub extends TestHub {
  queue: DeliveryQueue
  metrics: HubMetrics
}

/** A test gateway whose context carries metrics over its own PostgreSQL schema and Redis queue. */
async function meteredHub (t: Test, options: { redisUrl?: string, token?: string } = {}): Promise<MeteredHub> {
  const db = await testDatabase(t)
  const queue = new DeliveryQueue(options.redisUrl ?? REDIS_URL, `{lt-metrics-${process.pid}-${randomBytes(4).toString('hex')}}`)
  for (let i = 0; i < 50 && !(await queue.ping()); i++) await sleep(50)
  t.teardown(async () => {
    await queue.queue.obliterate({ force: true }).catch(() => {})
    await queue.close()
  })
  const metrics = new HubMetrics({ db, queue, scrapeTimeoutMs: 1000 })
  const hub = await testHub(t, { db, redisUrl: null, queue, metrics, ...(options.token != null ? { metricsToken: options.token } : {}) })
  return { ...hub, queue, metrics }
}

async function scrape (app: FastifyInstance, token?: string): Promise<Exposition> {
  const res = await app.inject({ method: 'GET', url: '/metrics', headers: token != null ? { authorization: `Bearer ${token}` } : {} })
  if (res.statusCode !== 200) throw new Error(`GET /metrics: ${res.statusCode} ${res.body}`)
  return parseExposition(res.body)
}

async function submit (app: FastifyInstance, key: string, bytes: Buffer): Promise<{ statusCode: number, body: Record<string, unknown> }> {
  const res = await app.inject({ method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/xml', authorization: `Bearer ${key}` }, payload: bytes })
  return { statusCode: res.statusCode, body: res.json() }
}

/** Polls `fn` until it returns true; fails with `what` after timeoutMs. */
async function waitFor (what: string, fn: () => Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
}

t.test('GET /metrics: one accepted and one rejected submission move exactly their counters; gauges read PostgreSQL and Redis', async (t) => {
  const hub = await meteredHub(t)
  const before = await scrape(hub.app)
  t.equal(value(before, 'lienthong_documents_accepted_total', { kind: 'document' }), 0, 'counters start at zero, series present')
  t.equal(value(before, 'lienthong_documents_rejected_total', { reason: 'SIGNATURE_INVALID' }), 0)
  t.equal(value(before, 'lienthong_signature_log_head_age_seconds'), undefined, 'no head age while the signature log is empty')
  t.equal(value(before, 'lienthong_deliveries', { state: 'waiting_retry', mode: 'push' }), 0, 'open delivery states read as 0, not absent')
  t.equal(value(before, 'lienthong_queue_oldest_job_age_seconds', { queue: 'deliveries', state: 'waiting' }), 0, 'empty waiting line: age 0')

  const accepted = await submit(hub.app, hub.keys[G22]!, VALID)
  t.equal(accepted.statusCode, 202, JSON.stringify(accepted.body))
  const rejected = await submit(hub.app, hub.keys[G22]!, FORGED)
  t.equal(rejected.statusCode, 422)
  t.equal(rejected.body.code, 'SIGNATURE_INVALID')

  const res = await hub.app.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8')
  const after = parseExposition(res.body)
  const moved = (name: string, labels: Record<string, string> = {}): number => total(after, name, labels) - total(before, name, labels)

  t.equal(moved('lienthong_documents_accepted_total', { kind: 'document' }), 1, 'accepted{kind=document} +1')
  t.equal(moved('lienthong_documents_accepted_total'), 1, 'and no other kind')
  t.equal(moved('lienthong_documents_rejected_total', { reason: 'SIGNATURE_INVALID' }), 1, 'rejected{reason=SIGNATURE_INVALID} +1')
  t.equal(moved('lienthong_documents_rejected_total'), 1, 'and no other reason')
  t.equal(moved('lienthong_documents_duplicates_total'), 0)
  t.equal(moved('lienthong_verification_duration_seconds_count', { verdict: 'accepted' }), 1, 'one verification observed as accepted')
  t.equal(moved('lienthong_verification_duration_seconds_count', { verdict: 'rejected' }), 1, 'one as rejected')
  t.equal(value(after, 'lienthong_verification_duration_seconds_bucket', { verdict: 'accepted', le: '+Inf' }), 1, '+Inf bucket = count')
  t.equal(moved('lienthong_http_requests_total', { route: '/v1/documents', status: '202' }), 1, 'HTTP 202 counted by route pattern')
  t.equal(moved('lienthong_http_requests_total', { route: '/v1/documents', status: '422' }), 1)

  t.equal(value(after, 'lienthong_deliveries', { state: 'queued', mode: 'push' }), 1, 'the push delivery to H29 is queued')
  t.equal(value(after, 'lienthong_deliveries', { state: 'available', mode: 'pull' }), 2, 'G12 and H41 have it in their inboxes')
  t.equal(value(after, 'lienthong_queue_jobs', { queue: 'deliveries', state: 'waiting' }), 1, 'one job waiting (no worker runs)')
  t.equal(value(after, 'lienthong_queue_jobs', { queue: 'deliveries', state: 'active' }), 0)
  t.equal(value(after, 'lienthong_queue_workers', { queue: 'deliveries' }), 0)
  t.equal(value(after, 'lienthong_queue_overdue_jobs', { queue: 'deliveries' }), 0)
  const age = value(after, 'lienthong_queue_oldest_job_age_seconds', { queue: 'deliveries', state: 'waiting' })
  t.ok(age != null && Number.isFinite(age) && age >= 0, `head-of-line age is a finite number >= 0 (${String(age)})`)
  const head = value(after, 'lienthong_signature_log_head_age_seconds')
  t.ok(head != null && Number.isFinite(head) && head >= 0, `signature-log head age is a finite number >= 0 (${String(head)})`)
  t.equal(total(after, 'lienthong_scrape_errors_total'), 0, 'no scrape-time read failed')
  t.equal(value(after, 'lienthong_readiness_check', { check: 'database' }), 1, 'readiness checks as gauges')
  t.equal(value(after, 'lienthong_readiness_check', { check: 'redis' }), 1)
  t.ok(value(after, 'process_resident_memory_bytes') != null || value(after, 'nodejs_heap_size_used_bytes') != null, 'default process metrics')

  // G12 pulls and acknowledges: a pull delivery, with its latency.
  const g12 = (accepted.body.recipients as { code: string, deliveryId: string }[]).find((r) => r.code === G12)!
  const ack = await hub.app.inject({ method: 'POST', url: `/v1/inbox/${g12.deliveryId}/ack`, headers: { authorization: `Bearer ${hub.keys[G12]!}` }, payload: { result: 'done' } })
  t.equal(ack.statusCode, 200, ack.body)
  const again = await hub.app.inject({ method: 'POST', url: `/v1/inbox/${g12.deliveryId}/ack`, headers: { authorization: `Bearer ${hub.keys[G12]!}` }, payload: { result: 'done' } })
  t.equal(again.json().changed, false, 'the same ack again changes nothing')
  await hub.metrics.settled()
  const acked = await scrape(hub.app)
  t.equal(value(acked, 'lienthong_delivery_attempts_total', { outcome: 'delivered', mode: 'pull' }), 1, 'one pull delivery counted (the repeated ack is not)')
  t.equal(value(acked, 'lienthong_delivery_latency_seconds_count', { mode: 'pull' }), 1, 'its latency observed')
  t.equal(value(acked, 'lienthong_deliveries', { state: 'available', mode: 'pull' }), 1, 'one inbox item left')
})

t.test('a metrics token, when configured, is required (401 problem+json without it)', async (t) => {
  const hub = await meteredHub(t, { token: 'scrape-secret' })
  const cases: { name: string, headers: Record<string, string>, status: number }[] = [
    { name: 'no Authorization', headers: {}, status: 401 },
    { name: 'wrong token', headers: { authorization: 'Bearer not-the-secret' }, status: 401 },
    { name: 'an agency API key is not the metrics token', headers: { authorization: `Bearer ${hub.keys[G22]!}` }, status: 401 },
    { name: 'the token', headers: { authorization: 'Bearer scrape-secret' }, status: 200 }
  ]
  for (const c of cases) {
    const res = await hub.app.inject({ method: 'GET', url: '/metrics', headers: c.headers })
    t.equal(res.statusCode, c.status, c.name)
    if (c.status === 401) {
      t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', `${c.name}: problem+json`)
      t.equal(res.json().code, 'UNAUTHENTICATED')
    } else {
      t.match(res.body, /^# HELP lienthong_/m)
    }
  }
  const open = await meteredHub(t)
  t.equal((await open.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200, 'no token configured: open')
  const hidden = (await open.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, unknown> }
  t.notOk('/metrics' in hidden.paths, '/metrics is not in the OpenAPI document')
})

t.test('Redis down: the scrape still answers, queue gauges are absent, the failure is counted', async (t) => {
  const redis = await PrivateRedis.create()
  await redis.start()
  t.teardown(async () => { await redis.stop() })
  const hub = await meteredHub(t, { redisUrl: redis.url })
  t.equal((await submit(hub.app, hub.keys[G22]!, VALID)).statusCode, 202)
  const up = await scrape(hub.app)
  t.equal(value(up, 'lienthong_queue_jobs', { queue: 'deliveries', state: 'waiting' }), 1, 'while Redis is up')
  await redis.stop()

  const first = await scrape(hub.app)
  t.equal(total(first, 'lienthong_queue_jobs'), 0, 'no queue samples')
  t.equal(first.samples.filter((s) => s.name.startsWith('lienthong_queue_')).length, 0, 'no queue gauge has a sample')
  t.equal(value(first, 'lienthong_scrape_errors_total', { source: 'redis' }), 1, 'the failed read is counted in the same scrape')
  t.equal(value(first, 'lienthong_scrape_errors_total', { source: 'database' }), 0)
  t.equal(value(first, 'lienthong_deliveries', { state: 'queued', mode: 'push' }), 1, 'the database gauges are still there')
  t.equal(value(first, 'lienthong_readiness_check', { check: 'redis' }), 0, 'readiness says Redis is failing')
  const second = await scrape(hub.app)
  t.equal(value(second, 'lienthong_scrape_errors_total', { source: 'redis' }), 2, 'one more per scrape')
})

t.test('worker metrics server: attempts by outcome and latency after a push to a real recipient', async (t) => {
  const hub = await meteredHub(t)
  // Fails once (HTTP 500), then accepts: one retry, one delivery.
  const recipient = await recipientServer(t, { behaviour: { kind: 'flapping', failures: 1 } })
  await hub.db.query('UPDATE agencies SET push_url = $1 WHERE code = $2', [recipient.url, H29])
  const metrics = new HubMetrics({ db: hub.db, clusterGauges: false, defaultMetrics: false })
  const worker = startDeliveryWorker({
    db: hub.db,
    hub: hub.context.hub,
    redisUrl: REDIS_URL,
    prefix: hub.queue.queue.opts.prefix as string,
    concurrency: 4,
    perRecipient: 2,
    timeoutMs: 2000,
    retry: { baseDelayMs: 100, maxDelayMs: 300, windowMs: 10_000 },
    tls: WORKER_TLS,
    metrics
  })
  t.teardown(async () => { await worker.close(5000) })
  const server = await startMetricsServer(metrics, { host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await server.close() })
  const read = async (): Promise<Exposition> => {
    const res = await fetch(server.url)
    if (res.status !== 200) throw new Error(`worker /metrics: ${res.status}`)
    t.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8')
    return parseExposition(await res.text())
  }
  const zero = await read()
  t.equal(total(zero, 'lienthong_delivery_attempts_total'), 0)

  t.equal((await submit(hub.app, hub.keys[G22]!, VALID)).statusCode, 202)
  let last = zero
  await waitFor('the latency of the push delivery', async () => {
    last = await read()
    return value(last, 'lienthong_delivery_latency_seconds_count', { mode: 'push' }) === 1
  })
  t.equal(value(last, 'lienthong_delivery_attempts_total', { outcome: 'retry', mode: 'push' }), 1, 'one retry (the HTTP 500)')
  t.equal(value(last, 'lienthong_delivery_attempts_total', { outcome: 'delivered', mode: 'push' }), 1, 'then delivered')
  t.equal(value(last, 'lienthong_delivery_attempts_total', { outcome: 'failed', mode: 'push' }), 0)
  const latency = value(last, 'lienthong_delivery_latency_seconds_sum', { mode: 'push' })
  t.ok(latency != null && Number.isFinite(latency) && latency > 0, `latency sum is positive (${String(latency)})`)
  t.equal(recipient.requests.length, 2, 'the recipient saw two POSTs')
  t.equal(last.samples.filter((s) => s.name.startsWith('lienthong_queue_') || s.name === 'lienthong_deliveries').length, 0,
    'a worker does not sample the hub-wide gauges (the gateways do)')

  const wrongPath = await fetch(server.url.replace('/metrics', '/other'))
  t.equal(wrongPath.status, 404)
  t.equal(wrongPath.headers.get('content-type'), 'application/problem+json; charset=utf-8')

  const guarded = await startMetricsServer(metrics, { host: '127.0.0.1', port: 0, token: 'w-secret' })
  t.teardown(async () => { await guarded.close() })
  t.equal((await fetch(guarded.url)).status, 401, 'the worker listener honours the token too')
  t.equal((await fetch(guarded.url, { headers: { authorization: 'Bearer w-secret' } })).status, 200)
})
