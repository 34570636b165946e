import { hostname } from 'node:os'
import { DelayedError, Worker, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import { DELIVERY_QUEUE, DeliveryQueue, type DeliveryJob } from '../queue/delivery-queue.js'
import { attemptDelivery, type AttemptFeedback, type DeliveryDependencies } from './attempt-delivery.js'
import { loadDelivery } from '../store/deliveries.js'
import { pullForward } from './pull-forward.js'
import { RecipientSlots } from './recipient-slots.js'
import { ParkedJobs } from './parked-jobs.js'
import { closePushConnections } from '../outbound/push-client.js'
import type { HubMetrics } from '../metrics/hub-metrics.js'
import { rateLimitedErrorLog } from '../logging/rate-limited-error-log.js'

export interface DeliveryWorkerOptions extends Omit<DeliveryDependencies, 'actor'> {
  redisUrl: string
  prefix: string
  /** Deliveries in progress at once in this process. */
  concurrency: number
  /** At most this many at once to one recipient, so a slow or dead one never starves the others. */
  perRecipient: number
  /** The adaptive limit per recipient grows from perRecipient up to this while it answers well. */
  maxPerRecipient?: number
  /**
   * BullMQ job lock, renewed every half of it while a delivery runs (so a long POST keeps it);
   * default 3 s. A killed worker's deliveries are taken over once it expires.
   */
  lockDurationMs?: number
  /** How often to look for jobs whose lock expired (their worker died or is paused); default 1 s. */
  stalledIntervalMs?: number
  onError?: (err: unknown) => void
  /** An attempt whose claim another worker took over: its outcome was dropped, not recorded. */
  onSuperseded?: (deliveryId: string, outcome: string) => void
  /**
   * How long a job of a held recipient (failing, its probe in flight) rests in Redis before it is
   * fetched again, unless the recipient answers first (then it is promoted at once). Default 60 s.
   */
  heldParkMs?: number
  /** Counts attempts by outcome and observes delivery latency (Prometheus). */
  metrics?: Pick<HubMetrics, 'deliveryAttempted'>
}

/** A held recipient's job rests this long unless the recipient answers first. */
const DEFAULT_HELD_PARK_MS = 60_000

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
  // Waiting for a healthy recipient's slot is bounded (see recipient-slots.ts): at most half the
  // worker's slots, 1 s each.
  const slots = new RecipientSlots(options.perRecipient, Math.max(1, Math.floor(options.concurrency / 2)), 1000, options.maxPerRecipient != null ? { maxPerRecipient: options.maxPerRecipient } : {})
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null })
  connection.on('error', (err) => options.onError?.(err))
  const deps: DeliveryDependencies = { ...options, actor }
  // Producer side, to pull a recovered recipient's waiting deliveries forward.
  const producer = new DeliveryQueue(options.redisUrl, options.prefix)
  const lastPulled = new Map<string, number>()
  const recipientRecovered = (recipient: string): void => {
    // Once per recipient per second is enough: every success after a failure would otherwise
    // re-run the same UPDATE while the burst drains.
    const last = lastPulled.get(recipient) ?? 0
    if (Date.now() - last < 1000) return
    lastPulled.set(recipient, Date.now())
    pullForward(options.db, producer, recipient).catch((err: unknown) => options.onError?.(err))
  }

  // A held recipient's jobs rest here until it answers again (parked-jobs.ts).
  const parked = new ParkedJobs()
  const heldParkMs = options.heldParkMs ?? DEFAULT_HELD_PARK_MS
  const wakeParked = (recipient: string): void => {
    const ids = parked.take(recipient)
    if (ids.length > 0) producer.promote(ids).catch((err: unknown) => options.onError?.(err))
  }

  const processor = async (job: Job<DeliveryJob>, token?: string): Promise<string> => {
    const deliveryId = job.data.deliveryId
    let recipient = job.data.recipient
    if (recipient == null) {
      // A job from a producer that did not name the recipient: look it up.
      const row = await loadDelivery(options.db, deliveryId)
      if (row == null) return 'gone'
      recipient = row.recipient_code
    }
    if (job.id != null) parked.delete(recipient, job.id)
    if (!(await slots.acquire(recipient))) {
      if (slots.isFailing(recipient) && slots.inFlight(recipient) > 0 && job.id != null) {
        // Its last attempt failed and its probe holds its slots: fetching this job again every
        // few hundred ms until the probe ends would cost Redis and CPU for nothing. It rests
        // until the recipient answers (promoted then), or at the latest heldParkMs; another
        // worker that sees the recipient back promotes it too (pull-forward.ts). Not while
        // nothing is in flight (a 429/503 pause): no answer would come to wake it.
        parked.add(recipient, job.id)
        await job.moveToDelayed(Date.now() + heldParkMs, token)
        throw new DelayedError()
      }
      // This recipient already has its share of workers: try again shortly, let others run.
      await job.moveToDelayed(Date.now() + 250 + Math.floor(Math.random() * 500), token)
      throw new DelayedError()
    }
    // The slot is given back as soon as the exchange with the recipient is over (the limit is on
    // POSTs in flight to it), with how it went, for its adaptive limit; or, at the latest, when
    // the attempt ends (nothing was sent, or it failed before).
    let released = false
    const release = (feedback: AttemptFeedback | undefined): void => {
      if (released) return
      released = true
      if (feedback == null || !feedback.sent) slots.releaseWithoutOutcome(recipient)
      else {
        slots.release(recipient, feedback.reached, {
          latencyMs: feedback.latencyMs,
          timedOut: feedback.timedOut,
          ...(feedback.status != null ? { status: feedback.status } : {}),
          ...(feedback.retryAfterMs != null ? { retryAfterMs: feedback.retryAfterMs } : {})
        })
      }
    }
    try {
      const result = await attemptDelivery(deps, deliveryId, release)
      release('feedback' in result ? result.feedback : undefined)
      options.metrics?.deliveryAttempted(deliveryId, result)
      if ('recovered' in result && result.recovered) recipientRecovered(recipient)
      if (parked.has(recipient) && !slots.isFailing(recipient)) wakeParked(recipient)
      if (result.state === 'superseded') {
        // This worker lost the job's lock (paused, stalled) and another took the delivery over:
        // its outcome was dropped (see attempt-delivery.ts); the job is the other worker's now.
        options.onSuperseded?.(deliveryId, result.outcome)
        return result.state
      }
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
      release(undefined)
    }
  }

  const worker = new Worker<DeliveryJob>(DELIVERY_QUEUE, processor, {
    connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    // A job whose worker died is taken over once its short lock expires (within lock + stalled
    // interval, at most about 4 s by default); its row is still `sending` and the re-run claims it anew
    // and POSTs again with the same Idempotency-Key. A live worker renews the lock every
    // lockDuration / 2; one that loses it anyway (paused) has its late outcome fenced off by the
    // claim token. A stalled job is retried, never failed for stalling (maxStalledCount).
    lockDuration: options.lockDurationMs ?? 3000,
    stalledInterval: options.stalledIntervalMs ?? 1000,
    maxStalledCount: 1_000_000
  })
  worker.on('error', (err) => options.onError?.(err))
  return {
    worker,
    close: async (deadlineMs = 30_000) => {
      // pause() takes no new job and waits for the running ones; close(true) then returns at once.
      // (A close() already under way cannot be hurried by a later close(true): BullMQ returns the
      // same pending wait.) Jobs still running at the deadline are abandoned: their lock expires
      // and another worker re-runs them with the same Idempotency-Key.
      const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), deadlineMs).unref())
      await Promise.race([worker.pause().catch(rateLimitedErrorLog('delivery worker: pause at shutdown')), timer])
      await worker.close(true)
      connection.disconnect()
      await producer.close()
      closePushConnections(options.tls)
    }
  }
}
