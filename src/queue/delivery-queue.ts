import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { rateLimitedErrorLog } from '../logging/rate-limited-error-log.js'
import { coalesceEnqueues } from './enqueue-coalescer.js'

export const DELIVERY_QUEUE = 'deliveries'

export interface DeliveryJob {
  deliveryId: string
  /**
   * The recipient's agency code, when the producer knows it: the worker checks the recipient's
   * concurrency limit before touching the database (a burst to one recipient otherwise costs a
   * query per postponed job). Not a secret; jobs from older producers lack it.
   */
  recipient?: string
}

export type JobLiveness = 'live' | 'dead' | 'absent'

function livenessOf (state: string): JobLiveness {
  if (state === 'unknown') return 'absent'
  return state === 'completed' || state === 'failed' ? 'dead' : 'live'
}

export type Enqueueable = string | { id: string, recipient?: string, delayUntil?: Date | null }

/**
 * The producer side of the delivery queue. Job data holds ids only (never document bytes or
 * secrets); jobId = delivery id, so enqueueing the same delivery twice (reconciler after a
 * crash) is a no-op in BullMQ. The producer connection fails fast: when Redis is down the
 * accept path must not hang — the delivery row stays `enqueued = false` and the reconciler
 * enqueues it when Redis is back.
 */
export class DeliveryQueue {
  private readonly connection: Redis
  readonly queue: Queue<DeliveryJob>

  constructor (redisUrl: string, prefix: string) {
    this.connection = new Redis(redisUrl, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectTimeout: 2000,
      retryStrategy: (times) => Math.min(times * 200, 2000)
    })
    // Connection errors are expected while Redis is down (enqueue() also fails per call): logged
    // rate-limited, once for the connection and the queue that re-emits them.
    const onError = rateLimitedErrorLog('delivery queue: Redis')
    this.connection.on('error', onError)
    this.queue = new Queue<DeliveryJob>(DELIVERY_QUEUE, { connection: this.connection, prefix })
    this.queue.on('error', onError)
  }

  /**
   * Adds one job per delivery (jobId = delivery id; BullMQ ignores an id it already holds).
   * `delayUntil` keeps a waiting_retry delivery's schedule when the reconciler re-adds it.
   */
  async enqueue (deliveries: readonly Enqueueable[]): Promise<void> {
    await this.coalesced(deliveries)
  }

  /** Adds of one event-loop turn in one addBulk (enqueue-coalescer.ts). */
  private readonly coalesced = coalesceEnqueues<Enqueueable>(async (deliveries) => { await this.addJobs(deliveries) })

  private async addJobs (deliveries: readonly Enqueueable[]): Promise<void> {
    if (deliveries.length === 0) return
    if (this.connection.status !== 'ready') throw new Error(`Redis is not connected (${this.connection.status})`)
    const now = Date.now()
    await this.queue.addBulk(deliveries.map((d) => {
      const id = typeof d === 'string' ? d : d.id
      const delay = typeof d === 'string' || d.delayUntil == null ? 0 : Math.max(0, d.delayUntil.getTime() - now)
      return {
        name: 'deliver',
        data: typeof d === 'string' || d.recipient == null ? { deliveryId: id } : { deliveryId: id, recipient: d.recipient },
        opts: {
          jobId: id,
          delay,
          // Infrastructure errors inside the processor (database down...) retry the job; the
          // recipient's own failures are scheduled by the processor itself (retry-policy.ts).
          attempts: 50,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: { age: 3600, count: 10000 },
          removeOnFail: { age: 7 * 24 * 3600 }
        }
      }
    }))
  }

  /** Job ids among `ids` that Redis does not hold (flushed, lost, never added). */
  async missing (ids: readonly string[]): Promise<string[]> {
    const jobs = await Promise.all(ids.map(async (id) => await this.queue.getJob(id)))
    return ids.filter((_id, i) => jobs[i] == null)
  }

  /**
   * Whether each delivery has a job a worker will run: 'live' (waiting, delayed, prioritized,
   * waiting-children, active), 'dead' (completed or failed: kept for inspection, never run again)
   * or 'absent'. One BullMQ getJobState per id, sent `chunk` at a time over the one connection
   * (pipelined by ioredis), so a batch costs a round trip or two, not one per id.
   */
  async liveness (ids: readonly string[], chunk = 250): Promise<Map<string, JobLiveness>> {
    const result = new Map<string, JobLiveness>()
    for (let i = 0; i < ids.length; i += chunk) {
      const part = ids.slice(i, i + chunk)
      const states = await Promise.all(part.map(async (id) => await this.queue.getJobState(id)))
      part.forEach((id, k) => { result.set(id, livenessOf(states[k] ?? 'unknown')) })
    }
    return result
  }

  /**
   * Removes these deliveries' completed or failed jobs, so that adding the id again creates a job
   * (BullMQ ignores an add whose id it still holds in any state). A job that is not finished any
   * more (re-added meanwhile, or locked by a worker) is left alone.
   */
  async removeFinished (ids: readonly string[]): Promise<number> {
    let removed = 0
    for (const id of ids) {
      const state = await this.queue.getJobState(id)
      if (state !== 'completed' && state !== 'failed') continue
      removed += await this.queue.remove(id).catch(() => 0)
    }
    return removed
  }

  /**
   * Makes these deliveries' delayed jobs due now (a recipient that came back: see
   * pull-forward.ts). A job that is not delayed (active, already waiting, gone) is left alone:
   * the reconciler re-adds a missing one.
   */
  async promote (ids: readonly string[]): Promise<number> {
    let promoted = 0
    for (let i = 0; i < ids.length; i += 100) {
      const done = await Promise.all(ids.slice(i, i + 100).map(async (id) => {
        const job = await this.queue.getJob(id)
        // Not delayed any more (picked up meanwhile) or gone: nothing to do.
        return job == null ? false : await job.promote().then(() => true, () => false)
      }))
      promoted += done.filter(Boolean).length
    }
    return promoted
  }

  /** True once Redis answers, false if it has not within `ms` (start-up: to warn, not to fail). */
  async waitReady (ms: number): Promise<boolean> {
    const until = Date.now() + ms
    while (Date.now() < until) {
      if (await this.ping()) return true
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    return false
  }

  async ping (): Promise<boolean> {
    try {
      return this.connection.status === 'ready' && (await this.connection.ping()) === 'PONG'
    } catch {
      return false
    }
  }

  async close (): Promise<void> {
    // Closing while Redis is down rejects; the connection is dropped below either way.
    await this.queue.close().catch(() => {})
    this.connection.disconnect()
  }
}
