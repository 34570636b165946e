import t from 'tap'
import { RecipientSlots } from '../../src/delivery/recipient-slots.js'

// Pure logic of the per-recipient share of worker slots (delivery-worker.ts uses it).

t.test('at most perRecipient at once; others postponed or waiting', async (t) => {
  const slots = new RecipientSlots(2, 1, 200)
  t.equal(await slots.acquire('A'), true)
  t.equal(await slots.acquire('A'), true)
  t.equal(await slots.acquire('B'), true, 'another recipient is not affected')
  const waiting = slots.acquire('A')
  t.equal(await slots.acquire('A'), false, 'beyond maxWaiters: postponed at once')
  slots.release('A', true)
  t.equal(await waiting, true, 'the waiter got the released slot')
  t.equal(slots.inFlight('A'), 2, 'handed over, not freed')
})

t.test('a waiter gives up after maxWaitMs', async (t) => {
  const slots = new RecipientSlots(1, 4, 50)
  t.equal(await slots.acquire('A'), true)
  t.equal(await slots.acquire('A'), false)
  slots.release('A', true)
  t.equal(slots.inFlight('A'), 0, 'the timed-out waiter did not take the slot')
  t.equal(await slots.acquire('A'), true)
})

t.test('a failing recipient gets no waiters, and its waiters are sent back', async (t) => {
  const slots = new RecipientSlots(1, 4, 5000)
  t.equal(await slots.acquire('A'), true)
  const w1 = slots.acquire('A')
  const w2 = slots.acquire('A')
  slots.release('A', false)
  t.same(await Promise.all([w1, w2]), [false, false], 'waiters released without a slot when the attempt failed')
  t.equal(slots.inFlight('A'), 0)
  t.equal(await slots.acquire('A'), true)
  t.equal(await slots.acquire('A'), false, 'while failing: postponed at once, no waiting')
  slots.release('A', true)
  t.equal(await slots.acquire('A'), true, 'healthy again')
  const w3 = slots.acquire('A')
  slots.release('A', true)
  t.equal(await w3, true, 'and waiting works again')
})

t.test('adaptive: a healthy recipient gets more, up to maxPerRecipient', async (t) => {
  const slots = new RecipientSlots(2, 0, 50, { maxPerRecipient: 5 })
  t.equal(slots.limit('A'), 2, 'starts at perRecipient')
  let peak = 0
  for (let round = 0; round < 12; round++) {
    let held = 0
    while (await slots.acquire('A')) held++
    peak = Math.max(peak, slots.inFlight('A'))
    for (; held > 0; held--) slots.release('A', true)
  }
  t.equal(peak, 5, 'grew to the ceiling')
  t.equal(slots.limit('A'), 5, 'and never beyond it')
  t.equal(slots.limit('B'), 2, 'per recipient')
})

t.test('adaptive: a grown limit hands slots to several waiters at once', async (t) => {
  const slots = new RecipientSlots(1, 4, 1000, { maxPerRecipient: 4 })
  t.equal(await slots.acquire('A'), true)
  const w1 = slots.acquire('A')
  slots.release('A', true) // 1 success at limit 1: limit 2, w1 gets a slot
  t.equal(await w1, true)
  t.equal(await slots.acquire('A'), true, 'room for a second one now')
  t.equal(slots.inFlight('A'), 2)
})

t.test('adaptive: a dead recipient ends with one probe in flight', async (t) => {
  const slots = new RecipientSlots(2, 4, 50, { maxPerRecipient: 16 })
  for (let i = 0; i < 40; i++) {
    let held = 0
    while (await slots.acquire('A')) held++
    for (; held > 0; held--) slots.release('A', true)
  }
  t.ok(slots.limit('A') >= 8, `grown first (${slots.limit('A')})`)
  for (let i = 0; i < 4; i++) {
    t.equal(await slots.acquire('A'), true)
    slots.release('A', false)
  }
  t.equal(slots.limit('A'), 1)
  t.equal(await slots.acquire('A'), true, 'the probe')
  t.equal(await slots.acquire('A'), false, 'nothing more while it is out')
  slots.release('A', false)
})

t.test('adaptive: 429/503 halves and pauses for Retry-After', async (t) => {
  let clock = 0
  const slots = new RecipientSlots(4, 4, 50, { now: () => clock })
  t.equal(await slots.acquire('A'), true)
  slots.release('A', true, { status: 503, retryAfterMs: 2000 })
  t.equal(await slots.acquire('A'), false, 'paused: postponed')
  clock = 2000
  t.equal(slots.limit('A'), 2)
  t.equal(await slots.acquire('A'), true)
  slots.release('A', true, { timedOut: true })
  t.equal(slots.limit('A'), 1, 'a timeout halves too')
})

t.test('adaptive: rising latency (measured from acquire to release) backs off', async (t) => {
  let clock = 0
  const slots = new RecipientSlots(8, 0, 50, { now: () => clock })
  t.equal(await slots.acquire('A'), true)
  clock += 30
  slots.release('A', true)
  t.equal(await slots.acquire('A'), true)
  clock += 500
  slots.release('A', true)
  t.equal(slots.limit('A'), 4, '500 ms against a 30 ms baseline')
})

t.test('an attempt that sent nothing frees its slot and leaves the limit and health alone', async (t) => {
  let now = 0
  const slots = new RecipientSlots(4, 4, 5000, { maxPerRecipient: 16, now: () => now })
  // Healthy, limit grown to 5 by four fast successes.
  for (let i = 0; i < 4; i++) { t.equal(await slots.acquire('A'), true); now += 10; slots.release('A', true) }
  t.equal(slots.limit('A'), 5)
  // Many attempts with no outcome (early jobs, final rows, refused endpoints, database errors).
  for (let i = 0; i < 10; i++) { t.equal(await slots.acquire('A'), true); slots.releaseWithoutOutcome('A') }
  t.equal(slots.limit('A'), 5, 'neither grown nor shrunk')
  t.equal(slots.inFlight('A'), 0, 'every slot freed')
  // Still healthy: a busy recipient keeps accepting waiters, who get handed the freed slot.
  for (let i = 0; i < 5; i++) t.equal(await slots.acquire('A'), true)
  const waiter = slots.acquire('A')
  slots.releaseWithoutOutcome('A')
  t.equal(await waiter, true, 'the waiter got the slot freed without an outcome')
  t.equal(slots.inFlight('A'), 5)
})

t.test('feedback by answer: a permanent 4xx is an answer (success), 503 pauses, a timeout halves', async (t) => {
  const now = 0
  const cases: Array<{ name: string, ok: boolean, detail: Parameters<RecipientSlots['release']>[2], limit: number }> = [
    { name: '400 refused: the recipient works', ok: true, detail: { status: 400, latencyMs: 5 }, limit: 4 },
    { name: '503 with Retry-After: halved and paused', ok: false, detail: { status: 503, retryAfterMs: 2000, latencyMs: 5 }, limit: 0 },
    { name: 'timed out: halved', ok: false, detail: { timedOut: true, latencyMs: 10_000 }, limit: 2 }
  ]
  for (const c of cases) {
    const slots = new RecipientSlots(4, 4, 100, { maxPerRecipient: 16, now: () => now })
    t.equal(await slots.acquire('A'), true)
    slots.release('A', c.ok, c.detail)
    t.equal(slots.limit('A'), c.limit, c.name)
  }
})
