import t from 'tap'
import { AdaptiveLimit, type AttemptOutcome } from '../../src/delivery/adaptive-concurrency.js'

// The pure AIMD algorithm: a sequence of outcomes -> the limit after each one.

const ok = (latencyMs = 10): AttemptOutcome => ({ kind: 'success', latencyMs })
const err: AttemptOutcome = { kind: 'error' }
const timeout: AttemptOutcome = { kind: 'timeout' }
const busy = (retryAfterMs?: number): AttemptOutcome => ({ kind: 'overloaded', ...(retryAfterMs != null ? { retryAfterMs } : {}) })
const times = (n: number, o: AttemptOutcome): AttemptOutcome[] => Array.from({ length: n }, () => o)

const cases: Array<{ name: string, initial: number, max: number, outcomes: AttemptOutcome[], limits: number[] | ((limits: number[]) => boolean) }> = [
  { name: 'starts at initial, +1 after `limit` successes (one round trip)', initial: 2, max: 16, outcomes: times(9, ok()), limits: [2, 3, 3, 3, 4, 4, 4, 4, 5] },
  { name: 'grows up to max and never beyond', initial: 2, max: 4, outcomes: times(30, ok()), limits: (l) => Math.max(...l) === 4 && l.at(-1) === 4 },
  { name: 'an error halves (rounded down)', initial: 8, max: 16, outcomes: [err], limits: [4] },
  { name: 'a timeout halves', initial: 9, max: 16, outcomes: [timeout], limits: [4] },
  { name: '429/503 halves', initial: 6, max: 16, outcomes: [busy(2000)], limits: [3] },
  { name: 'never below 1', initial: 1, max: 16, outcomes: [err, timeout], limits: [1, 1] },
  { name: 'dead recipient: 3 failures in a row from 16 -> 1 probe', initial: 16, max: 16, outcomes: [err, err, err, err], limits: [8, 4, 1, 1] },
  { name: 'a success in between resets the failure run', initial: 16, max: 16, outcomes: [err, err, ok(), err], limits: [8, 4, 4, 2] },
  { name: 'recovers additively after a probe succeeds', initial: 4, max: 16, outcomes: [err, err, err, ok(), ok(), ok(), ok()], limits: [2, 1, 1, 2, 2, 3, 3] },
  {
    name: 'rising latency (over 2x the baseline) halves, once per round trip',
    initial: 8,
    max: 16,
    outcomes: [ok(30), ...times(6, ok(200))],
    // 200 ms against a 30 ms baseline: halve to 4, then 4 completions of cooldown, then halve again.
    limits: [8, 4, 4, 4, 4, 2, 2]
  },
  { name: 'slow successes do not count towards growth', initial: 2, max: 16, outcomes: [ok(30), ok(30), ok(300), ok(300)], limits: [2, 3, 1, 1] },
  { name: 'latency changes under 20 ms are noise', initial: 2, max: 16, outcomes: [ok(2), ok(2), ok(15), ok(15), ok(15)], limits: [2, 3, 3, 3, 4] },
  { name: 'successes without a latency still grow', initial: 2, max: 16, outcomes: times(2, { kind: 'success' }), limits: [2, 3] }
]

for (const c of cases) {
  t.test(c.name, async (t) => {
    const limit = new AdaptiveLimit({ initial: c.initial, max: c.max })
    const seen = c.outcomes.map((o, i) => limit.record(o, i))
    if (typeof c.limits === 'function') t.ok(c.limits(seen), `limits ${seen.join(' ')}`)
    else t.same(seen, c.limits)
    t.ok(seen.every((l) => l >= 1 && l <= c.max), 'always within [1, max]')
  })
}

t.test('429/503 pauses the recipient for its Retry-After (default 1 s, capped at 60 s)', async (t) => {
  const limit = new AdaptiveLimit({ initial: 4, max: 16 })
  limit.record(busy(5000), 1000)
  t.equal(limit.limit(1000), 0, 'nothing in flight during the pause')
  t.equal(limit.limit(5999), 0)
  t.equal(limit.limit(6000), 2, 'then the halved limit')
  limit.record(busy(), 10_000)
  t.equal(limit.limit(10_999), 0, 'no Retry-After: 1 s')
  t.equal(limit.limit(11_000), 1)
  limit.record(busy(3_600_000), 20_000)
  t.equal(limit.limit(80_000), 1, 'a Retry-After of an hour is honoured for at most 60 s')
})

t.test('initial is clamped to max', async (t) => {
  t.equal(new AdaptiveLimit({ initial: 32, max: 16 }).value, 16)
  t.equal(new AdaptiveLimit({ initial: 0, max: 16 }).value, 1)
})
