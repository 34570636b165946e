import t from 'tap'
import { randomUUID } from 'node:crypto'
import { claimPushDelivery, recordPushDelivered, recordRetryScheduled } from '../../src/store/deliveries.js'
import { loadRaw } from '../../src/store/documents.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'
import { testHub, type TestHub } from '../helpers/hub.js'

// The claim and the records of a push attempt are single statements (issue 15); these cases pin
// down that they claim and record exactly what the locked read-then-update did, and nothing when
// the row is not theirs.

const G22 = '000.00.00.G22'
const H29 = '000.00.00.H29'
const H41 = '000.00.00.H41'
let n = 0

// No queue: no job, no worker; the rows are driven by hand.
const hub: TestHub = await testHub(t, { redisUrl: null })

/** A fresh push delivery to H29 (queued), and its document id. */
async function pushDelivery (): Promise<{ id: string, documentId: string }> {
  const res = await hub.app.inject({ method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/xml', authorization: `Bearer ${hub.keys[G22]!}` }, payload: documentFromTo(G22, H29, 9100 + ++n) })
  if (res.statusCode !== 202) throw new Error(`refused: ${res.body}`)
  const documentId = res.json<{ id: string }>().id
  const { rows } = await hub.db.query<{ id: string }>('SELECT id FROM deliveries WHERE document_id = $1 AND recipient_code = $2', [documentId, H29])
  return { id: rows[0]!.id, documentId }
}

const row = async (id: string): Promise<{ state: string, attempts: number, claim_token: string | null }> =>
  (await hub.db.query<{ state: string, attempts: number, claim_token: string | null }>('SELECT state, attempts, claim_token FROM deliveries WHERE id = $1', [id])).rows[0]!

const cases: Array<{ name: string, set: string, expect: object, claimed: boolean }> = [
  { name: 'queued: claimed', set: '', expect: { claimed: true }, claimed: true },
  { name: 'sending (a worker died mid-POST): claimed again', set: 'state = \'sending\'', expect: { claimed: true }, claimed: true },
  { name: 'waiting_retry, due: claimed', set: 'state = \'waiting_retry\', next_attempt_at = now() - interval \'1 second\'', expect: { claimed: true }, claimed: true },
  { name: 'waiting_retry, due within the early margin: claimed', set: 'state = \'waiting_retry\', next_attempt_at = now() + interval \'500 milliseconds\'', expect: { claimed: true }, claimed: true },
  { name: 'waiting_retry, due later: not claimed, its time stands', set: 'state = \'waiting_retry\', next_attempt_at = now() + interval \'1 hour\'', expect: { claimed: false, state: 'waiting_retry' }, claimed: false },
  { name: 'delivered: not claimed', set: 'state = \'delivered\'', expect: { claimed: false, state: 'delivered' }, claimed: false },
  { name: 'cancelled: not claimed', set: 'state = \'cancelled\'', expect: { claimed: false, state: 'cancelled' }, claimed: false },
  { name: 'a pull row in a push state: not claimed (gone)', set: 'mode = \'pull\'', expect: { claimed: false, state: 'gone' }, claimed: false }
]

for (const c of cases) {
  t.test(c.name, async (t) => {
    const { id, documentId } = await pushDelivery()
    if (c.set !== '') await hub.db.query(`UPDATE deliveries SET ${c.set} WHERE id = $1`, [id])
    const before = await row(id)
    const claim = await claimPushDelivery(hub.db, id, Date.now())
    t.match(claim, c.expect)
    const after = await row(id)
    if (c.claimed && claim.claimed) {
      t.same([after.state, after.attempts, after.claim_token], ['sending', before.attempts + 1, claim.token], 'sending, one more attempt, this claim\'s token')
      t.same([claim.row.state, claim.row.attempts, claim.row.recipient_code, claim.row.sender_code], ['sending', before.attempts + 1, H29, G22], 'the joined row as claimed')
      t.ok(claim.raw?.equals(await loadRaw(hub.db, documentId)), 'the document\'s bytes came with the claim')
    } else {
      t.same(after, before, 'the row is untouched')
    }
  })
}

t.test('a gone delivery: not claimed', async (t) => {
  t.match(await claimPushDelivery(hub.db, '00000000-0000-4000-8000-000000000000', Date.now()), { claimed: false, state: 'gone' })
})

t.test('a push to an agency without a push URL: claimed, without bytes (nothing will be sent)', async (t) => {
  const { id } = await pushDelivery()
  await hub.db.query('UPDATE deliveries SET recipient_code = $2 WHERE id = $1', [id, H41])
  const claim = await claimPushDelivery(hub.db, id, Date.now())
  t.match(claim, { claimed: true, row: { push_url: null } })
  t.equal(claim.claimed && claim.raw, undefined)
})

const record = { status: 200, answer: 'HTTP 200' }
const receipt = (): { id: string, xml: string } => ({ id: randomUUID(), xml: '<Receipt/>' })
const trail = { actor: 'test', detail: 'attempt 1: HTTP 200' }

t.test('recorded delivered in one statement: row, receipt, callback (push sender), trail entry', async (t) => {
  const { id, documentId } = await pushDelivery()
  const claim = await claimPushDelivery(hub.db, id, Date.now())
  if (!claim.claimed) throw new Error('not claimed')
  const r = receipt()
  const seconds = await recordPushDelivered(hub.db, claim.row, claim.token, record, r, trail)
  t.type(seconds, 'number')
  t.equal((await row(id)).state, 'delivered')
  const { rows: receipts } = await hub.db.query('SELECT id, delivery_id, kind FROM receipts WHERE document_id = $1 AND kind = \'delivery\'', [documentId])
  t.same(receipts, [{ id: r.id, delivery_id: id, kind: 'delivery' }])
  const { rows: callbacks } = await hub.db.query('SELECT receipt_id, agency_code, state FROM receipt_callbacks WHERE receipt_id = $1', [r.id])
  t.same(callbacks, [{ receipt_id: r.id, agency_code: G22, state: 'queued' }], 'G22 receives by push: its callback')
  const { rows: events } = await hub.db.query('SELECT event, actor, detail FROM delivery_events WHERE delivery_id = $1 AND event = \'delivered\'', [id])
  t.same(events, [{ event: 'delivered', actor: 'test', detail: trail.detail }])
})

t.test('a sender that receives by pull: no callback row', async (t) => {
  const { id } = await pushDelivery()
  const claim = await claimPushDelivery(hub.db, id, Date.now())
  if (!claim.claimed) throw new Error('not claimed')
  const r = receipt()
  t.type(await recordPushDelivered(hub.db, { ...claim.row, sender_code: H41 }, claim.token, record, r, trail), 'number')
  const { rows } = await hub.db.query('SELECT 1 FROM receipt_callbacks WHERE receipt_id = $1', [r.id])
  t.equal(rows.length, 0)
})

const notMine = [
  { name: 'another claim\'s token', set: 'claim_token = gen_random_uuid()' },
  { name: 'cancelled by an operator meanwhile (token unchanged)', set: 'state = \'cancelled\'' },
  { name: 'resent meanwhile: queued again (token unchanged)', set: 'state = \'queued\'' }
]

for (const c of notMine) {
  t.test(`${c.name}: nothing recorded, delivered or retry`, async (t) => {
    const { id, documentId } = await pushDelivery()
    const claim = await claimPushDelivery(hub.db, id, Date.now())
    if (!claim.claimed) throw new Error('not claimed')
    await hub.db.query(`UPDATE deliveries SET ${c.set} WHERE id = $1`, [id])
    const before = await row(id)
    t.equal(await recordPushDelivered(hub.db, claim.row, claim.token, record, receipt(), trail), undefined, 'delivered: not recorded')
    t.equal(await recordRetryScheduled(hub.db, id, claim.token, { status: 503, answer: 'HTTP 503' }, new Date(Date.now() + 60_000), 'HTTP 503', trail), false, 'retry: not recorded')
    t.same(await row(id), before, 'the row is untouched')
    const { rows: receipts } = await hub.db.query('SELECT 1 FROM receipts WHERE document_id = $1 AND kind = \'delivery\'', [documentId])
    t.equal(receipts.length, 0, 'no receipt')
    const { rows: events } = await hub.db.query('SELECT 1 FROM delivery_events WHERE delivery_id = $1 AND event IN (\'delivered\', \'retry-scheduled\')', [id])
    t.equal(events.length, 0, 'no trail entry')
  })
}

t.test('recorded retry in one statement: waiting_retry at its time, trail entry', async (t) => {
  const { id } = await pushDelivery()
  const claim = await claimPushDelivery(hub.db, id, Date.now())
  if (!claim.claimed) throw new Error('not claimed')
  const at = new Date(Date.now() + 60_000)
  t.equal(await recordRetryScheduled(hub.db, id, claim.token, { status: 503, answer: 'HTTP 503' }, at, 'HTTP 503', { actor: 'test', detail: 'next' }), true)
  const { rows } = await hub.db.query<{ state: string, next_attempt_at: Date, last_error: string }>('SELECT state, next_attempt_at, last_error FROM deliveries WHERE id = $1', [id])
  t.same([rows[0]?.state, rows[0]?.next_attempt_at.getTime(), rows[0]?.last_error], ['waiting_retry', at.getTime(), 'HTTP 503'])
  const { rows: events } = await hub.db.query('SELECT event, detail FROM delivery_events WHERE delivery_id = $1 AND event = \'retry-scheduled\'', [id])
  t.same(events, [{ event: 'retry-scheduled', detail: 'next' }])
})
