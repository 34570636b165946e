import { AdaptiveLimit, DEFAULT_MAX_PER_RECIPIENT, type AdaptiveSettings, type AttemptOutcome } from './adaptive-concurrency.js'

/** What `release` may be told about the attempt beyond "reached or not" (all optional). */
export interface ReleaseDetail {
  /** Round trip of the POST; measured here (acquire -> release) when not given. */
  latencyMs?: number
  /** HTTP status of the answer: 429 and 503 mean "overloaded". */
  status?: number
  timedOut?: boolean
  /** From the answer's Retry-After. */
  retryAfterMs?: number
}

/**
 * Per-recipient share of a worker's delivery slots, adaptive: each recipient has its own limit
 * (adaptive-concurrency.ts, AIMD) that starts at `perRecipient`, grows while the recipient answers
 * fast and well, up to `maxPerRecipient`, halves on failures and overload answers, and drops to a
 * single probe for a recipient that keeps failing, so a slow or dead recipient never starves the others.
 *
 * A job that finds its recipient busy either waits here for a slot to be handed over (when the
 * recipient is healthy: a burst to a responsive recipient then flows without the job going back
 * to Redis and being fetched again, which costs more than the delivery itself), or is postponed
 * by the caller. Waiting is bounded three ways so that isolation holds: only while the
 * recipient's last attempt succeeded (a hanging or failing one gets no waiters), at most
 * `maxWaiters` jobs per recipient, and at most `maxWaitMs` each.
 */
export class RecipientSlots {
  private readonly active = new Map<string, number>()
  private readonly waiters = new Map<string, Array<(granted: boolean) => void>>()
  private readonly failing = new Set<string>()
  private readonly limits = new Map<string, AdaptiveLimit>()
  /** Start times of the attempts in flight, oldest first (latency when the caller does not give it). */
  private readonly started = new Map<string, number[]>()
  private readonly maxPerRecipient: number

  constructor (
    private readonly perRecipient: number,
    private readonly maxWaiters: number,
    private readonly maxWaitMs: number,
    options: { maxPerRecipient?: number, adaptive?: Partial<Omit<AdaptiveSettings, 'initial' | 'max'>>, now?: () => number } = {}
  ) {
    this.maxPerRecipient = Math.max(perRecipient, options.maxPerRecipient ?? DEFAULT_MAX_PER_RECIPIENT)
    this.adaptive = options.adaptive ?? {}
    this.now = options.now ?? (() => performance.now())
  }

  private readonly adaptive: Partial<Omit<AdaptiveSettings, 'initial' | 'max'>>
  private readonly now: () => number

  private limiter (recipient: string): AdaptiveLimit {
    let limit = this.limits.get(recipient)
    if (limit == null) {
      limit = new AdaptiveLimit({ ...this.adaptive, initial: this.perRecipient, max: this.maxPerRecipient })
      this.limits.set(recipient, limit)
    }
    return limit
  }

  /** Resolves true with a slot held (release it with `release`), or false: postpone the job. */
  async acquire (recipient: string): Promise<boolean> {
    const busy = this.active.get(recipient) ?? 0
    const limit = this.limiter(recipient).limit(this.now())
    if (busy < limit) {
      this.take(recipient, busy)
      return true
    }
    const queue = this.waiters.get(recipient) ?? []
    if (limit === 0 || this.failing.has(recipient) || queue.length >= this.maxWaiters) return false
    this.waiters.set(recipient, queue)
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        const i = queue.indexOf(grant)
        if (i !== -1) queue.splice(i, 1)
        if (queue.length === 0 && this.waiters.get(recipient) === queue) this.waiters.delete(recipient)
        resolve(false)
      }, this.maxWaitMs)
      const grant = (granted: boolean): void => { clearTimeout(timer); resolve(granted) }
      queue.push(grant)
    })
  }

  private take (recipient: string, busy: number): void {
    this.active.set(recipient, busy + 1)
    const times = this.started.get(recipient) ?? []
    times.push(this.now())
    this.started.set(recipient, times)
  }

  /**
   * Frees the slot, tells the recipient's limit how the attempt went, and hands slots to waiters
   * while the (possibly grown) limit allows; `ok` says whether the attempt reached the recipient.
   */
  release (recipient: string, ok: boolean, detail: ReleaseDetail = {}): void {
    const now = this.now()
    const startedAt = this.finish(recipient)
    const overloaded = detail.status === 429 || detail.status === 503
    const outcome: AttemptOutcome = overloaded
      ? { kind: 'overloaded', ...(detail.retryAfterMs != null ? { retryAfterMs: detail.retryAfterMs } : {}) }
      : detail.timedOut === true
        ? { kind: 'timeout' }
        : ok
          ? { kind: 'success', ...(detail.latencyMs != null ? { latencyMs: detail.latencyMs } : startedAt != null ? { latencyMs: now - startedAt } : {}) }
          : { kind: 'error' }
    this.limiter(recipient).record(outcome, now)
    if (outcome.kind === 'success') this.failing.delete(recipient)
    else {
      this.failing.add(recipient)
      // The recipient just failed: waiters would only pile onto it. Send them back to Redis.
      for (const grant of this.waiters.get(recipient)?.splice(0) ?? []) grant(false)
    }
    this.handOver(recipient, now)
  }

  /**
   * Frees the slot without telling the limit anything: the attempt never reached the recipient
   * (the job came early, the row was final, the hub refused to send, the database failed), so it
   * says nothing of the recipient's health and must neither grow nor shrink its limit.
   */
  releaseWithoutOutcome (recipient: string): void {
    this.finish(recipient)
    this.handOver(recipient, this.now())
  }

  /** Ends the oldest attempt in flight: its start time (latency when the caller does not give it). */
  private finish (recipient: string): number | undefined {
    const times = this.started.get(recipient)
    const startedAt = times?.shift()
    if (times != null && times.length === 0) this.started.delete(recipient)
    return startedAt
  }

  /** One slot fewer in use; waiters get slots while the (possibly changed) limit allows. */
  private handOver (recipient: string, now: number): void {
    let busy = Math.max(0, (this.active.get(recipient) ?? 1) - 1)
    const queue = this.waiters.get(recipient)
    if (queue != null) {
      const limit = this.limiter(recipient).limit(now)
      while (busy < limit && queue.length > 0) {
        const next = queue.shift() as (granted: boolean) => void
        this.take(recipient, busy)
        busy++
        next(true)
      }
      if (queue.length === 0) this.waiters.delete(recipient)
    }
    if (busy <= 0) this.active.delete(recipient)
    else this.active.set(recipient, busy)
  }

  /** The recipient's last attempt failed (it gets no waiters; its other jobs are held back). */
  isFailing (recipient: string): boolean {
    return this.failing.has(recipient)
  }

  inFlight (recipient: string): number {
    return this.active.get(recipient) ?? 0
  }

  /** The recipient's current limit (`perRecipient` for one not seen yet; 0 while paused by a 429/503). */
  limit (recipient: string): number {
    return this.limits.get(recipient)?.limit(this.now()) ?? Math.min(this.perRecipient, this.maxPerRecipient)
  }
}
