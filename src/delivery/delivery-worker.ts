import { hostname } from 'node:os'
import { DelayedError, Worker, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import { DELIVERY_QUEUE, type DeliveryJob } from '../queue/delivery-queue.js'
import { attemptDelivery, type DeliveryDependencies } from './attempt-delivery.js'
import { loadDelivery } from './delivery-store.js'

export interface DeliveryWorkerOptions extends Omit<DeliveryDependencies, 'actor'> {
  redisUrl: string
  prefix: string
  /** Deliveries in progress at once in this process. */
  concurrency: number
  /** At most this many at once to one recipient, so a slow or dead one never starves the others. */
  perRecipient: number
  /** BullMQ job lock (renewed while a delivery runs); default max(30 s, 2 x push timeout). */
  lockDurationMs?: number
  /** How often to look for jobs whose worker died (their lock expired); default 15 s. */
  stalledIntervalMs?: number
  onError?: (err: unknown) => void
}

export interface DeliveryWorker {
  worker: Worker<DeliveryJob>
  /** Finishes the jobs in progress (or, after the deadline, releases them) and disconnects. */
  close: (deadlineMs?: number) => Promise<void>
}

/**
 * The BullMQ consumer for deliveries. Never imports Fastify. Recipient failures are not job
 * failures: the processor records them in PostgreSQL and moves the same job to its next attempt
 * time (so the job id stays the delivery id); only infrastructure errors make a job fail and be
 * retried by BullMQ.
 */
export function startDeliveryWorker (options: DeliveryWorkerOptions): DeliveryWorker {
  const actor = `worker@${hostname()}:${process.pid}`
  const inFlight = new Map<string, number>()
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null })
  connection.on('error', (err) => options.onError?.(err))
  const deps: DeliveryDependencies = { ...options, actor }

  const processor = async (job: Job<DeliveryJob>, token?: string): Promise<string> => {
    const deliveryId = job.data.deliveryId
    const row = await loadDelivery(options.db, deliveryId)
    if (row == null) return 'gone'
    const recipient = row.recipient_code
    const busy = inFlight.get(recipient) ?? 0
    if (busy >= options.perRecipient) {
      // This recipient already has its share of workers: try again shortly, let others run.
      await job.moveToDelayed(Date.now() + 250 + Math.floor(Math.random() * 500), token)
      throw new DelayedError()
    }
    inFlight.set(recipient, busy + 1)
    try {
      const result = await attemptDelivery(deps, deliveryId)
      if (result.state === 'waiting_retry') {
        await job.moveToDelayed(result.retryAt.getTime(), token)
        throw new DelayedError()
      }
      if (result.state === 'queued') {
        // Resent by an operator while this attempt was in flight: the same job goes again.
        await job.moveToDelayed(Date.now(), token)
        throw new DelayedError()
      }
      return result.state
    } finally {
      const left = (inFlight.get(recipient) ?? 1) - 1
      if (left <= 0) inFlight.delete(recipient)
      else inFlight.set(recipient, left)
    }
  }

  const worker = new Worker<DeliveryJob>(DELIVERY_QUEUE, processor, {
    connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    // A job whose worker died is taken over after the lock expires; its row is still `sending`
    // and the re-run POSTs again with the same Idempotency-Key.
    lockDuration: options.lockDurationMs ?? Math.max(30_000, options.timeoutMs * 2),
    stalledInterval: options.stalledIntervalMs ?? 15_000,
    maxStalledCount: 100
  })
  worker.on('error', (err) => options.onError?.(err))
  return {
    worker,
    close: async (deadlineMs = 30_000) => {
      const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), deadlineMs).unref())
      const graceful = worker.close().then(() => 'done' as const)
      if ((await Promise.race([graceful, timer])) === 'late') await worker.close(true)
      connection.disconnect()
    }
  }
}
