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
