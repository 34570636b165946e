import t, { type Test } from 'tap'
import { randomBytes, randomUUID } from 'node:crypto'
import { Worker, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import { DELIVERY_QUEUE, DeliveryQueue, type DeliveryJob } from '../../src/queue/delivery-queue.js'
import { reconcileOnce, repairLostJobs, startReconciler, type SweepCursor } from '../../src/queue/reconciler.js'
import { OPEN_PUSH_STATES, TERMINAL_STATES } from '../../src/store/deliveries.js'
import { testDatabase, type TestPostgres } from '../helpers/database.js'
import { REDIS_URL } from '../helpers/hub.js'

// The reconciler's invariant (src/queue/reconciler.ts, docs/delivery.md "Nothing lost"): every
// delivery that is not final either has a live job in Redis or is due for re-enqueue within one
// reconcile interval. Each combination of mode x state x enqueued flag x job in Redis is built
// directly (rows by SQL, jobs by BullMQ under a private prefix), one pass runs, and the outcome is
// checked row by row.

const SENDER = '000.00.00.S01'
const RECIPIENT = '000.00.00.R01'
/** Every state the deliveries CHECK constraint allows (migration 001). */
const STATES = ['queued', 'sending', 'waiting_retry', 'delivered', 'failed', 'cancelled', 'available', 'downloaded', 'acknowledged'] as const
const MODES = ['push', 'pull'] as const
/** What Redis holds under the delivery id before the pass. */
const JOBS = ['absent', 'waiting', 'delayed', 'active', 'completed', 'failed'] as const
type JobSetup = typeof JOBS[number]
const LIVE = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children'])
const RETRY_IN_MS = 60_000

interface Case {
  mode: typeof MODES[number]
  state: typeof STATES[number]
  enqueued: boolean
  job: JobSetup
  id: string
  /** The pass must leave exactly one live job for it. */
  needsJob: boolean
}

async function insertRow (db: TestPostgres, c: { id: string, mode: string, state: string, enqueued: boolean, nextAttemptAt: 'future' | 'past' | null, quietMs: number }): Promise<void> {
  const documentId = randomUUID()
  await db.query(
    `INSERT INTO documents (id, kind, sender_code, digest_sha256, size_bytes, envelope, signer, algorithms, accepted_at)
     VALUES ($1, 'document', $2, $3, 0, '{}', '{}', '{}', now())`, [documentId, SENDER, randomBytes(32).toString('hex')])
  await db.query(
    `INSERT INTO deliveries (id, document_id, recipient_code, mode, state, enqueued, attempts, next_attempt_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, 1,
       CASE $7::text WHEN 'future' THEN now() + ($8 || ' milliseconds')::interval WHEN 'past' THEN now() - interval '5 seconds' END,
       now() - ($9 || ' milliseconds')::interval, now() - ($9 || ' milliseconds')::interval)`,
    [c.id, documentId, RECIPIENT, c.mode, c.state, c.enqueued, c.nextAttemptAt, String(RETRY_IN_MS), String(c.quietMs)])
}

async function setup (t: Test): Promise<{ db: TestPostgres, queue: DeliveryQueue, prefix: string, manual: Worker<DeliveryJob> }> {
  const db = await testDatabase(t)
  await db.query('INSERT INTO agencies (code, name, delivery_mode, push_url) VALUES ($1, $2, \'push\', $3), ($4, $5, \'push\', $3)',
    [SENDER, 'Sender', 'https://127.0.0.1:9/none', RECIPIENT, 'Recipient'])
  const prefix = `{lt-inv-${randomBytes(4).toString('hex')}}`
  const queue = new DeliveryQueue(REDIS_URL, prefix)
  if (!(await queue.waitReady(5000))) throw new Error(`Redis is not reachable at ${REDIS_URL}`)
  // A worker without a processor: it takes jobs only when told to (getNextJob), to build active,
  // completed and failed jobs by hand.
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null })
  const manual = new Worker<DeliveryJob>(DELIVERY_QUEUE, null, { connection, prefix, lockDuration: 120_000 })
  t.teardown(async () => {
    await manual.close(true).catch(() => {})
    connection.disconnect()
    await queue.queue.obliterate({ force: true }).catch(() => {})
    await queue.close()
  })
  return { db, queue, prefix, manual }
}

/** Puts the job `setup` describes into Redis under `id` (nothing for 'absent'). */
async function buildJob (queue: DeliveryQueue, manual: Worker<DeliveryJob>, id: string, setup: JobSetup): Promise<void> {
  if (setup === 'absent') return
  if (setup === 'waiting') return await queue.enqueue([{ id, recipient: RECIPIENT }])
  if (setup === 'delayed') return await queue.enqueue([{ id, recipient: RECIPIENT, delayUntil: new Date(Date.now() + RETRY_IN_MS) }])
  // Taken by the manual worker: the waiting list holds only this job at this point.
  await queue.queue.add('deliver', { deliveryId: id, recipient: RECIPIENT }, { jobId: id, attempts: 1 })
  const token = `token-${id}`
  const job: Job<DeliveryJob> | undefined = await manual.getNextJob(token, { block: false })
  if (job?.id !== id) throw new Error(`expected to take job ${id}, took ${String(job?.id)}`)
  if (setup === 'completed') await job.moveToCompleted('done', token, false)
  if (setup === 'failed') await job.moveToFailed(new Error('infrastructure'), token, false)
}

/** How many times each id appears across every BullMQ list/set of the queue. */
async function jobCounts (queue: DeliveryQueue): Promise<Map<string, number>> {
  const jobs = await queue.queue.getJobs(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children', 'completed', 'failed'], 0, -1)
  const counts = new Map<string, number>()
  for (const j of jobs) if (j?.id != null) counts.set(j.id, (counts.get(j.id) ?? 0) + 1)
  return counts
}

t.test('one pass: every non-final push row without a live job gets exactly one, nothing else changes', async (t) => {
  const { db, queue, manual } = await setup(t)
  const cases: Case[] = []
  for (const mode of MODES) {
    for (const state of STATES) {
      for (const enqueued of [true, false]) {
        for (const job of JOBS) {
          const id = randomUUID()
          const needsJob = mode === 'push' && (OPEN_PUSH_STATES as readonly string[]).includes(state)
          cases.push({ mode, state, enqueued, job, id, needsJob })
          await insertRow(db, { id, mode, state, enqueued, nextAttemptAt: state === 'waiting_retry' ? 'future' : null, quietMs: 60_000 })
        }
      }
    }
  }
  // Finished and active jobs first (the manual worker takes the only waiting job), then the rest.
  for (const c of cases) if (c.job === 'active' || c.job === 'completed' || c.job === 'failed') await buildJob(queue, manual, c.id, c.job)
  for (const c of cases) if (c.job === 'waiting' || c.job === 'delayed') await buildJob(queue, manual, c.id, c.job)
  const before = new Map<string, { state: string, timestamp: number } | null>()
  for (const c of cases) {
    const job = await queue.queue.getJob(c.id)
    before.set(c.id, job == null ? null : { state: await job.getState(), timestamp: job.timestamp })
  }
  t.equal([...before.values()].filter((b) => b != null).length, cases.filter((c) => c.job !== 'absent').length, 'every job of the table is in Redis')

  // Small batches: the pass walks the rows by keyset over several queries.
  const { repaired } = await reconcileOnce(db, queue, 10_000, { batch: 16 })
  const expectedRepairs = cases.filter((c) => c.needsJob && (c.job === 'absent' || c.job === 'completed' || c.job === 'failed')).length
  t.equal(repaired, expectedRepairs, `${expectedRepairs} jobs re-added in one pass`)

  const counts = await jobCounts(queue)
  const flags = new Map((await db.query<{ id: string, enqueued: boolean, next_attempt_at: Date | null }>('SELECT id, enqueued, next_attempt_at FROM deliveries')).rows.map((r) => [r.id, r]))
  const failures: string[] = []
  for (const c of cases) {
    const name = `${c.mode} ${c.state} enqueued=${String(c.enqueued)} job=${c.job}`
    const job = await queue.queue.getJob(c.id)
    const state = job == null ? 'absent' : await job.getState()
    const n = counts.get(c.id) ?? 0
    const was = before.get(c.id)
    if (c.needsJob) {
      if (n !== 1 || !LIVE.has(state)) { failures.push(`${name}: ${n} job(s), ${state} (want one live job)`); continue }
      if (flags.get(c.id)?.enqueued !== true) failures.push(`${name}: enqueued flag not set`)
      if (c.job === 'waiting' || c.job === 'delayed' || c.job === 'active') {
        // A live job is left alone: the same job, in the same state.
        if (was == null || job?.timestamp !== was.timestamp || state !== was.state) failures.push(`${name}: its live job was replaced or moved (${String(was?.state)} -> ${state})`)
        continue
      }
      if (job?.data.deliveryId !== c.id || job?.data.recipient !== RECIPIENT) failures.push(`${name}: wrong job data ${JSON.stringify(job?.data)}`)
      if (c.state === 'waiting_retry') {
        // Re-added with the rest of its delay, not due at once.
        const dueAt = (job?.timestamp ?? 0) + (job?.delay ?? 0)
        const want = flags.get(c.id)?.next_attempt_at?.getTime() ?? 0
        if (state !== 'delayed' || Math.abs(dueAt - want) > 1500) failures.push(`${name}: ${state}, due ${dueAt - want} ms from its next_attempt_at`)
      } else if (state !== 'waiting' || job?.delay !== 0) {
        failures.push(`${name}: ${state} with delay ${String(job?.delay)} (want waiting, due now)`)
      }
    } else {
      // Final rows (and pull rows, which wait for the recipient, not for a job) get none; what was
      // there stays as it was.
      if (c.job === 'absent' && n !== 0) failures.push(`${name}: got ${n} job(s)`)
      if (c.job !== 'absent' && (n !== 1 || was == null || job?.timestamp !== was.timestamp || state !== was.state)) failures.push(`${name}: its job changed (${String(was?.state)} -> ${state}, ${n})`)
      if (flags.get(c.id)?.enqueued !== c.enqueued) failures.push(`${name}: enqueued flag changed`)
    }
  }
  t.same(failures, [], `all ${cases.length} combinations (${MODES.length} modes x ${STATES.length} states x 2 flags x ${JOBS.length} job setups) hold the invariant after one pass`)
  t.ok(cases.some((c) => c.needsJob) && cases.some((c) => TERMINAL_STATES.has(c.state)), 'the table covers open and final states')

  // A second pass finds nothing to do.
  const again = await reconcileOnce(db, queue, 10_000, { batch: 16 })
  t.same(again, { repaired: 0, pending: 0 }, 'a second pass adds nothing')
})

t.test('a waiting_retry row already due is re-added due now; a row touched within the grace period waits for the next pass', async (t) => {
  const { db, queue } = await setup(t)
  const due = randomUUID()
  const fresh = randomUUID()
  const freshQueued = randomUUID()
  await insertRow(db, { id: due, mode: 'push', state: 'waiting_retry', enqueued: true, nextAttemptAt: 'past', quietMs: 60_000 })
  await insertRow(db, { id: fresh, mode: 'push', state: 'sending', enqueued: false, nextAttemptAt: null, quietMs: 0 })
  await insertRow(db, { id: freshQueued, mode: 'push', state: 'queued', enqueued: false, nextAttemptAt: null, quietMs: 0 })
  await reconcileOnce(db, queue, 10_000)
  const dueJob = await queue.queue.getJob(due)
  t.equal(await dueJob?.getState(), 'waiting', 'past-due waiting_retry: waiting')
  t.equal(dueJob?.delay, 0, 'with no delay')
  t.equal(await queue.queue.getJobState(fresh), 'unknown', 'a sending row touched just now is not taken for lost yet')
  t.equal(await queue.queue.getJobState(freshQueued), 'waiting', 'a queued row with the flag false goes at once (outbox fast path)')
  await reconcileOnce(db, queue, 0)
  t.equal(await queue.queue.getJobState(fresh), 'waiting', 'once past the grace period it is re-added')
})

t.test('each pass is bounded and carries on where the last one stopped', async (t) => {
  const { db, queue } = await setup(t)
  const ids: string[] = []
  for (let i = 0; i < 25; i++) {
    const id = randomUUID()
    ids.push(id)
    await insertRow(db, { id, mode: 'push', state: i % 2 === 0 ? 'sending' : 'waiting_retry', enqueued: true, nextAttemptAt: i % 2 === 0 ? null : 'future', quietMs: 60_000 })
  }
  const cursor: SweepCursor = { after: null }
  const perPass: number[] = []
  for (let pass = 0; pass < 3; pass++) perPass.push(await repairLostJobs(db, queue, 10_000, { batch: 4, maxRows: 10, cursor }))
  t.same(perPass, [10, 10, 5], 'at most maxRows rows per pass, the cursor moves on')
  t.equal(cursor.after, null, 'and starts over after the last id')
  t.same(await queue.missing(ids), [], 'every row has its job after ceil(25 / 10) passes')
  t.equal(await repairLostJobs(db, queue, 10_000, { batch: 4, maxRows: 10, cursor }), 0, 'then nothing more')
})

t.test('the issue\'s case through the running reconciler: job added, markEnqueued lost, Redis flushed, row `sending`', async (t) => {
  const { db, queue } = await setup(t)
  const id = randomUUID()
  // The accept path added the job, then PostgreSQL went away before markEnqueued; a worker claimed
  // it (row `sending`, attempt 1) and Redis then lost the job.
  await insertRow(db, { id, mode: 'push', state: 'sending', enqueued: false, nextAttemptAt: null, quietMs: 60_000 })
  t.equal(await queue.queue.getJobState(id), 'unknown', 'no job in Redis')
  const intervalMs = 200
  const errors: unknown[] = []
  const stop = startReconciler(db, queue, intervalMs, (err) => errors.push(err))
  t.teardown(stop)
  const started = Date.now()
  while (await queue.queue.getJobState(id) === 'unknown' && Date.now() - started < 5000) await new Promise((resolve) => setTimeout(resolve, 20))
  const took = Date.now() - started
  t.equal(await queue.queue.getJobState(id), 'waiting', 'the delivery has its job again')
  t.ok(took < intervalMs + 1500, `within one interval (plus scheduling slack) (${took} ms, interval ${intervalMs} ms)`)
  t.same(errors, [], 'no reconciler round failed')
})

t.test('a sending row whose job vanished waits for the push timeout, not only the grace (its POST may be in flight)', async (t) => {
  const { db, queue } = await setup(t)
  // Both rows untouched for 5 s, no job in Redis (FLUSHALL): grace 1 s, push timeout + 1 s = 31 s.
  const sending = randomUUID()
  const queued = randomUUID()
  await insertRow(db, { id: sending, mode: 'push', state: 'sending', enqueued: true, nextAttemptAt: null, quietMs: 5000 })
  await insertRow(db, { id: queued, mode: 'push', state: 'queued', enqueued: true, nextAttemptAt: null, quietMs: 5000 })
  const early = await repairLostJobs(db, queue, 1000, { sendingGraceMs: 31_000 })
  t.equal(early, 1, 'only the queued row gets its job back')
  t.equal(await queue.queue.getJobState(sending), 'unknown', 'the sending row is left alone while its POST may still run')
  t.not(await queue.queue.getJobState(queued), 'unknown')
  // Once untouched for longer than the push timeout, the sending row is due like any other.
  await db.query('UPDATE deliveries SET updated_at = now() - interval \'40 seconds\' WHERE id = $1', [sending])
  t.equal(await repairLostJobs(db, queue, 1000, { sendingGraceMs: 31_000 }), 1)
  t.ok(LIVE.has(await queue.queue.getJobState(sending)), 'then re-added')
})
