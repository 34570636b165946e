import t from 'tap'
import { classifyResponse, DEFAULT_RETRY_POLICY, nextAttemptAt, parseRetryAfter, type Outcome, type RetryPolicy } from '../../src/outbound/retry-policy.js'

// The retry policy's pure functions, table-driven: what a recipient's answer means, how Retry-After
// is read, and when the next attempt is due. test/delivery/push-delivery.test.ts shows the worker
// acting on them against a real recipient; here every edge is checked without a clock or a server.

t.test('classifyResponse: a recipient\'s answer (or none) -> delivered, retry or permanent', async (t) => {
  const cases: Array<{ status: number | undefined, networkError?: string, expected: Outcome }> = [
    { status: 200, expected: { kind: 'delivered' } },
    { status: 201, expected: { kind: 'delivered' } },
    { status: 204, expected: { kind: 'delivered' } },
    { status: 299, expected: { kind: 'delivered' } },
    // Redirects are not followed: the request did not reach its target, and repeating it will not.
    { status: 301, expected: { kind: 'permanent', reason: 'HTTP 301' } },
    { status: 400, expected: { kind: 'permanent', reason: 'HTTP 400' } },
    { status: 401, expected: { kind: 'permanent', reason: 'HTTP 401' } },
    { status: 404, expected: { kind: 'permanent', reason: 'HTTP 404' } },
    { status: 409, expected: { kind: 'permanent', reason: 'HTTP 409' } },
    { status: 422, expected: { kind: 'permanent', reason: 'HTTP 422' } },
    // The 4xx that mean "not now" rather than "never".
    { status: 408, expected: { kind: 'retry', reason: 'HTTP 408' } },
    { status: 429, expected: { kind: 'retry', reason: 'HTTP 429' } },
    { status: 500, expected: { kind: 'retry', reason: 'HTTP 500' } },
    { status: 502, expected: { kind: 'retry', reason: 'HTTP 502' } },
    { status: 503, expected: { kind: 'retry', reason: 'HTTP 503' } },
    { status: 599, expected: { kind: 'retry', reason: 'HTTP 599' } },
    // No answer at all: retried, with the network error as the reason when there is one.
    { status: undefined, networkError: 'connect ECONNREFUSED 127.0.0.1:9441', expected: { kind: 'retry', reason: 'connect ECONNREFUSED 127.0.0.1:9441' } },
    { status: undefined, networkError: 'timed out after 1500 ms', expected: { kind: 'retry', reason: 'timed out after 1500 ms' } },
    { status: undefined, expected: { kind: 'retry', reason: 'no response' } }
  ]
  for (const c of cases) {
    t.same(classifyResponse(c.status, c.networkError), c.expected, `${c.status ?? c.networkError ?? 'nothing'} -> ${c.expected.kind}`)
  }
})

t.test('parseRetryAfter: delta-seconds or an HTTP date, in ms from now; undefined when unusable', async (t) => {
  const now = Date.parse('2026-03-02T08:00:00Z')
  const cases: Array<{ value: string | undefined, expected: number | undefined, todo?: string }> = [
    { value: '0', expected: 0 },
    { value: '1', expected: 1000 },
    { value: '120', expected: 120_000 },
    { value: ' 7 ', expected: 7000 },
    { value: 'Mon, 02 Mar 2026 08:00:30 GMT', expected: 30_000 },
    { value: 'Mon, 02 Mar 2026 09:00:00 GMT', expected: 3_600_000 },
    // The obsolete rfc850 form RFC 9110 still asks recipients to accept.
    { value: 'Monday, 02-Mar-26 08:01:00 GMT', expected: 60_000 },
    // A date in the past means "now", never a negative delay.
    { value: 'Mon, 02 Mar 2026 07:59:00 GMT', expected: 0 },
    { value: undefined, expected: undefined },
    { value: '', expected: undefined },
    { value: '   ', expected: undefined },
    { value: 'soon', expected: undefined },
    // Not delta-seconds (RFC 9110: 1*DIGIT), and not an HTTP date either; but V8's lenient
    // Date.parse alone reads both as dates in 2001 (= retry at once): only dates naming a weekday count.
    { value: '-5', expected: undefined },
    { value: '1.5', expected: undefined },
    { value: '2026-12-07', expected: undefined }
  ]
  for (const c of cases) {
    t.equal(parseRetryAfter(c.value, now), c.expected, `${JSON.stringify(c.value)} -> ${String(c.expected)}`, c.todo != null ? { todo: c.todo } : {})
  }
})

t.test('nextAttemptAt: exponential backoff with equal jitter, capped, Retry-After first, none after the window', async (t) => {
  const policy: RetryPolicy = { baseDelayMs: 100, maxDelayMs: 1000, windowMs: 60_000 }
  const createdAt = new Date('2026-03-02T08:00:00Z')
  const now = createdAt.getTime() + 5000
  // `random` fixed at its extremes and middle: the delay lies in [exponential / 2, exponential].
  const cases: Array<{ name: string, attempt: number, random: number, retryAfterMs?: number, policy?: RetryPolicy, nowMs?: number, delayMs: number | undefined }> = [
    { name: 'first failure, least jitter', attempt: 1, random: 0, delayMs: 50 },
    { name: 'first failure, most jitter', attempt: 1, random: 1, delayMs: 100 },
    { name: 'first failure, half jitter', attempt: 1, random: 0.5, delayMs: 75 },
    { name: 'attempt 0 counts as the first', attempt: 0, random: 1, delayMs: 100 },
    { name: 'doubles per attempt (2)', attempt: 2, random: 1, delayMs: 200 },
    { name: 'doubles per attempt (3)', attempt: 3, random: 1, delayMs: 400 },
    { name: 'doubles per attempt (4)', attempt: 4, random: 0, delayMs: 400 },
    { name: 'capped at maxDelayMs', attempt: 5, random: 1, delayMs: 1000 },
    { name: 'capped, least jitter', attempt: 30, random: 0, delayMs: 500 },
    { name: 'Retry-After replaces the backoff, jitter ignored', attempt: 1, random: 0, retryAfterMs: 3000, delayMs: 3000 },
    { name: 'Retry-After 0: at once', attempt: 3, random: 1, retryAfterMs: 0, delayMs: 0 },
    { name: 'a negative Retry-After counts as 0', attempt: 1, random: 1, retryAfterMs: -500, delayMs: 0 },
    { name: 'Retry-After capped at 4 x maxDelayMs', attempt: 1, random: 1, retryAfterMs: 3_600_000, delayMs: 4000 },
    { name: 'window exhausted: no next attempt', attempt: 1, random: 1, nowMs: createdAt.getTime() + 59_950, delayMs: undefined },
    { name: 'exactly at the window\'s end is still allowed', attempt: 1, random: 1, nowMs: createdAt.getTime() + 59_900, delayMs: 100 },
    { name: 'a Retry-After past the window: no next attempt', attempt: 1, random: 0, retryAfterMs: 3000, nowMs: createdAt.getTime() + 58_000, delayMs: undefined },
    { name: 'the default policy: 1-2 s after the first failure', attempt: 1, random: 1, policy: DEFAULT_RETRY_POLICY, delayMs: 2000 },
    { name: 'the default policy caps at 15 min', attempt: 20, random: 1, policy: DEFAULT_RETRY_POLICY, delayMs: 15 * 60 * 1000 }
  ]
  for (const c of cases) {
    const at = c.nowMs ?? now
    const next = nextAttemptAt(c.policy ?? policy, c.attempt, createdAt, at, c.retryAfterMs, () => c.random)
    t.equal(next == null ? undefined : next.getTime() - at, c.delayMs, c.name)
  }
})

t.test('nextAttemptAt: the jitter spreads the retries of many deliveries over the whole interval', async (t) => {
  const policy: RetryPolicy = { baseDelayMs: 1000, maxDelayMs: 60_000, windowMs: 3_600_000 }
  const createdAt = new Date(0)
  // A deterministic sequence over [0, 1): the delays must follow it, not collapse onto one value.
  const randoms = Array.from({ length: 100 }, (_, i) => i / 100)
  const delays = randoms.map((r) => (nextAttemptAt(policy, 3, createdAt, 0, undefined, () => r) as Date).getTime())
  t.equal(Math.min(...delays), 2000, 'the earliest at half the exponential delay (4 s / 2)')
  t.equal(Math.max(...delays), 3980, 'the latest just under the full delay (2 s + 0.99 x 2 s)')
  t.equal(new Set(delays).size, 100, 'each random value gives its own time')
  t.ok(delays.every((d, i) => i === 0 || d > delays[i - 1]!), 'monotonic in the random value')
})
