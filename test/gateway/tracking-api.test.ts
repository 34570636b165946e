import t from 'tap'
import { createHash, randomUUID } from 'node:crypto'
import type { Queryable } from '../../src/db/database.js'
import { listTracked, type TrackedPage } from '../../src/store/tracking.js'
import { testHub, type TestHub } from '../helpers/hub.js'
import { testUser } from '../helpers/accounts.js'

t.setTimeout(600_000)

const H41 = '000.00.00.H41'
const G22 = '000.00.00.G22'
const G12 = '000.00.00.G12'

interface Doc { id: string, sender: string, number: string, notation: string, subject: string, acceptedAt: Date, deliveries: Array<{ id: string, recipient: string, state: string, createdAt: Date }>, statuses: Array<{ from: string, code: string }> }
interface Page { documents: Array<{ id: string, recipients: Array<{ recipient: string, state: string, latestStatus: { code: string } | null }> }>, next: string | null }

let serial = 0
/** A document row with its deliveries, trail, receipts and status events, written as the hub would. */
async function insertDoc (db: Queryable, spec: { sender: string, to: Array<[string, string]>, at: Date, subject?: string, statuses?: Array<[string, string]> }): Promise<Doc> {
  const n = ++serial
  const id = randomUUID()
  const doc: Doc = { id, sender: spec.sender, number: String(100 + n), notation: `${n}/UBND-VP`, subject: spec.subject ?? `Công văn số ${n} về việc báo cáo`, acceptedAt: spec.at, deliveries: [], statuses: [] }
  const envelope = { kind: 'document', from: { organId: spec.sender }, to: spec.to.map(([c]) => ({ organId: c })), code: { number: doc.number, notation: doc.notation }, subject: doc.subject, documentId: `${spec.sender},2026/03/01,${n}` }
  await db.query(
    `INSERT INTO documents (id, kind, sender_code, edxml_document_id, digest_sha256, size_bytes, raw, envelope, signer, algorithms, accepted_at)
     VALUES ($1, 'document', $2, $3, $4, 10, '\\x00', $5, '{}', '{}', $6)`,
    [id, spec.sender, envelope.documentId, createHash('sha256').update(id).digest('hex'), JSON.stringify(envelope), spec.at])
  await db.query('INSERT INTO receipts (id, document_id, kind, xml, created_at) VALUES ($1, $2, \'acceptance\', $3, $4)', [randomUUID(), id, `<Receipt kind="acceptance" doc="${id}"/>`, spec.at])
  for (const [recipient, state] of spec.to) {
    const deliveryId = randomUUID()
    await db.query(`INSERT INTO deliveries (id, document_id, recipient_code, mode, state, attempts, last_error, created_at, updated_at)
      VALUES ($1, $2, $3, 'push', $4, $5, $6, $7, $7)`, [deliveryId, id, recipient, state, state === 'failed' ? 3 : 1, state === 'failed' ? 'HTTP 503 unavailable' : null, spec.at])
    if (state === 'failed' || state === 'delivered') {
      await db.query('INSERT INTO delivery_events (delivery_id, event, actor, detail, at) VALUES ($1, \'retry-scheduled\', \'worker\', \'attempt 1: HTTP 503 unavailable; next at later\', $2)', [deliveryId, new Date(spec.at.getTime() + 1000)])
      await db.query('INSERT INTO delivery_events (delivery_id, event, actor, detail, at) VALUES ($1, $2, \'worker\', $3, $4)', [deliveryId, state, state === 'failed' ? 'attempt 3: HTTP 503 unavailable' : 'attempt 2: HTTP 200', new Date(spec.at.getTime() + 2000)])
      await db.query('INSERT INTO receipts (id, document_id, delivery_id, kind, xml, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
        [randomUUID(), id, deliveryId, state === 'failed' ? 'failure' : 'delivery', `<Receipt kind="${state}" to="${recipient}"/>`, new Date(spec.at.getTime() + 2000)])
    }
    doc.deliveries.push({ id: deliveryId, recipient, state, createdAt: spec.at })
  }
  for (const [k, [from, code]] of (spec.statuses ?? []).entries()) {
    const statusDoc = randomUUID()
    const statusAt = new Date(spec.at.getTime() + 3000 + k * 1000)
    await db.query(`INSERT INTO documents (id, kind, sender_code, digest_sha256, size_bytes, envelope, signer, algorithms, accepted_at, status_code, response_for_document_id)
      VALUES ($1, 'status', $2, $3, 5, '{}', '{}', '{}', $4, $5, $6)`, [statusDoc, from, createHash('sha256').update(statusDoc).digest('hex'), statusAt, code, id])
    await db.query('INSERT INTO status_events (id, document_id, status_document_id, from_code, status_code, description, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [randomUUID(), id, statusDoc, from, code, `trạng thái ${code}`, statusAt])
    doc.statuses.push({ from, code })
  }
  return doc
}

async function seed (db: Queryable): Promise<Doc[]> {
  const base = Date.UTC(2026, 2, 1)
  const docs: Doc[] = []
  for (let i = 0; i < 24; i++) {
    const at = new Date(base + i * 3_600_000)
    const kind = i % 4
    if (kind === 0) docs.push(await insertDoc(db, { sender: H41, to: [[G22, 'delivered'], [G12, i % 8 === 0 ? 'failed' : 'delivered']], at, statuses: [[G22, '03']] }))
    else if (kind === 1) docs.push(await insertDoc(db, { sender: G22, to: [[H41, 'delivered'], [G12, 'queued']], at, ...(i % 3 === 0 ? { subject: 'Giấy mời họp khẩn' } : {}) }))
    else if (kind === 2) docs.push(await insertDoc(db, { sender: G12, to: [[G22, 'failed']], at, statuses: [] }))
    else docs.push(await insertDoc(db, { sender: H41, to: [[G22, 'waiting_retry']], at, statuses: [[G22, '03'], [G22, '05']] }))
  }
  return docs
}

type Role = 'clerkH41' | 'clerkG22' | 'auditor' | 'admin'
async function setup (t: Parameters<typeof testHub>[0]): Promise<{ hub: TestHub, docs: Doc[], call: (role: Role, url: string, method?: 'GET' | 'POST') => Promise<{ statusCode: number, body: string, headers: Record<string, unknown>, json: <T>() => T }> }> {
  const hub = await testHub(t, { redisUrl: null })
  const tokens: Record<Role, string> = {
    clerkH41: (await testUser(hub.db, 'clerk.h41', 'clerk', H41)).token,
    clerkG22: (await testUser(hub.db, 'clerk.g22', 'clerk', G22)).token,
    auditor: (await testUser(hub.db, 'auditor', 'auditor')).token,
    admin: (await testUser(hub.db, 'admin', 'admin')).token
  }
  const docs = await seed(hub.db)
  const call = async (role: Role, url: string, method: 'GET' | 'POST' = 'GET') => {
    const res = await hub.app.inject({ method, url, headers: { authorization: `Bearer ${tokens[role]}` } })
    return { statusCode: res.statusCode, body: res.body, headers: res.headers, json: <T>() => res.json<T>() }
  }
  return { hub, docs, call }
}

const newestFirst = (docs: Doc[]): string[] => [...docs].sort((a, b) => b.acceptedAt.getTime() - a.acceptedAt.getTime()).map((d) => d.id)

t.test('lists: filters for a clerk (sent, received) and an auditor select exactly the matching documents', async (t) => {
  const { docs, call } = await setup(t)
  const sentBy = (a: string) => (d: Doc) => d.sender === a
  const receivedBy = (a: string) => (d: Doc) => d.deliveries.some((x) => x.recipient === a)
  const cases: Array<{ name: string, role: Role, query: string, match: (d: Doc) => boolean }> = [
    { name: 'clerk: sent', role: 'clerkH41', query: 'direction=sent', match: sentBy(H41) },
    { name: 'clerk: sent, own agency named', role: 'clerkH41', query: `direction=sent&agency=${H41}`, match: sentBy(H41) },
    { name: 'clerk: received', role: 'clerkH41', query: 'direction=received', match: receivedBy(H41) },
    { name: 'clerk: sent to a counterpart', role: 'clerkH41', query: `direction=sent&counterpart=${G12}`, match: (d) => sentBy(H41)(d) && d.deliveries.some((x) => x.recipient === G12) },
    { name: 'clerk: sent with a failed delivery', role: 'clerkH41', query: 'direction=sent&state=failed', match: (d) => sentBy(H41)(d) && d.deliveries.some((x) => x.state === 'failed') },
    { name: 'clerk: counterpart and state on the same delivery', role: 'clerkH41', query: `direction=sent&counterpart=${G22}&state=failed`, match: () => false },
    { name: 'clerk: status 05 received back', role: 'clerkH41', query: 'direction=sent&statusCode=05', match: (d) => sentBy(H41)(d) && d.statuses.some((s) => s.code === '05') },
    { name: 'clerk: date range', role: 'clerkH41', query: 'direction=sent&from=2026-03-01T04:00:00.000Z&to=2026-03-01T12:00:00.000Z', match: (d) => sentBy(H41)(d) && d.acceptedAt.getTime() >= Date.UTC(2026, 2, 1, 4) && d.acceptedAt.getTime() < Date.UTC(2026, 2, 1, 12) },
    { name: 'clerk: number', role: 'clerkH41', query: `direction=sent&number=${docs[4]?.number ?? ''}`, match: (d) => d.id === docs[4]?.id },
    { name: 'clerk: notation part, any case', role: 'clerkH41', query: `direction=sent&notation=${encodeURIComponent(`${docs[8]?.notation.split('/')[0] ?? ''}/ubnd`)}`, match: (d) => sentBy(H41)(d) && d.notation.toLowerCase().startsWith(`${docs[8]?.notation.split('/')[0] ?? ''}/ubnd`) },
    { name: 'clerk: received, subject text', role: 'clerkH41', query: `direction=received&subject=${encodeURIComponent('giấy mời')}`, match: (d) => receivedBy(H41)(d) && d.subject.includes('Giấy mời') },
    { name: 'clerk: received from a sender', role: 'clerkH41', query: `direction=received&counterpart=${G12}`, match: () => false },
    { name: 'clerk G22: received, own delivery failed', role: 'clerkG22', query: 'direction=received&state=failed', match: (d) => d.deliveries.some((x) => x.recipient === G22 && x.state === 'failed') },
    { name: 'auditor: every sent document', role: 'auditor', query: 'direction=sent', match: () => true },
    { name: 'auditor: one agency', role: 'auditor', query: `direction=sent&agency=${G12}`, match: sentBy(G12) },
    { name: 'auditor: received by an agency', role: 'auditor', query: `direction=received&agency=${G12}`, match: receivedBy(G12) }
  ]
  for (const c of cases) {
    const res = await call(c.role, `/api/documents?limit=200&${c.query}`)
    t.equal(res.statusCode, 200, `${c.name}: 200`)
    t.same(res.json<Page>().documents.map((d) => d.id), newestFirst(docs.filter(c.match)), c.name)
  }
  const received = (await call('clerkH41', '/api/documents?direction=received&limit=200')).json<Page>()
  t.ok(received.documents.every((d) => d.recipients.length === 1 && d.recipients[0]?.recipient === H41), 'a recipient clerk sees only its own delivery')
  const sent = (await call('clerkH41', '/api/documents?direction=sent&statusCode=05&limit=1')).json<Page>()
  t.same(sent.documents[0]?.recipients.map((r) => [r.recipient, r.state, r.latestStatus?.code]), [[G22, 'waiting_retry', '05']], 'latest status per recipient')
  for (const q of ['direction=both', 'direction=sent&statusCode=17', 'direction=sent&state=lost', 'direction=sent&after=xyz', 'direction=sent&limit=500', 'direction=sent&colour=red']) {
    const res = await call('clerkH41', `/api/documents?${q}`)
    t.match([res.statusCode, res.json<{ code: string }>().code], [400, 'BAD_REQUEST'], `${q}: 400`)
  }
})

t.test('pages are stable while documents arrive between them', async (t) => {
  const { hub, call } = await setup(t)
  for (const direction of ['sent', 'received'] as const) {
    // What the list holds before the paging starts (the seed, and for `received` the documents
    // the `sent` round added): exactly that must come back, page by page.
    const expected = (await call('clerkH41', `/api/documents?direction=${direction}&limit=200`)).json<Page>().documents.map((d) => d.id)
    t.ok(expected.length > 8, `${direction}: several pages`)
    const seen: string[] = []
    let url = `/api/documents?direction=${direction}&limit=4`
    for (let i = 0; i < 20; i++) {
      const page = (await call('clerkH41', url)).json<Page>()
      seen.push(...page.documents.map((d) => d.id))
      // New documents (newer than every page) both ways, and one back-dated into the middle... of
      // another agency's list: none may shift the clerk's pages.
      await insertDoc(hub.db, { sender: H41, to: [[G22, 'queued']], at: new Date(Date.UTC(2026, 3, 1) + i * 1000) })
      await insertDoc(hub.db, { sender: G22, to: [[H41, 'queued']], at: new Date(Date.UTC(2026, 3, 1) + i * 1000) })
      if (page.next == null) break
      url = `/api/documents?direction=${direction}&limit=4&after=${page.next}`
    }
    t.same(seen, expected, `${direction}: every document once, in order, none of the new ones`)
  }
})

t.test('timeline per recipient: accepted, queued, attempts with errors, delivered or failed, receipts, status messages', async (t) => {
  const { docs, call } = await setup(t)
  const doc = docs[0] as Doc // H41 -> G22 delivered (status 03), G12 failed
  type Timeline = { recipients: Array<{ recipient: string, state: string, events: Array<{ kind: string, detail: string | null, statusCode?: string, receiptId?: string }> }>, acceptanceReceiptId: string }
  const tl = (await call('clerkH41', `/api/documents/${doc.id}/timeline`)).json<Timeline>()
  t.same(tl.recipients.map((r) => [r.recipient, r.state]), [[G12, 'failed'], [G22, 'delivered']])
  const kinds = (r: string): string[] => tl.recipients.find((x) => x.recipient === r)?.events.map((e) => e.kind) ?? []
  t.same(kinds(G22), ['accepted', 'queued', 'retry-scheduled', 'delivered', 'delivery-receipt', 'status'])
  t.same(kinds(G12), ['accepted', 'queued', 'retry-scheduled', 'failed', 'failure-receipt'])
  const g12 = tl.recipients.find((x) => x.recipient === G12)
  t.match(g12?.events.find((e) => e.kind === 'retry-scheduled')?.detail, /HTTP 503/, 'the attempt\'s error')
  t.equal(tl.recipients.find((x) => x.recipient === G22)?.events.find((e) => e.kind === 'status')?.statusCode, '03')

  const receiptId = g12?.events.find((e) => e.kind === 'failure-receipt')?.receiptId as string
  const xml = await call('clerkH41', `/api/receipts/${receiptId}`)
  t.same([xml.statusCode, xml.body], [200, `<Receipt kind="failed" to="${G12}"/>`], 'the signed XML, as stored')
  t.match(xml.headers['content-type'], /^application\/xml/)
  t.equal((await call('clerkH41', `/api/receipts/${tl.acceptanceReceiptId}`)).statusCode, 200, 'the acceptance receipt')

  // G22 received it: its own delivery only; another recipient's receipt is 404.
  const asG22 = (await call('clerkG22', `/api/documents/${doc.id}/timeline`)).json<Timeline>()
  t.same(asG22.recipients.map((r) => r.recipient), [G22])
  t.equal((await call('clerkG22', `/api/receipts/${receiptId}`)).statusCode, 404, 'not another recipient\'s receipt')
  t.equal((await call('clerkG22', `/api/receipts/${tl.acceptanceReceiptId}`)).statusCode, 200, 'a recipient gets the acceptance receipt')
  t.equal((await call('auditor', `/api/receipts/${receiptId}`)).statusCode, 200)
})

t.test('resend: the sending clerk and admins; auditors 403; other agencies 404; only failed or cancelled', async (t) => {
  const { hub, docs, call } = await setup(t)
  const failed = (docs[0] as Doc).deliveries.find((x) => x.state === 'failed')?.id as string
  const delivered = (docs[0] as Doc).deliveries.find((x) => x.state === 'delivered')?.id as string
  const otherFailed = (docs[2] as Doc).deliveries[0]?.id as string // G12 -> G22 failed
  const cases: Array<{ name: string, role: Role, id: string, status: number, code?: string }> = [
    { name: 'auditor refused', role: 'auditor', id: failed, status: 403, code: 'FORBIDDEN' },
    { name: 'recipient clerk cannot resend', role: 'clerkG22', id: failed, status: 404, code: 'NOT_FOUND' },
    { name: 'clerk of an agency not party to it', role: 'clerkH41', id: otherFailed, status: 404, code: 'NOT_FOUND' },
    { name: 'unknown delivery', role: 'clerkH41', id: randomUUID(), status: 404, code: 'NOT_FOUND' },
    { name: 'a delivered delivery', role: 'clerkH41', id: delivered, status: 409, code: 'CONFLICT' },
    { name: 'sending clerk resends a failed one', role: 'clerkH41', id: failed, status: 200 },
    { name: 'admin resends another agency\'s failed one', role: 'admin', id: otherFailed, status: 200 }
  ]
  for (const c of cases) {
    const res = await call(c.role, `/api/deliveries/${c.id}/resend`, 'POST')
    t.equal(res.statusCode, c.status, c.name)
    if (c.code != null) t.equal(res.json<{ code: string }>().code, c.code, `${c.name}: ${c.code}`)
  }
  const { rows } = await hub.db.query<{ state: string }>('SELECT state FROM deliveries WHERE id = $1', [failed])
  t.equal(rows[0]?.state, 'queued', 'queued again (the outbox reconciler enqueues it: no Redis here)')
  const audit = await hub.db.query<{ actor: string, action: string, target: string }>('SELECT actor, action, target FROM admin_audit WHERE action = \'delivery.resend\' ORDER BY id')
  t.same(audit.rows, [{ actor: 'clerk.h41', action: 'delivery.resend', target: `delivery:${failed}` }, { actor: 'admin', action: 'delivery.resend', target: `delivery:${otherFailed}` }], 'each resend in the audit trail')
  const trail = await hub.db.query<{ event: string, actor: string }>('SELECT event, actor FROM delivery_events WHERE delivery_id = $1 ORDER BY id DESC LIMIT 1', [failed])
  t.same(trail.rows[0], { event: 'resent', actor: 'user:clerk.h41' })
})

t.test('a clerk of H41 never sees a document H41 is not party to, by any route', async (t) => {
  const { docs, call } = await setup(t)
  const foreign = docs.filter((d) => d.sender !== H41 && !d.deliveries.some((x) => x.recipient === H41))
  t.ok(foreign.length > 0)
  for (const direction of ['sent', 'received']) {
    const ids = (await call('clerkH41', `/api/documents?direction=${direction}&limit=200`)).json<Page>().documents.map((d) => d.id)
    t.ok(foreign.every((d) => !ids.includes(d.id)), `${direction}: none in the list`)
    const other = await call('clerkH41', `/api/documents?direction=${direction}&agency=${G12}`)
    t.match([other.statusCode, other.json<{ code: string }>().code], [403, 'FORBIDDEN'], `${direction}: naming another agency is 403`)
  }
  for (const d of foreign) {
    t.equal((await call('clerkH41', `/api/documents/${d.id}/timeline`)).statusCode, 404, 'timeline: 404, like an unknown id')
    const tl = (await call('auditor', `/api/documents/${d.id}/timeline`)).json<{ acceptanceReceiptId: string, recipients: Array<{ deliveryId: string, events: Array<{ receiptId?: string }> }> }>()
    t.equal((await call('clerkH41', `/api/receipts/${tl.acceptanceReceiptId}`)).statusCode, 404, 'acceptance receipt: 404')
    for (const r of tl.recipients) {
      for (const e of r.events) if (e.receiptId != null) t.equal((await call('clerkH41', `/api/receipts/${e.receiptId}`)).statusCode, 404, 'delivery receipt: 404')
      t.equal((await call('clerkH41', `/api/deliveries/${r.deliveryId}/resend`, 'POST')).statusCode, 404, 'resend: 404')
    }
  }
  t.equal((await call('clerkH41', `/api/documents/${randomUUID()}/timeline`)).statusCode, 404, 'an unknown id: the same 404')
})

t.test('the store pages back as it pages forward (the console\'s "previous" link); substring filters are literal', async (t) => {
  const { hub } = await setup(t)
  for (const direction of ['sent', 'received'] as const) {
    const filter = { direction, agency: H41 }
    const forward: string[][] = []
    let page = await listTracked(hub.db, filter, { limit: 2 }) as TrackedPage
    t.equal(page.previous, null, `${direction}: the first page has no previous`)
    for (;;) {
      forward.push(page.documents.map((d) => d.id))
      if (page.next == null) break
      page = await listTracked(hub.db, filter, { limit: 2, after: page.next }) as TrackedPage
    }
    t.ok(forward.length > 1, `${direction}: several pages`)
    const backward: string[][] = [page.documents.map((d) => d.id)]
    while (page.previous != null) {
      page = await listTracked(hub.db, filter, { limit: 2, before: page.previous }) as TrackedPage
      backward.unshift(page.documents.map((d) => d.id))
    }
    t.same(backward, forward, `${direction}: the same pages, back to the first`)
    t.equal(await listTracked(hub.db, filter, { limit: 3, before: 'not-a-cursor' }), 'bad-cursor')
  }
  const literal = [['%', 0], ['_', 0], ['\\', 0], ['VỀ VIỆC', 1]] as const
  for (const [text, atLeast] of literal) {
    const found = await listTracked(hub.db, { direction: 'sent', agency: null, subject: text }, { limit: 200 }) as TrackedPage
    t.ok(atLeast === 0 ? found.documents.length === 0 : found.documents.length >= atLeast, `subject ${JSON.stringify(text)}: ${atLeast === 0 ? 'a pattern character matches itself only (no subject has it)' : 'found'}`)
  }
})
