import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Queryable } from '../db/database.js'
import { deliveryLatencySeconds } from '../store/hub-state.js'
import type { DeliveryQueue } from '../queue/delivery-queue.js'
import type { VerificationPoolStats } from '../verification/verification-pool.js'
import type { Verdict } from '../domain/verdict.js'
import { registerClusterGauges } from './cluster-gauges.js'
import { REJECTION_REASONS } from './rejection-reasons.js'
import { rateLimitedErrorLog } from '../logging/rate-limited-error-log.js'

export interface HubMetricsOptions {
  /**
   * The system of record: read for delivery latency (created_at -> delivered_at) and, with
   * `clusterGauges`, for the deliveries and signature-log gauges.
   */
  db?: Queryable
  /** The delivery queue whose depth, head-of-line age and workers are sampled at scrape time. */
  queue?: DeliveryQueue
  /** The verification pool of this process (threads, documents waiting and running). */
  pool?: { stats: () => VerificationPoolStats }
  /**
   * Sample the hub-wide state (queue, deliveries, signature log) at scrape time. Gateways do;
   * workers do not, so that the same numbers are not read once per worker replica.
   */
  clusterGauges?: boolean
  /** Bound on each scrape-time database or Redis read (default 2000 ms). */
  scrapeTimeoutMs?: number
  /** Node.js process metrics (CPU, memory, event-loop lag, GC); default on. */
  defaultMetrics?: boolean
  now?: () => number
}

export type DeliveryMode = 'push' | 'pull'
export type AttemptOutcome = 'delivered' | 'retry' | 'failed'

/** Seconds, 1 ms .. 30 s: small documents verify in milliseconds, 50 MB ones in seconds. */
const VERIFICATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
/** Seconds, 50 ms .. 1 day: a push lands in well under a second, a pull waits for the recipient to poll, retries go on for the retry window. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600]
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/**
 * The hub's Prometheus metrics, on a registry of its own (never prom-client's global one), so
 * that two hubs in one process (tests) never share or double-register metrics. One instance per
 * process role: the gateway builds one and hands it to the in-process worker of `lienthong
 * start`; `lienthong worker` builds its own. Recording never throws into the caller's path.
 */
export class HubMetrics {
  readonly registry = new Registry()
  private readonly db: Queryable | undefined
  private readonly accepted: Counter<'kind'>
  private readonly duplicates: Counter
  private readonly rejected: Counter<'reason'>
  private readonly verification: Histogram<'verdict'>
  private readonly attempts: Counter<'outcome' | 'mode'>
  private readonly latency: Histogram<'mode'>
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>
  private readonly httpDuration: Histogram<'method' | 'route'>
  private readonly latencyReads = new Set<Promise<void>>()
  private readonly onError: (err: unknown) => void
  private readinessProbe: (() => Promise<Record<string, boolean>>) | undefined

  constructor (options: HubMetricsOptions = {}, onError: (err: unknown) => void = rateLimitedErrorLog('metrics: read failed')) {
    const registers = [this.registry]
    this.db = options.db
    this.onError = onError
    this.accepted = new Counter({ name: 'lienthong_documents_accepted_total', help: 'Documents and status messages accepted and stored (duplicates not included), by kind.', labelNames: ['kind'], registers })
    this.duplicates = new Counter({ name: 'lienthong_documents_duplicates_total', help: 'Submissions answered as a duplicate of a document already accepted.', registers })
    this.rejected = new Counter({ name: 'lienthong_documents_rejected_total', help: 'Submissions refused, by stable reason/problem code (BUSY: the verification pool was full).', labelNames: ['reason'], registers })
    this.verification = new Histogram({ name: 'lienthong_verification_duration_seconds', help: 'Time to verify one submission, waiting for a verification thread included, by verifier verdict.', labelNames: ['verdict'], buckets: VERIFICATION_BUCKETS, registers })
    this.attempts = new Counter({ name: 'lienthong_delivery_attempts_total', help: 'Delivery attempts by outcome: push POSTs (delivered, retry scheduled, failed for good) and pull acknowledgements (done = delivered, fail = failed).', labelNames: ['outcome', 'mode'], registers })
    this.latency = new Histogram({ name: 'lienthong_delivery_latency_seconds', help: 'From the document being accepted to its delivery (push: recipient answered 2xx; pull: recipient acknowledged).', labelNames: ['mode'], buckets: LATENCY_BUCKETS, registers })
    this.httpRequests = new Counter({ name: 'lienthong_http_requests_total', help: 'HTTP requests answered by the gateway, by method, route pattern and status code.', labelNames: ['method', 'route', 'status'], registers })
    this.httpDuration = new Histogram({ name: 'lienthong_http_request_duration_seconds', help: 'Time to answer an HTTP request, by method and route pattern.', labelNames: ['method', 'route'], buckets: HTTP_BUCKETS, registers })

    // Zero series for the labels known in advance: rate() and increase() see the first event.
    for (const kind of ['document', 'status']) this.accepted.labels(kind).inc(0)
    for (const reason of REJECTION_REASONS) this.rejected.labels(reason).inc(0)
    for (const mode of ['push', 'pull'] as const) {
      for (const outcome of mode === 'push' ? ['delivered', 'retry', 'failed'] : ['delivered', 'failed']) this.attempts.labels(outcome, mode).inc(0)
    }

    const readiness = new Gauge({
      name: 'lienthong_readiness_check',
      help: 'Each /health/ready check of this gateway: 1 ok, 0 failing (database, redis, hubCertificate, revocationData...).',
      labelNames: ['check'],
      registers,
      collect: async () => {
        readiness.reset()
        // A probe that throws leaves the gauge empty for this scrape (absent() alerts on it), and is reported.
        const checks = await this.readinessProbe?.().catch(this.onError)
        for (const [check, ok] of Object.entries(checks ?? {})) readiness.labels(check).set(ok ? 1 : 0)
      }
    })

    registerClusterGauges(this.registry, {
      ...(options.clusterGauges !== false ? { db: options.db, queue: options.queue } : {}),
      pool: options.pool,
      timeoutMs: options.scrapeTimeoutMs ?? 2000,
      now: options.now ?? Date.now
    })
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry })
  }

  get contentType (): string {
    return this.registry.contentType
  }

  /** The text exposition (Prometheus 0.0.4); scrape-time sources that fail are left out, never fail the scrape. */
  async scrape (): Promise<string> {
    return await this.registry.metrics()
  }

  /** How the readiness gauges are read (the gateway runs its own /health/ready checks). */
  setReadinessProbe (probe: () => Promise<Record<string, boolean>>): void {
    this.readinessProbe = probe
  }

  documentAccepted (kind: 'document' | 'status'): void {
    this.accepted.labels(kind).inc()
  }

  documentDuplicate (): void {
    this.duplicates.inc()
  }

  documentRejected (reason: string): void {
    this.rejected.labels(reason).inc()
  }

  /** `verify` with its duration observed (a verifier that throws, e.g. pool full, is not observed). */
  timedVerify (verify: (bytes: Buffer, options?: { expectedSender?: string, unsignedAllowed?: boolean, forwarded?: boolean }) => Promise<Verdict>): (bytes: Buffer, options?: { expectedSender?: string, unsignedAllowed?: boolean, forwarded?: boolean }) => Promise<Verdict> {
    return async (bytes, options) => {
      const end = this.verification.startTimer()
      const verdict = await verify(bytes, options)
      end({ verdict: verdict.verdict })
      return verdict
    }
  }

  httpRequest (method: string, route: string, status: number, seconds: number): void {
    this.httpRequests.labels(method, route, String(status)).inc()
    this.httpDuration.labels(method, route).observe(seconds)
  }

  /**
   * One delivery attempt's result as attemptDelivery (push) or acknowledge (pull) returned it.
   * Only real state changes count: a job that found its delivery already done (changed: false),
   * cancelled or resent is no attempt, nor is a job that came early and sent nothing. The latency
   * (delivered_at - created_at, both stamped by PostgreSQL) comes with a push result; for a pull
   * acknowledgement it is read from the row, off the caller's path.
   */
  deliveryAttempted (deliveryId: string, result: { state: string, changed?: boolean, attempted?: false, latencySeconds?: number }, mode: DeliveryMode = 'push'): void {
    const outcome = attemptOutcome(result)
    if (outcome == null) return
    this.attempts.labels(outcome, mode).inc()
    if (outcome === 'delivered' && result.latencySeconds != null && Number.isFinite(result.latencySeconds)) {
      // A push attempt measured it in its own transaction: no extra read.
      this.latency.labels(mode).observe(Math.max(0, result.latencySeconds))
    } else if (outcome === 'delivered' && this.db != null) {
      const read: Promise<void> = this.observeLatency(this.db, deliveryId, mode)
        .catch(this.onError)
        .finally(() => { this.latencyReads.delete(read) })
      this.latencyReads.add(read)
    }
  }

  /** Resolves when the latency reads started so far have finished (tests, orderly shutdown). */
  async settled (): Promise<void> {
    await Promise.all([...this.latencyReads])
  }

  private async observeLatency (db: Queryable, deliveryId: string, mode: DeliveryMode): Promise<void> {
    const seconds = await deliveryLatencySeconds(db, deliveryId)
    if (Number.isFinite(seconds)) this.latency.labels(mode).observe(Math.max(0, seconds))
  }
}

function attemptOutcome (result: { state: string, changed?: boolean, attempted?: false }): AttemptOutcome | undefined {
  // waiting_retry carries no `changed`: the attempt happened and a retry was scheduled, unless
  // the job came before the row's retry time and nothing was sent (attempted: false).
  if (result.state === 'waiting_retry') return result.attempted === false ? undefined : 'retry'
  if (result.changed !== true) return undefined
  if (result.state === 'delivered' || result.state === 'acknowledged') return 'delivered'
  if (result.state === 'failed') return 'failed'
  return undefined
}
