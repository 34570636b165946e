/**
 * Adaptive concurrency for one recipient (AIMD), pure: no timers, no I/O; the caller passes the
 * clock. RecipientSlots keeps one per recipient and asks it how many deliveries may be in flight.
 *
 * - Additive increase: +1 after `limit` successes in a row (about one per round trip at the current
 *   limit), up to `max`, as long as the answers stay fast: a success whose latency exceeds
 *   `latencyTolerance` x the recipient's baseline (its lowest recent latency) does not count.
 * - Multiplicative decrease: x `decrease` (rounded down, at least 1) on an error or a timeout; on
 *   an overload answer (429/503) too, and then nothing more is sent to the recipient until its
 *   Retry-After (default `overloadPauseMs`) has passed; on rising latency (the same test), at most
 *   once per round trip (`limit` completions), so one slow burst does not collapse the limit.
 * - A recipient that fails `deadAfter` times in a row is treated as down: limit 1, one probe in flight.
 */

export type AttemptOutcome =
  /** The recipient answered and took the document (2xx, or a permanent refusal that is not overload). */
  | { kind: 'success', latencyMs?: number }
  /** Connection refused or reset, TLS failure, 5xx other than 503. */
  | { kind: 'error' }
  | { kind: 'timeout' }
  /** 429 or 503: the recipient asks for less; `retryAfterMs` from its Retry-After, when it sent one. */
  | { kind: 'overloaded', retryAfterMs?: number }

export interface AdaptiveSettings {
  /** Limit for a recipient not seen before (the static per-recipient share, LIENTHONG_DELIVERY_PER_RECIPIENT). */
  initial: number
  /** Never more than this in flight (LIENTHONG_DELIVERY_MAX_PER_RECIPIENT). */
  max: number
  /** Multiplicative decrease factor, 0 < decrease < 1. */
  decrease: number
  /** A success slower than this multiple of the baseline latency counts as congestion. */
  latencyTolerance: number
  /** Consecutive failures after which the recipient gets a single probe. */
  deadAfter: number
  /** Pause after a 429/503 without Retry-After. */
  overloadPauseMs: number
  /** Longest Retry-After honoured (a recipient cannot park itself for hours through the limiter; its deliveries' own retry times still apply). */
  maxPauseMs: number
}

export const DEFAULT_MAX_PER_RECIPIENT = 16

export const DEFAULT_ADAPTIVE: Omit<AdaptiveSettings, 'initial' | 'max'> = {
  decrease: 0.5,
  latencyTolerance: 2,
  deadAfter: 3,
  overloadPauseMs: 1000,
  maxPauseMs: 60_000
}

/** Latencies below this are not told apart (a 2 ms -> 5 ms change is noise, not congestion). */
const LATENCY_FLOOR_MS = 20

export class AdaptiveLimit {
  private current: number
  private successes = 0
  private failures = 0
  /** Completions left before a latency-based decrease may happen again. */
  private cooldown = 0
  private baselineMs: number | undefined
  private pausedUntil = 0
  readonly settings: AdaptiveSettings

  constructor (settings: Partial<AdaptiveSettings> & Pick<AdaptiveSettings, 'initial' | 'max'>) {
    const max = Math.max(1, Math.floor(settings.max))
    this.settings = { ...DEFAULT_ADAPTIVE, ...settings, max, initial: Math.min(max, Math.max(1, Math.floor(settings.initial))) }
    this.current = this.settings.initial
  }

  /** Deliveries that may be in flight at `nowMs` (0 while paused by a 429/503). */
  limit (nowMs: number): number {
    return nowMs < this.pausedUntil ? 0 : this.current
  }

  /** The limit ignoring a pause. */
  get value (): number {
    return this.current
  }

  /** Records one finished attempt; returns the new limit (ignoring a pause). */
  record (outcome: AttemptOutcome, nowMs: number): number {
    if (this.cooldown > 0) this.cooldown--
    if (outcome.kind === 'success') {
      this.failures = 0
      const latency = outcome.latencyMs
      if (latency != null && Number.isFinite(latency) && latency >= 0) {
        const baseline = this.baselineMs
        if (baseline != null && latency > Math.max(LATENCY_FLOOR_MS, baseline * this.settings.latencyTolerance)) {
          this.successes = 0
          if (this.cooldown === 0) {
            this.shrink()
            this.cooldown = this.current
          }
          // The baseline drifts up slowly, so a recipient that is simply slower now is re-learnt.
          this.baselineMs = baseline + (latency - baseline) * 0.05
          return this.current
        }
        this.baselineMs = baseline == null || latency < baseline ? latency : baseline + (latency - baseline) * 0.05
      }
      this.successes++
      if (this.successes >= this.current) {
        this.successes = 0
        if (this.current < this.settings.max) this.current++
      }
      return this.current
    }
    this.successes = 0
    this.failures++
    this.shrink()
    if (this.failures >= this.settings.deadAfter) this.current = 1
    if (outcome.kind === 'overloaded') {
      const pause = Math.min(this.settings.maxPauseMs, Math.max(0, outcome.retryAfterMs ?? this.settings.overloadPauseMs))
      this.pausedUntil = Math.max(this.pausedUntil, nowMs + pause)
    }
    return this.current
  }

  private shrink (): void {
    this.current = Math.max(1, Math.floor(this.current * this.settings.decrease))
  }
}
