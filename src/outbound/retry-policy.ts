/**
 * When to try a failed push again: progressive backoff with "equal jitter" (half the exponential
 * delay fixed, the other half random: a recovering recipient is not hit by every hub worker at
 * once, and unlike full jitter the wait never collapses to near zero, so the backoff really grows),
 * a recipient's Retry-After taking precedence, and a window after which the delivery is given up
 * as failed.
 */
export interface RetryPolicy {
  baseDelayMs: number
  maxDelayMs: number
  /** Measured from the delivery's creation; default 24 h. */
  windowMs: number
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseDelayMs: 2000, maxDelayMs: 15 * 60 * 1000, windowMs: 24 * 60 * 60 * 1000 }

export type Outcome =
  | { kind: 'delivered' }
  | { kind: 'retry', reason: string, retryAfterMs?: number }
  | { kind: 'permanent', reason: string }

/** Classifies a recipient's answer (or the absence of one). */
export function classifyResponse (status: number | undefined, networkError?: string): Outcome {
  if (status == null) return { kind: 'retry', reason: networkError ?? 'no response' }
  if (status >= 200 && status < 300) return { kind: 'delivered' }
  if (status === 408 || status === 429 || status >= 500) return { kind: 'retry', reason: `HTTP ${status}` }
  // Other 4xx: the recipient says the request itself is wrong; repeating it cannot help.
  return { kind: 'permanent', reason: `HTTP ${status}` }
}

/**
 * Retry-After (RFC 9110 10.2.3): delta-seconds or an HTTP date; undefined when absent or
 * unreadable. Only a value that names a weekday or month is read as a date: Date.parse alone takes
 * "-5" or "1.5" for dates in 2001, which would mean "retry at once".
 */
export function parseRetryAfter (value: string | undefined, now = Date.now()): number | undefined {
  const text = value?.trim()
  if (text == null || text === '') return undefined
  if (/^\d+$/.test(text)) return Number(text) * 1000
  if (!/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /i.test(text)) return undefined
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/**
 * The next attempt time, or undefined when the window is exhausted (the delivery fails).
 * `attempt` counts attempts made so far (1 after the first failure).
 */
export function nextAttemptAt (policy: RetryPolicy, attempt: number, createdAt: Date, now: number, retryAfterMs?: number, random = Math.random): Date | undefined {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1))
  // Equal jitter: uniformly in [exponential / 2, exponential).
  const jittered = exponential / 2 + random() * (exponential / 2)
  const delay = retryAfterMs != null ? Math.min(Math.max(retryAfterMs, 0), policy.maxDelayMs * 4) : jittered
  const at = now + delay
  if (at > createdAt.getTime() + policy.windowMs) return undefined
  return new Date(at)
}
