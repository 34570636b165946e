import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Job } from 'bullmq'
import type { FastifyInstance } from 'fastify'
import { attemptDelivery, type DeliveryDependencies } from '../../src/delivery/attempt-delivery.js'
import { startDeliveryWorker, type DeliveryWorker } from '../../src/delivery/delivery-worker.js'
import type { RetryPolicy } from '../../src/outbound/retry-policy.js'
import { hubPinOf, verifyReceipt } from '../../src/evidence/receipts.js'
import { enqueuePending, reconcileOnce, repairLostJobs } from '../../src/queue/reconciler.js'
import { TrustStore } from '../../src/pki/trust-store.js'
import { FIXTURES, PKI } from '../helpers/example-pki.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'
import { exampleHubIdentity, REDIS_URL, testHub, type TestHub } from '../helpers/hub.js'
import { HUB_TLS, HUB_TLS_FINGERPRINT, recipientServer, WORKER_TLS, type RecipientServer, type RecipientServerOptions } from '../helpers/recipient-server.js'

const G22 = '000.00.00.G22'
const G12 = '000.00.00.G12'
const H29 = '000.00.00.H29'
const H41 = '000.00.00.H41'

const RETRY: RetryPolicy = { baseDelayMs: 100, maxDelayMs: 500, windowMs: 5000 }
const TIMEOUT_MS = 1500
const PER_RECIPIENT = 2

const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex')
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
const trustStore = await TrustStore.load(join(PKI, 'trust'))
const HUB_IDENTITY_CERT = (await exampleHubIdentity()).certificate

/** Polls `fn` until it returns something other than undefined/false; fails with `what` after timeoutMs. */
async function waitFor<T> (what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await fn()
      if (value !== undefined && value !== false) return value
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last != null ? ` (last error: ${String(last)})` : ''}`)
    await sleep(20)
  }
}

// --- documents -------------------------------------------------------------------------------

let documentNumber = 0

/** A fresh signed document (own DocumentId and CodeNumber) from `from` to `to`. */
function signedDocument (from: string, to: string): Buffer {
  return documentFromTo(from, to, 5000 + ++documentNumber)
}

interface Accepted { id: string, recipients: { code: string, deliveryId: string, mode: string }[] }

async function submit (app: FastifyInstance, key: string, bytes: Buffer): Promise<Accepted> {
  const res = await app.inject({ method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/xml', authorization: `Bearer ${key}` }, payload: bytes })
  if (res.statusCode !== 202) throw new Error(`submission refused: ${res.statusCode} ${res.body}`)
  return res.json()
}

const deliveryTo = (accepted: Accepted, code: string): string => {
  const d = accepted.recipients.find((r) => r.code === code)
  if (d == null) throw new Error(`no delivery to ${code}`)
  return d.deliveryId
}

// --- hub, worker, recipient ------------------------------------------------------------------

interface Env extends TestHub {
  server: RecipientServer
  /** Jobs that failed in BullMQ and worker errors: infrastructure trouble, never expected here. */
  problems: string[]
}

/** Hub + one recipient server registered as H29's push endpoint + a worker (closed first on teardown). */
async function setup (t: Test, server: RecipientServerOptions = {}, retry: RetryPolicy = RETRY): Promise<Env> {
  const hub = await testHub(t)
  const recipient = await recipientServer(t, server)
  await pointAt(hub, H29, recipient)
  const { problems } = startWorker(t, hub, retry)
  return { ...hub, server: recipient, problems }
}

async function pointAt (hub: TestHub, code: string, server: RecipientServer): Promise<void> {
  await hub.db.query('UPDATE agencies SET push_url = $1 WHERE code = $2', [server.url, code])
}

function startWorker (t: Test, hub: TestHub, retry: RetryPolicy = RETRY, timeoutMs = TIMEOUT_MS): { worker: DeliveryWorker, problems: string[] } {
  const problems: string[] = []
  const prefix = (hub.queue?.queue.opts as { prefix?: string } | undefined)?.prefix
  if (prefix == null) throw new Error('the test hub has no queue prefix')
  const worker = startDeliveryWorker({
    db: hub.db,
    hub: hub.context.hub,
    redisUrl: REDIS_URL,
    prefix,
    concurrency: 8,
    perRecipient: PER_RECIPIENT,
    timeoutMs,
    retry,
    tls: WORKER_TLS,
    onError: (err) => problems.push(`worker error: ${String(err)}`)
  })
  worker.worker.on('failed', (job, err) => problems.push(`job ${job?.id ?? '?'} failed: ${err.message}`))
  t.teardown(async () => { await worker.close(5000) })
  return { worker, problems }
}

interface DeliveryState {
  state: string
  attempts: number
  delivered_at: Date | null
  next_attempt_at: Date | null
  last_status: number | null
  last_response: string | null
  last_error: string | null
}

async function delivery (env: TestHub, id: string): Promise<DeliveryState> {
  const { rows } = await env.db.query<DeliveryState>('SELECT state, attempts, delivered_at, next_attempt_at, last_status, last_response, last_error FROM deliveries WHERE id = $1', [id])
  if (rows[0] == null) throw new Error(`no delivery ${id}`)
  return rows[0]
}

async function waitState (env: TestHub, id: string, state: string, timeoutMs = 5000): Promise<DeliveryState> {
  return await waitFor(`delivery ${id} to be ${state}`, async () => {
    const row = await delivery(env, id)
    return row.state === state ? row : undefined
  }, timeoutMs)
}

/** The job once BullMQ has finished it (state first: a job read while active has no returnvalue yet). */
async function completedJob (env: TestHub, id: string): Promise<Job> {
  return await waitFor(`job ${id} to complete`, async () => {
    if ((await env.queue!.queue.getJobState(id)) !== 'completed') return undefined
    return await env.queue!.queue.getJob(id)
  })
}

/**
 * Shows from state, instead of by waiting to see that nothing happens, that nothing more will be
 * sent for a delivery: its one job (job id = delivery id) has finished, so no retry is queued in
 * BullMQ, and a reconciler pass (which re-adds the jobs of deliveries that still need one) adds none.
 * `liveness` is 'dead' for a finished job, 'absent' for a removed one (a cancel removes it).
 */
async function nothingMoreQueued (t: Test, env: TestHub, id: string, liveness: 'dead' | 'absent' = 'dead'): Promise<void> {
  if (liveness === 'dead') await completedJob(env, id)
  t.equal((await env.queue!.liveness([id])).get(id), liveness, `its job is ${liveness === 'dead' ? 'finished' : 'removed'}: no retry queued`)
  await reconcileOnce(env.db, env.queue!, 0)
  t.equal((await env.queue!.liveness([id])).get(id), liveness, 'and a reconciler pass queues none')
}

async function events (env: TestHub, id: string): Promise<{ event: string, actor: string, detail: string | null }[]> {
  const { rows } = await env.db.query<{ event: string, actor: string, detail: string | null }>('SELECT event, actor, detail FROM delivery_events WHERE delivery_id = $1 ORDER BY id', [id])
  return rows
}

async function receipts (env: TestHub, id: string): Promise<{ kind: string, xml: string }[]> {
  const { rows } = await env.db.query<{ kind: string, xml: string }>('SELECT kind, xml FROM receipts WHERE delivery_id = $1 ORDER BY created_at', [id])
  return rows
}

async function checkReceipt (t: Test, xml: string, kind: 'delivery' | 'failure', deliveryId: string): Promise<Record<string, unknown> | undefined> {
  const check = await verifyReceipt(xml, trustStore, { hub: hubPinOf(HUB_IDENTITY_CERT) })
  t.equal(check.ok, true, check.ok ? `the ${kind} receipt verifies, pinned to the hub` : JSON.stringify(check))
  if (!check.ok) return undefined
  const fields = check.fields as unknown as Record<string, unknown>
  t.equal(fields.kind, kind)
  t.equal(fields.deliveryId, deliveryId, 'the receipt names the delivery')
  return fields
}

const control = async (app: FastifyInstance, action: 'resend' | 'cancel', id: string, key: string | undefined) =>
  await app.inject({ method: 'POST', url: `/v1/deliveries/${id}/${action}`, headers: { authorization: `Bearer ${key ?? ''}` } })

// --- tests -----------------------------------------------------------------------------------

t.test('healthy recipient: the exact stored bytes over mTLS, delivered, hub-signed delivery receipt', async (t) => {
  const env = await setup(t)
  const bytes = readFileSync(join(FIXTURES, 'signatures', 'valid', 'own-c14n-rsa-sha512-many-recipients.edxml'))
  const accepted = await submit(env.app, env.keys[G22]!, bytes)
  const id = deliveryTo(accepted, H29)
  const row = await waitState(env, id, 'delivered')

  const { rows: docs } = await env.db.query<{ digest_sha256: string }>('SELECT digest_sha256 FROM documents WHERE id = $1', [accepted.id])
  const digest = docs[0]!.digest_sha256
  t.equal(env.server.requests.length, 1, 'one POST, to the only push recipient (G12 and H41 pull)')
  const req = env.server.requests[0]!
  t.equal(req.method, 'POST')
  t.equal(req.url, '/edxml')
  t.equal(req.bodySha256, sha256(bytes), 'the recipient got the submitted bytes unchanged')
  t.equal(req.bodySha256, digest, 'sha256 of what arrived = the stored document digest')
  t.equal(req.bodyBytes, bytes.length)
  t.equal(req.headers['idempotency-key'], id, 'Idempotency-Key = delivery id')
  t.equal(req.headers['x-lienthong-delivery-id'], id)
  t.equal(req.headers['x-lienthong-sender'], G22)
  t.equal(req.headers['x-lienthong-document-id'], accepted.id)
  t.equal(req.headers['x-lienthong-digest-sha256'], digest)
  t.equal(req.headers['x-lienthong-kind'], 'document')
  t.match(req.headers['content-type'], /^application\/xml/)
  t.equal(req.clientFingerprint256, HUB_TLS_FINGERPRINT, 'the client certificate is the hub\'s TLS certificate')
  t.equal(req.clientSubject?.CN, 'localhost', 'client subject CN')
  t.same(env.server.tlsErrors, [], 'no refused handshakes')

  t.equal(row.attempts, 1)
  t.equal(row.last_status, 201)
  t.ok(row.delivered_at instanceof Date, 'delivered_at set')
  t.equal(row.next_attempt_at, null)
  t.equal(row.last_error, null)

  const rs = await receipts(env, id)
  t.same(rs.map((r) => r.kind), ['delivery'], 'one delivery receipt for this delivery')
  const fields = await checkReceipt(t, rs[0]!.xml, 'delivery', id)
  t.equal(fields?.recipient, H29)
  t.equal(fields?.sender, G22)
  t.equal(fields?.method, 'push')
  t.equal(fields?.hubDocumentId, accepted.id)
  t.equal(String(fields?.digestSha256).toLowerCase(), digest.toLowerCase())
  const file = join(t.testdir(), 'delivery-receipt.xml')
  writeFileSync(file, rs[0]!.xml)
  t.doesNotThrow(() => execFileSync('xmlsec1', ['--verify', '--enabled-key-data', 'x509', '--trusted-pem', join(PKI, 'trust', 'root-ca.pem'),
    '--untrusted-pem', join(PKI, 'trust', 'issuing-ca.pem'), file], { stdio: 'pipe' }), 'xmlsec1 verifies the delivery receipt')

  const view = await env.app.inject({ url: `/v1/documents/${accepted.id}`, headers: { authorization: `Bearer ${env.keys[G22]!}` } })
  t.equal(view.statusCode, 200)
  const doc = view.json()
  t.same(doc.deliveries.map((d: { recipient: string, state: string }) => [d.recipient, d.state]), [[G12, 'available'], [H29, 'delivered'], [H41, 'available']], 'GET /v1/documents/:id shows each recipient\'s state')
  t.ok(doc.receipts.some((r: { kind: string, deliveryId: string }) => r.kind === 'delivery' && r.deliveryId === id), 'and lists the delivery receipt')
  const fetched = await env.app.inject({ url: `/v1/documents/${accepted.id}/receipts/delivery`, headers: { authorization: `Bearer ${env.keys[G22]!}` } })
  t.equal(fetched.statusCode, 200)
  t.equal(fetched.body, rs[0]!.xml, 'the sender can fetch the delivery receipt')

  const trail = await events(env, id)
  t.same(trail.map((e) => e.event), ['delivered'])
  t.match(trail[0]?.actor, /^worker@/)
  t.match(trail[0]?.detail, /attempt 1: HTTP 201/)
  t.same(env.problems, [])
})

t.test('permanent 400: failed after exactly one attempt, answer kept, failure receipt', async (t) => {
  const env = await setup(t, { behaviour: { kind: 'permanent400' } })
  const accepted = await submit(env.app, env.keys[G22]!, signedDocument(G22, H29))
  const id = deliveryTo(accepted, H29)
  const row = await waitState(env, id, 'failed')
  t.equal(row.attempts, 1)
  t.equal(row.last_status, 400)
  t.match(row.last_response, /^HTTP 400 .*REJECTED_BY_RECIPIENT/, 'last_response holds the recipient\'s answer')
  t.match(row.last_error, /refused by the recipient: HTTP 400/)
  t.equal(row.next_attempt_at, null)
  t.equal(row.delivered_at, null)
  await nothingMoreQueued(t, env, id)
  t.equal(env.server.requestsFor(id).length, 1, 'never retried')
  t.same((await events(env, id)).map((e) => e.event), ['failed'], 'no retry scheduled')
  const rs = await receipts(env, id)
  t.same(rs.map((r) => r.kind), ['failure'])
  const fields = await checkReceipt(t, rs[0]!.xml, 'failure', id)
  t.match(fields?.reason, /HTTP 400/)
  const job = await completedJob(env, id)
  t.equal(job.returnvalue, 'failed', 'the job itself completed (a recipient failure is not a job failure)')
  t.same(env.problems, [])
})

t.test('flapping: 500 twice then 200 is delivered on the third attempt', async (t) => {
  const env = await setup(t, { behaviour: { kind: 'flapping', failures: 2 } })
  const bytes = signedDocument(G22, H29)
  const id = deliveryTo(await submit(env.app, env.keys[G22]!, bytes), H29)
  const row = await waitState(env, id, 'delivered')
  t.equal(row.attempts, 3)
  const reqs = env.server.requestsFor(id)
  t.same(reqs.map((r) => r.status), [500, 500, 201])
  t.ok(reqs.every((r) => r.bodySha256 === sha256(bytes)), 'the same bytes every time')
  t.ok(reqs[1]!.at - reqs[0]!.at >= 40, `backoff between attempts (${reqs[1]!.at - reqs[0]!.at} ms)`)
  const trail = await events(env, id)
  t.same(trail.map((e) => e.event), ['retry-scheduled', 'retry-scheduled', 'delivered'])
  t.match(trail[0]?.detail, /attempt 1: HTTP 500; next at/)
  t.same((await receipts(env, id)).map((r) => r.kind), ['delivery'], 'one delivery receipt, no failure notice')
  t.equal(env.server.applied.size, 1)
  t.same(env.problems, [])
})

t.test('Retry-After is honoured: 429 with Retry-After: 1, the next request comes a second later', async (t) => {
  const env = await setup(t, { behaviour: { kind: 'retryAfter429' } })
  const id = deliveryTo(await submit(env.app, env.keys[G22]!, signedDocument(G22, H29)), H29)
  const waiting = await waitFor('waiting_retry after the 429', async () => {
    const row = await delivery(env, id)
    return row.state === 'waiting_retry' ? row : undefined
  })
  t.equal(waiting.last_status, 429)
  // The schedule the worker recorded, against the recipient's clock (the same machine's): set from
  // Retry-After (1 s after the 429 was answered), not from the backoff (50-100 ms here) nor capped
  // (4 x maxDelayMs = 2 s, what a misread header would give).
  const nextAt = (waiting.next_attempt_at as Date).getTime()
  const first = env.server.requestsFor(id)[0]!
  t.ok(nextAt - first.at >= 1000, `next attempt scheduled ${nextAt - first.at} ms after the 429's request (>= 1000)`)
  t.ok(nextAt - first.at < 2000, 'and below the cap: the header\'s 1 s, read as seconds')
  const row = await waitState(env, id, 'delivered')
  t.equal(row.attempts, 2)
  const reqs = env.server.requestsFor(id)
  t.same(reqs.map((r) => r.status), [429, 201])
  t.ok(reqs[1]!.at >= nextAt, `the second request came at its scheduled time, not before (${reqs[1]!.at - nextAt} ms after it)`)
  t.match((await events(env, id))[0]?.detail, /HTTP 429/)
  t.same(env.problems, [])
})

t.test('recipient down (connection refused) then up: waiting_retry, then delivered', async (t) => {
  const env = await setup(t, { down: true })
  const id = deliveryTo(await submit(env.app, env.keys[G22]!, signedDocument(G22, H29)), H29)
  const waiting = await waitFor('a refused attempt', async () => {
    const row = await delivery(env, id)
    return row.state === 'waiting_retry' ? row : undefined
  })
  t.match(waiting.last_error, /ECONNREFUSED/)
  t.equal(waiting.last_status, null)
  t.ok(waiting.next_attempt_at instanceof Date, 'next attempt scheduled')
  t.equal(env.server.requests.length, 0)
  await env.server.start()
  const row = await waitState(env, id, 'delivered')
  t.ok(row.attempts >= 2, `delivered on attempt ${row.attempts}`)
  t.same(env.server.requestsFor(id).map((r) => r.status), [201], 'one request reached the recipient')
  t.same((await receipts(env, id)).map((r) => r.kind), ['delivery'])
  t.same(env.problems, [])
})

t.test('a recipient back up: its other waiting deliveries are pulled forward, not left to their backoff', async (t) => {
  // Backoff of a minute: without pulling forward, the deliveries below would wait 30-60 s.
  const env = await setup(t, { down: true }, { baseDelayMs: 60_000, maxDelayMs: 60_000, windowMs: 3_600_000 })
  const ids: string[] = []
  for (let i = 0; i < 5; i++) ids.push(deliveryTo(await submit(env.app, env.keys[G22]!, signedDocument(G22, H29)), H29))
  // Each delivery is refused once and scheduled, or, when it came while another one's attempt
  // (the probe) was in flight after a refusal, parked: still queued, its job resting in Redis
  // until the recipient answers (delivery-worker.ts).
  const scheduled = await waitFor('every delivery refused once and scheduled, or parked', async () => {
    const rows = await Promise.all(ids.map(async (id) => ({ ...await delivery(env, id), job: await env.queue!.queue.getJobState(id) })))
    return rows.every((r) => r.state === 'waiting_retry' || (r.state === 'queued' && r.attempts === 0 && r.job === 'delayed')) ? rows : undefined
  })
  t.ok(scheduled.some((r) => r.state === 'waiting_retry'), 'at least one refused')
  const soonest = Math.min(...scheduled.filter((r) => r.state === 'waiting_retry').map((r) => (r.next_attempt_at as Date).getTime())) - Date.now()
  t.ok(soonest > 20_000, `next attempts are at least ${Math.round(soonest / 1000)} s away`)
  await env.server.start()
  // The recipient is back; one delivery's retry comes due (an operator could also resend it).
  const refused = scheduled.filter((r) => r.state === 'waiting_retry').map((r) => ids[scheduled.indexOf(r)] as string)
  const probe = refused[0] as string
  const others = ids.filter((id) => id !== probe)
  await env.db.query('UPDATE deliveries SET next_attempt_at = now() WHERE id = $1', [probe])
  t.equal(await env.queue!.promote([probe]), 1, 'the probe job was delayed and is promoted')
  t.equal((await waitState(env, probe, 'delivered')).attempts, 2)
  for (const id of others) await waitState(env, id, 'delivered', 8000)
  t.same(others.map((id) => env.server.requestsFor(id).length), others.map(() => 1), 'each of the others delivered with one request')
  t.same(env.problems, [])
})

t.test('slow recipient: an answer after the timeout is retried, one within it is delivered', async (t) => {
  const env = await setup(t, { behaviour: { kind: 'slow', delayMs: TIMEOUT_MS + 500 } })
  const id = deliveryTo(await submit(env.app, env.keys[G22]!, signedDocument(G22, H29)), H29)
  const waiting = await waitFor('the timed-out attempt', async () => {
    const row = await delivery(env, id)
    return row.state === 'waiting_retry' ? row : undefined
  }, TIMEOUT_MS + 3000)
  t.match(waiting.last_error, new RegExp(`timed out after ${TIMEOUT_MS} ms`))
  env.server.setBehaviour({ kind: 'slow', delayMs: 300 })
  const row = await waitState(env, id, 'delivered')
  t.equal(row.attempts, 2)
  t.equal(env.server.requestsFor(id)[0]?.status, undefined, 'the first request was dropped before the recipient answered')
  t.same(env.problems, [])
})

t.test('retry window exhausted: always 500 → failed, failure receipt names the window', async (t) => {
  const env = await setup(t, { behaviour: { kind: 'failing' } }, { ...RETRY, windowMs: 1500 })
  const accepted = await submit(env.app, env.keys[G22]!, signedDocument(G22, H29))
  const id = deliveryTo(accepted, H29)
  const row = await waitState(env, id, 'failed', 6000)
  t.ok(row.attempts >= 2, `${row.attempts} attempts before giving up`)
  t.match(row.last_error, /retry window exhausted after \d+ attempts; last: HTTP 500/)
  t.equal(row.last_status, 500)
  const reqs = env.server.requestsFor(id)
  t.equal(reqs.length, row.attempts, 'one request per attempt')
  t.ok(reqs.every((r) => r.status === 500))
  const trail = await events(env, id)
  t.equal(trail.filter((e) => e.event === 'retry-scheduled').length, row.attempts - 1)
  t.equal(trail.at(-1)?.event, 'failed')
  const rs = await receipts(env, id)
  t.same(rs.map((r) => r.kind), ['failure'])
  const fields = await checkReceipt(t, rs[0]!.xml, 'failure', id)
  t.match(fields?.reason, /window/)
  const fetched = await env.app.inject({ url: `/v1/documents/${accepted.id}/receipts/failure`, headers: { authorization: `Bearer ${env.keys[G22]!}` } })
  t.equal(fetched.statusCode, 200, 'the sender can fetch the failure notice')
  await nothingMoreQueued(t, env, id)
  t.equal(env.server.requestsFor(id).length, reqs.length, 'nothing sent after failing')
  t.same(env.problems, [])
})

t.test('isolation: a hanging recipient never delays a healthy one and never holds more than perRecipient slots', async (t) => {
  const hub = await testHub(t)
  const hanging = await recipientServer(t, { behaviour: { kind: 'hanging' } })
  const healthy = await recipientServer(t)
  await pointAt(hub, H29, hanging)
  await pointAt(hub, G22, healthy)
  // A timeout far beyond this test: no hanging attempt ends while it runs, so a healthy delivery
  // can only go through a slot the hanging recipient never had. Without the per-recipient limit
  // the ten hanging documents would take all eight slots and hold them until this timeout.
  const { problems } = startWorker(t, hub, RETRY, 120_000)
  const toHanging = Array.from({ length: 10 }, () => signedDocument(G22, H29))
  const toHealthy = Array.from({ length: 6 }, () => signedDocument(H29, G22))
  const hangingIds: string[] = []
  for (const bytes of toHanging) hangingIds.push(deliveryTo(await submit(hub.app, hub.keys[G22]!, bytes), H29))
  await waitFor('the hanging recipient to hold its slots', () => hanging.open === PER_RECIPIENT ? true : undefined, 30_000)
  const healthyIds: string[] = []
  for (const bytes of toHealthy) healthyIds.push(deliveryTo(await submit(hub.app, hub.keys[H29]!, bytes), G22))
  const delivered = await waitFor('every document to the healthy recipient to be delivered', async () => {
    const rows = await Promise.all(healthyIds.map(async (id) => await delivery(hub, id)))
    return rows.every((r) => r.state === 'delivered') ? rows : undefined
  }, 60_000)
  t.same(delivered.map((r) => r.attempts), healthyIds.map(() => 1), 'each healthy document delivered on its first attempt')
  t.equal(healthy.applied.size, 6, 'the healthy recipient got all six')
  t.equal(hanging.requests.length, PER_RECIPIENT, `meanwhile the hanging recipient had exactly its ${PER_RECIPIENT} requests, none ended: no slot of it was freed for the healthy ones`)
  t.equal(hanging.open, PER_RECIPIENT, 'both still open')
  t.equal(hanging.maxOpen, PER_RECIPIENT, `never more than ${PER_RECIPIENT} open at once`)
  const { rows: stuck } = await hub.db.query<{ state: string }>('SELECT state FROM deliveries WHERE id = ANY($1)', [hangingIds])
  t.notOk(stuck.some((r) => r.state === 'delivered'), `no delivery to the hanging recipient completed (${stuck.map((r) => r.state).join(', ')})`)
  // Ends the two open requests (connection reset) so that the worker closes at once.
  await hanging.stop()
  t.same(problems, [])
})

t.test('a hanging recipient: its slots are freed by the timeout and taken by its next deliveries, still at most perRecipient', async (t) => {
  const hub = await testHub(t)
  const hanging = await recipientServer(t, { behaviour: { kind: 'hanging' } })
  await pointAt(hub, H29, hanging)
  const { problems } = startWorker(t, hub)
  const hangingIds: string[] = []
  for (let i = 0; i < 6; i++) hangingIds.push(deliveryTo(await submit(hub.app, hub.keys[G22]!, signedDocument(G22, H29)), H29))
  // Two timed out (their requests dropped by the worker), two more taken in their place.
  await waitFor('attempts after the first timeouts', () => hanging.requests.length >= 2 * PER_RECIPIENT ? true : undefined, 30_000)
  t.ok(hanging.maxOpen <= PER_RECIPIENT, `at most ${PER_RECIPIENT} at once (max seen ${hanging.maxOpen}) over ${hanging.requests.length} requests`)
  t.equal(hanging.maxOpen, PER_RECIPIENT, 'and it did use both of its slots')
  t.equal(hanging.requests.filter((r) => r.status != null).length, 0, 'the hanging recipient never answered')
  const timedOut = await waitFor('the timeouts recorded', async () => {
    const { rows } = await hub.db.query<{ n: number }>('SELECT count(*)::int AS n FROM deliveries WHERE id = ANY($1) AND last_error LIKE \'timed out%\'', [hangingIds])
    return (rows[0]?.n ?? 0) >= PER_RECIPIENT ? rows[0]!.n : undefined
  })
  t.ok(timedOut >= PER_RECIPIENT, `the hanging deliveries are recorded as timed out (${timedOut})`)
  await hanging.stop()
  t.same(problems, [])
})

t.test('idempotency: duplicate attempts and duplicate jobs give the recipient one document per delivery', async (t) => {
  const hub = await testHub(t)
  const server = await recipientServer(t, { behaviour: { kind: 'slow', delayMs: 300 } })
  await pointAt(hub, H29, server)
  const deps: DeliveryDependencies = { db: hub.db, hub: hub.context.hub, retry: RETRY, timeoutMs: TIMEOUT_MS, tls: WORKER_TLS, actor: 'test' }

  // Two runs of the same delivery at once (a stalled job taken over while the first is still
  // POSTing): both may POST, with the same key; one outcome is recorded. The later claim owns the
  // delivery; the other run's outcome is fenced off (migration 011_delivery_claims) and dropped.
  const first = deliveryTo(await submit(hub.app, hub.keys[G22]!, signedDocument(G22, H29)), H29)
  const results = await Promise.all([attemptDelivery(deps, first), attemptDelivery(deps, first)])
  t.same(results.map((r) => r.state).sort(), ['delivered', 'superseded'], 'one run recorded delivered, the other lost its claim')
  t.equal(results.filter((r) => 'changed' in r && r.changed).length, 1, 'exactly one run recorded the delivery')
  t.ok(server.requestsFor(first).length >= 1, `${server.requestsFor(first).length} POST(s), all with Idempotency-Key ${first}`)
  t.equal(server.distinctKeys(), 1, 'the recipient saw one distinct delivery')
  t.equal(server.applied.size, 1, 'and applied one document')
  t.same((await receipts(hub, first)).map((r) => r.kind), ['delivery'], 'one receipt')
  t.same((await events(hub, first)).map((e) => e.event).sort(), ['delivered', 'outcome-dropped'], 'one delivered event, and the superseded run\'s outcome dropped')

  // The gateway's job for it is still in the queue: the worker finds the row terminal and does not POST.
  server.setBehaviour({ kind: 'healthy' })
  const sentBefore = server.requests.length
  const { problems } = startWorker(t, hub)
  const job = await completedJob(hub, first)
  t.equal(job.returnvalue, 'delivered', 'the gateway\'s job found the row delivered')
  t.equal(server.requests.length, sentBefore, 'the job of a delivered row POSTs nothing')

  // A delivered row: enqueued twice more (same job id), its old job removed first so the add is real,
  // and attempted directly — the recipient still has exactly one request for it.
  const second = deliveryTo(await submit(hub.app, hub.keys[G22]!, signedDocument(G22, H29)), H29)
  await waitState(hub, second, 'delivered')
  await (await completedJob(hub, second)).remove()
  await hub.queue!.enqueue([second, second])
  t.equal((await hub.queue!.queue.getJobs(['waiting', 'delayed', 'active', 'completed'])).filter((j) => j.id === second).length, 1, 'one job for the id, however often it is added')
  const rerun = await completedJob(hub, second)
  t.equal(rerun.returnvalue, 'delivered', 'the re-added job found the row delivered')
  t.same(await attemptDelivery(deps, second), { state: 'delivered', changed: false }, 'a direct attempt leaves a delivered row alone')
  t.equal(server.requestsFor(second).length, 1, 'a terminal row is never POSTed again')
  t.equal(server.distinctKeys(), 2)
  t.equal(server.applied.size, 2, 'two deliveries, two documents at the recipient')
  t.equal((await delivery(hub, second)).attempts, 1)
  t.same(problems, [])
})

t.test('resend and cancel through the API', async (t) => {
  const env = await setup(t, { behaviour: { kind: 'permanent400' } })
  const { app, keys, server } = env

  const failedId = deliveryTo(await submit(app, keys[G22]!, signedDocument(G22, H29)), H29)
  await waitState(env, failedId, 'failed')
  // Make sure the job that failed it is finished in BullMQ before resending.
  await completedJob(env, failedId)
  for (const [who, key] of [['another agency', keys[G12]], ['the recipient', keys[H29]]] as const) {
    const res = await control(app, 'resend', failedId, key)
    t.equal(res.statusCode, 404, `resend by ${who}: 404`)
    t.equal(res.json().code, 'NOT_FOUND')
  }
  t.equal((await delivery(env, failedId)).state, 'failed', 'untouched by them')
  server.setBehaviour({ kind: 'healthy' })
  const resent = await control(app, 'resend', failedId, keys[G22])
  t.equal(resent.statusCode, 200)
  t.same(resent.json(), { deliveryId: failedId, state: 'queued' })
  const row = await waitState(env, failedId, 'delivered')
  t.equal(row.attempts, 1, 'attempts start over')
  t.same(server.requestsFor(failedId).map((r) => r.status), [400, 201])
  const trail = await events(env, failedId)
  t.same(trail.map((e) => e.event), ['failed', 'resent', 'delivered'])
  t.equal(trail[1]?.actor, `agency:${G22}`, 'the trail says who resent it')
  t.same((await receipts(env, failedId)).map((r) => r.kind), ['failure', 'delivery'])
  const again = await control(app, 'resend', failedId, keys[G22])
  t.equal(again.statusCode, 409, 'resend of a delivered delivery: 409')
  t.equal(again.json().code, 'CONFLICT')
  const cancelDelivered = await control(app, 'cancel', failedId, keys[G22])
  t.equal(cancelDelivered.statusCode, 409, 'cancel of a delivered delivery: 409')

  // Cancel while waiting for a retry (the recipient asked for two seconds' pause).
  server.setBehaviour({ kind: 'retryAfter429', times: 1000, retryAfter: '2' })
  const waitingId = deliveryTo(await submit(app, keys[G22]!, signedDocument(G22, H29)), H29)
  await waitFor('waiting_retry', async () => {
    const r = await delivery(env, waitingId)
    return r.state === 'waiting_retry' ? r : undefined
  })
  const foreign = await control(app, 'cancel', waitingId, keys[H41])
  t.equal(foreign.statusCode, 404, 'cancel by another agency: 404')
  const cancelled = await control(app, 'cancel', waitingId, keys[G22])
  t.equal(cancelled.statusCode, 200)
  t.same(cancelled.json(), { deliveryId: waitingId, state: 'cancelled' })
  const sent = server.requestsFor(waitingId).length
  t.equal(sent, 1)
  t.equal(await env.queue!.queue.getJob(waitingId), undefined, 'its job is removed from the queue')
  await nothingMoreQueued(t, env, waitingId, 'absent')
  t.equal(server.requestsFor(waitingId).length, sent, 'no request after the cancel')
  const after = await delivery(env, waitingId)
  t.equal(after.state, 'cancelled')
  t.equal(after.next_attempt_at, null)
  t.same((await events(env, waitingId)).map((e) => [e.event, e.actor]).slice(-1), [['cancelled', `agency:${G22}`]])

  // A cancelled delivery can be resent too.
  server.setBehaviour({ kind: 'healthy' })
  t.equal((await control(app, 'resend', waitingId, keys[G22])).statusCode, 200)
  await waitState(env, waitingId, 'delivered')
  t.same(env.problems, [])
})

t.test('a recipient that trusts only the national root CA accepts the hub\'s client certificate', async (t) => {
  const env = await setup(t, { clientCa: [HUB_TLS.rootCa] })
  const id = deliveryTo(await submit(env.app, env.keys[G22]!, signedDocument(G22, H29)), H29)
  const row = await waitFor('the first attempt', async () => {
    const r = await delivery(env, id)
    return r.attempts >= 1 && r.state !== 'sending' ? r : undefined
  })
  t.equal(row.state, 'delivered', `first attempt: ${row.state} (${row.last_error ?? ''})`)
  t.same(env.server.tlsErrors, [], 'no refused handshake')
})

t.test('cancel during a slow POST, then resend at once: the delivery is made again', async (t) => {
  const env = await setup(t, { behaviour: { kind: 'slow', delayMs: 800 } })
  const id = deliveryTo(await submit(env.app, env.keys[G22]!, signedDocument(G22, H29)), H29)
  await waitFor('the POST to be in flight', () => env.server.open > 0 ? true : undefined)
  t.equal((await control(env.app, 'cancel', id, env.keys[G22])).statusCode, 200, 'cancelled while sending')
  t.equal((await control(env.app, 'resend', id, env.keys[G22])).statusCode, 200, 'resent at once')
  const delivered = async (timeoutMs: number): Promise<DeliveryState> => await waitFor('delivered again', async () => {
    const r = await delivery(env, id)
    return r.state === 'delivered' ? r : undefined
  }, timeoutMs).catch(async () => await delivery(env, id))
  const row = await delivered(2000)
  const job = await env.queue!.queue.getJob(id)
  t.equal(row.state, 'delivered', `state ${row.state}; job ${job != null ? `${await job.getState()} (${String(job.returnvalue)})` : 'gone'}`)
  // The outbox reconciler does not rescue it either: the completed job holds the id.
  await enqueuePending(env.db, env.queue!)
  await repairLostJobs(env.db, env.queue!, 0)
  t.equal((await delivered(1000)).state, 'delivered', 'after a reconciler pass')
})
