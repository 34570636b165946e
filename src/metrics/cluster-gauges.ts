import { Counter, Gauge, type Registry } from 'prom-client'
import type { Queryable } from '../db/database.js'
import { newestSignatureLogTime, openDeliveryCounts } from '../store/hub-state.js'
import type { DeliveryQueue } from '../queue/delivery-queue.js'
import type { VerificationPoolStats } from '../verification/verification-pool.js'

export interface ClusterSources {
  db?: Queryable | undefined
  queue?: DeliveryQueue | undefined
  pool?: { stats: () => VerificationPoolStats } | undefined
  timeoutMs: number
  now: () => number
}

/** The BullMQ states reported; the hub uses no priorities, flows or pauses. */
const QUEUE_STATES = ['waiting', 'delayed', 'active', 'failed'] as const
/**
 * A delayed job is moved to the waiting line by a worker within seconds of its due time; one that
 * is a minute overdue means no worker is consuming this queue.
 */
const OVERDUE_GRACE_MS = 60_000
/**
 * The delivery states counted at scrape time: the open ones, each served by a partial index
 * (deliveries_open, deliveries_inbox). The terminal states grow with every document ever
 * exchanged; counting them would scan the whole table on every scrape (their rates are in
 * lienthong_delivery_attempts_total).
 */
const OPEN_STATES = [['queued', 'push'], ['sending', 'push'], ['waiting_retry', 'push'], ['available', 'pull'], ['downloaded', 'pull']] as const
interface QueueSample {
  name: string
  counts: Record<string, number>
  /** Seconds since the job at the head of the waiting line was queued or last started; 0 when none waits. */
  waitingAge: number
  overdue: number
  /** Undefined where Redis refuses CLIENT LIST (some managed services): only that gauge is absent. */
  workers: number | undefined
}

interface Sample {
  queue?: QueueSample
  deliveries?: { state: string, mode: string, n: number }[]
  /** Seconds since the newest signature-log entry; null when the log is empty. */
  headAge?: number | null
}

/**
 * Gauges computed when Prometheus scrapes, from PostgreSQL, Redis and the verification pool.
 * One sample per scrape is shared by all of them (prom-client calls every collect() at once).
 * Each read is bounded by `timeoutMs`; a source that is down or slow is left out of the answer
 * (its gauges have no samples) and counted in lienthong_scrape_errors_total: the scrape itself
 * still answers, with the process-local metrics that matter most when something is down.
 */
export function registerClusterGauges (registry: Registry, sources: ClusterSources): void {
  const registers = [registry]
  let pending: Promise<Sample> | undefined
  const sample = async (): Promise<Sample> => {
    // All collect() calls of one scrape start in the same tick: they share this read.
    pending ??= takeSample(sources, errors).finally(() => { pending = undefined })
    return await pending
  }

  const errors = new Counter({
    name: 'lienthong_scrape_errors_total',
    help: 'Scrape-time reads that failed or timed out, by source (database, redis); their gauges are absent from that scrape.',
    labelNames: ['source'],
    registers,
    // Waits for this scrape's reads, so that their errors are counted in the same answer.
    collect: async () => { await sample() }
  })
  for (const source of ['database', 'redis']) errors.labels(source).inc(0)

  if (sources.queue != null) {
    const jobs = new Gauge({
      name: 'lienthong_queue_jobs',
      help: 'Jobs in the queue by BullMQ state (waiting; delayed = retry or per-recipient pause; active; failed = infrastructure errors).',
      labelNames: ['queue', 'state'],
      registers,
      collect: async () => {
        jobs.reset()
        const q = (await sample()).queue
        if (q != null) for (const state of QUEUE_STATES) jobs.labels(q.name, state).set(q.counts[state] ?? 0)
      }
    })
    const oldest = new Gauge({
      name: 'lienthong_queue_oldest_job_age_seconds',
      help: 'Age of the job at the head of the waiting line: since it was queued, or since its last attempt began for a job that was retried (0 when none waits).',
      labelNames: ['queue', 'state'],
      registers,
      collect: async () => {
        oldest.reset()
        const q = (await sample()).queue
        if (q != null) oldest.labels(q.name, 'waiting').set(q.waitingAge)
      }
    })
    const overdue = new Gauge({
      name: 'lienthong_queue_overdue_jobs',
      help: `Delayed jobs more than ${OVERDUE_GRACE_MS / 1000} s past their due time (workers move due jobs to the waiting line within seconds: overdue ones mean no worker is consuming).`,
      labelNames: ['queue'],
      registers,
      collect: async () => {
        overdue.reset()
        const q = (await sample()).queue
        if (q != null) overdue.labels(q.name).set(q.overdue)
      }
    })
    const workers = new Gauge({
      name: 'lienthong_queue_workers',
      help: 'BullMQ workers connected to the queue, all processes together.',
      labelNames: ['queue'],
      registers,
      collect: async () => {
        workers.reset()
        const q = (await sample()).queue
        if (q?.workers != null) workers.labels(q.name).set(q.workers)
      }
    })
  }

  if (sources.db != null) {
    const deliveries = new Gauge({
      name: 'lienthong_deliveries',
      help: 'Open deliveries in PostgreSQL by state (push: queued, sending, waiting_retry; pull: available, downloaded) and mode.',
      labelNames: ['state', 'mode'],
      registers,
      collect: async () => {
        deliveries.reset()
        const rows = (await sample()).deliveries
        if (rows == null) return
        // Zero for every open state with no rows: an absent series then only means "not read".
        for (const [state, mode] of OPEN_STATES) deliveries.labels(state, mode).set(0)
        for (const r of rows) deliveries.labels(r.state, r.mode).set(r.n)
      }
    })
    const headAge = new Gauge({
      name: 'lienthong_signature_log_head_age_seconds',
      help: 'Seconds since the newest signature-log entry was written (absent while the log is empty).',
      registers,
      collect: async () => {
        const age = (await sample()).headAge
        // Absent rather than 0 when the log is empty or the database did not answer.
        if (age != null) headAge.set(age)
        else headAge.remove()
      }
    })
  }

  if (sources.pool != null) {
    const pool = sources.pool
    const threads = new Gauge({
      name: 'lienthong_verification_pool_threads',
      help: 'Verification worker threads of this process.',
      registers,
      collect: () => { threads.set(pool.stats().threads) }
    })
    const tasks = new Gauge({
      name: 'lienthong_verification_pool_tasks',
      help: 'Submissions in this process\'s verification pool: queued (waiting for a thread) and running.',
      labelNames: ['state'],
      registers,
      collect: () => {
        const stats = pool.stats()
        tasks.labels('queued').set(stats.queued)
        tasks.labels('running').set(stats.running)
      }
    })
  }
}

async function takeSample (sources: ClusterSources, errors: Counter<'source'>): Promise<Sample> {
  const { db, queue, timeoutMs, now } = sources
  const guard = async <T>(source: 'database' | 'redis', read: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await within(read(), timeoutMs, source)
    } catch {
      errors.labels(source).inc()
      return undefined
    }
  }
  const [queueSample, deliveries, head] = await Promise.all([
    queue != null ? guard('redis', async () => await sampleQueue(queue, now())) : undefined,
    db != null ? guard('database', async () => await openDeliveryCounts(db)) : undefined,
    db != null ? guard('database', async () => ({ at: await newestSignatureLogTime(db) })) : undefined
  ])
  return {
    ...(queueSample != null ? { queue: queueSample } : {}),
    ...(deliveries != null ? { deliveries } : {}),
    // logged_at is stamped by the gateway that appended it: clamp small clock differences at 0.
    ...(head != null ? { headAge: head.at == null ? null : Math.max(0, (now() - head.at.getTime()) / 1000) } : {})
  }
}

async function sampleQueue (delivery: DeliveryQueue, now: number): Promise<QueueSample> {
  const queue = delivery.queue
  const [counts, [head], overdue, workers] = await Promise.all([
    queue.getJobCounts(...QUEUE_STATES),
    // Ascending: the job that has waited longest, next to be taken.
    queue.getJobs(['waiting'], 0, 0, true),
    queue.getDelayedCount(now - OVERDUE_GRACE_MS),
    // Refused by Redis services without CLIENT LIST: that one gauge is absent (see QueueSample.workers).
    queue.getWorkersCount().catch(() => undefined)
  ])
  const since = head == null ? undefined : Math.max(head.timestamp, head.processedOn ?? 0)
  return {
    name: queue.name,
    counts,
    waitingAge: since == null ? 0 : Math.max(0, (now - since) / 1000),
    overdue,
    workers
  }
}

/** `promise`, or a rejection after `ms` (the read itself is not cancelled; it just stops mattering). */
async function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms)
    timer.unref()
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}
