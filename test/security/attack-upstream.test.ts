import { createHmac } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { acceptFromUpstream } from '../../src/upstream/accept-from-upstream.js'
import { pollUpstream, type PollDependencies, type PollReport } from '../../src/upstream/poll-upstream.js'
import { UpstreamCallError } from '../../src/upstream/upstream-errors.js'
import { VdxpUpstreamClient } from '../../src/upstream/vdxp-client.js'
import { testHub, type TestHub } from '../helpers/hub.js'
import { documentFromTo, signedDocument } from '../helpers/ops-fixtures.js'
import { testDatabase } from '../helpers/database.js'
import { StoredRoutes } from '../../src/routing/stored-routes.js'
import { upsertPeer, upsertRule, upsertUpstream } from '../../src/store/routes.js'
import { answeredDocumentOf, status03 } from '../../src/demo/demo-documents.js'
import { signAsDemoAgency } from '../../src/demo/demo-agencies.js'

// Attacks by a malicious upstream VDXP axis on the poller (issue 13, outsider review). The axis is
// a real HTTP server speaking the protocol (it checks our HMAC like a real axis), scripted per
// DocId: the same id listed twice, listing metadata that lies, a document for an agency that is not
// ours, ids whose getEdoc hangs or fails (poison), a huge list. Hub 1 is a real gateway's database
// and accept path; H29 is not one of its agencies.

const SECRET = 'axis-secret-for-hub-1'
const SENDER = '000.00.00.G22'
const OURS = '000.00.00.H41'
const NOT_OURS = '000.00.00.H29'

type Behaviour = Buffer | 'hang' | 'http500'

class MaliciousAxis {
  lists: { edoc: Array<Record<string, unknown> | string>, status: Array<Record<string, unknown>> } = { edoc: [], status: [] }
  readonly documents = new Map<string, Behaviour>()
  readonly calls: string[] = []
  readonly acks: Array<{ docId: string, status: string, reason: string | undefined }> = []
  /** Items acknowledged are no longer listed (as a real axis does). */
  dropAcknowledged = true
  private readonly hanging: ServerResponse[] = []

  handle (req: IncomingMessage, res: ServerResponse): void {
    const op = (req.url ?? '').split('/').pop() ?? ''
    req.resume()
    req.on('end', () => {
      const h = (name: string): string | undefined => { const v = req.headers[`xroadvnpt-${name}`.toLowerCase()]; return typeof v === 'string' ? Buffer.from(v, 'latin1').toString('utf8') : undefined }
      const answer = (body: Record<string, unknown>, status = 200): void => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)) }
      // A real axis checks the HMAC over the signed headers: our client must sign right.
      const expected = createHmac('sha256', Buffer.from(SECRET, 'utf8')).update(Buffer.from(h('sign-header') ?? '', 'utf8')).digest('hex')
      if (req.headers['xroadvnpt-hash-header'] !== expected) { answer({ status: 'FAIL', ErrorCode: '101', ErrorDesc: 'bad hmac' }, 401); return }
      const docId = h('docId') ?? ''
      this.calls.push(op === 'getReceivedEdocList' ? `list:${h('messagetype') ?? ''}` : `${op}:${docId}`)
      if (op === 'getReceivedEdocList') {
        answer({ status: 'OK', ErrorCode: '0', data: h('messagetype') === 'status' ? this.lists.status : this.lists.edoc })
      } else if (op === 'getEdoc') {
        const behaviour = this.documents.get(docId)
        if (behaviour === 'hang') { this.hanging.push(res); return }
        if (behaviour === 'http500' || behaviour == null) { res.writeHead(500); res.end('<html>Internal error</html>'); return }
        answer({ status: 'OK', ErrorCode: '0', data: behaviour.toString('base64') })
      } else if (op === 'updateStatus') {
        this.acks.push({ docId, status: h('status') ?? '', reason: h('reason') })
        if (this.dropAcknowledged) this.lists.edoc = this.lists.edoc.filter((i) => typeof i !== 'object' || i.docId !== docId)
        answer({ status: 'OK', ErrorCode: '0' })
      } else {
        answer({ status: 'FAIL', ErrorCode: '103', ErrorDesc: 'no such operation' }, 404)
      }
    })
  }

  close (): void { for (const res of this.hanging) res.destroy() }
}

async function setup (t: Test): Promise<{ hub: TestHub, axis: MaliciousAxis, endpoint: string, accept: PollDependencies['accept'], poll: (opts?: { maxPerRound?: number, now?: () => number }) => Promise<PollReport> }> {
  const hub = await testHub(t, { redisUrl: null })
  // H29 is served elsewhere: not an agency of hub 1.
  await hub.db.query('DELETE FROM agency_credentials WHERE agency_code = $1', [NOT_OURS])
  await hub.db.query('DELETE FROM agency_signing_certificates WHERE agency_code = $1', [NOT_OURS])
  await hub.db.query('DELETE FROM agencies WHERE code = $1', [NOT_OURS])
  // G22 sends only through the axis: on hub 1 it is a registry row that verifies its documents,
  // with no credential of its own (an agency that submits here is bound to its own submission).
  await hub.db.query('DELETE FROM agency_credentials WHERE agency_code = $1', [SENDER])
  const axis = new MaliciousAxis()
  const server = createServer((req, res) => { axis.handle(req, res) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { axis.close(); server.closeAllConnections(); server.close() })
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/vdxp`
  const client = new VdxpUpstreamClient({ id: 'axis', endpoint, systemId: 'hub-1', secret: SECRET }, { timeoutMs: 500 })
  const accept = acceptFromUpstream({ db: hub.db, verify: hub.context.verify, queue: undefined, hub: hub.context.hub }, 'axis')
  const poll = async (opts: { maxPerRound?: number, now?: () => number } = {}): Promise<PollReport> =>
    await pollUpstream({ db: hub.db, client, accept, failureBackoff: { baseMs: 60_000, capMs: 3_600_000 }, ...opts })
  return { hub, axis, endpoint, accept, poll }
}

const scalar = async (hub: TestHub, sql: string, params: unknown[] = []): Promise<number> => Number((await hub.db.query<{ n: string }>(sql, params)).rows[0]?.n)

t.test('duplicates, lying metadata and a document for another agency', async (t) => {
  const { hub, axis, poll } = await setup(t)
  const doc = documentFromTo(SENDER, OURS, 9101)
  const forOther = documentFromTo(SENDER, NOT_OURS, 9102)
  axis.documents.set('d1', doc)
  axis.documents.set('d2', doc)
  axis.documents.set('d3', forOther)
  axis.lists.edoc = [
    // The listing claims another sender and recipient than the signed bytes say.
    { docId: 'd1', from: '000.00.00.G12', to: NOT_OURS },
    { docId: 'd1', from: '000.00.00.G12', to: NOT_OURS },
    { docId: 'd2' },
    { docId: '' },
    'not an item',
    { docId: 'd3', to: OURS }
  ]
  const report = await poll()
  t.match(report, { listed: 3, fetched: 3, accepted: 1, duplicates: 1, rejected: 1, failed: 0 }, JSON.stringify(report))
  t.same(axis.calls.filter((c) => c.startsWith('getEdoc')).sort(), ['getEdoc:d1', 'getEdoc:d2', 'getEdoc:d3'], 'each id fetched once, d1 although listed twice')
  t.equal(await scalar(hub, 'SELECT count(*) AS n FROM documents'), 1, 'one document: d2 is the same bytes as d1')
  const stored = (await hub.db.query<{ sender_code: string }>('SELECT sender_code FROM documents')).rows[0]
  t.equal(stored?.sender_code, SENDER, 'the sender is what was signed, not what the listing claimed')
  t.same((await hub.db.query<{ recipient_code: string, route_kind: string }>('SELECT recipient_code, route_kind FROM deliveries')).rows, [{ recipient_code: OURS, route_kind: 'local' }],
    'delivered to our agency only; the document for H29 is not routed on (back upstream or to a peer)')
  const d3 = (await hub.db.query<{ outcome: string, reason_code: string, ack_status: string }>('SELECT outcome, reason_code, ack_status FROM upstream_received WHERE upstream_doc_id = $1', ['d3'])).rows[0]
  t.match(d3, { outcome: 'rejected', ack_status: 'fail' }, 'the document for another agency is refused and reported failed upstream')
  t.match(d3?.reason_code, /^RECIPIENT_/, `with a recipient code (${d3?.reason_code ?? ''})`)
  t.equal(await scalar(hub, 'SELECT count(*) AS n FROM signature_log WHERE reason_code = $1', [d3?.reason_code]), 1, 'and a signature-log entry')
  t.match(axis.acks.find((a) => a.docId === 'd3')?.reason ?? '', /^RECIPIENT_\w+ \(lienthong signature log \d+\)$/, 'the upstream is told why')

  // Round 2: the axis lists d1 again and now serves other bytes under that id.
  axis.dropAcknowledged = false
  axis.lists.edoc = [{ docId: 'd1' }]
  axis.documents.set('d1', documentFromTo(SENDER, OURS, 9103))
  axis.calls.length = 0
  const again = await poll()
  t.match(again, { listed: 1, fetched: 0, acknowledged: 1 })
  t.notOk(axis.calls.some((c) => c.startsWith('getEdoc')), 'an id already decided is never fetched again, whatever it would serve now')
  t.equal(await scalar(hub, 'SELECT count(*) AS n FROM documents'), 1, 'still one document')
})

t.test('poison items never block the items listed after them', async (t) => {
  const { hub, axis, poll } = await setup(t)
  axis.documents.set('p1', 'hang')
  axis.documents.set('p2', 'http500')
  axis.documents.set('p3', 'hang')
  axis.documents.set('g1', documentFromTo(SENDER, OURS, 9201))
  axis.documents.set('g2', documentFromTo(SENDER, OURS, 9202))
  axis.lists.edoc = ['p1', 'p2', 'p3', 'g1', 'g2'].map((docId) => ({ docId }))

  const started = Date.now()
  const first = await poll({ maxPerRound: 3 })
  const ms = Date.now() - started
  t.match(first, { listed: 5, failed: 3, accepted: 0 }, `round 1: the budget of 3 goes to the poison items (${JSON.stringify(first)})`)
  t.ok(ms < 5000, `a hanging upstream costs the client timeout per item, not more (${ms} ms for 3 poison items, timeout 500 ms)`)
  t.equal(await scalar(hub, 'SELECT count(*) AS n FROM upstream_fetch_failures WHERE attempts = 1'), 3, 'each failure remembered')

  const second = await poll({ maxPerRound: 3 })
  t.match(second, { accepted: 2 }, `round 2: the items that never failed go first (${JSON.stringify(second)})`)
  t.equal(await scalar(hub, 'SELECT count(*) AS n FROM documents'), 2, 'g1 and g2 are in')

  const third = await poll({ maxPerRound: 3 })
  t.match(third, { deferred: 1, accepted: 0 }, `round 3: a second failure waits its backoff (${JSON.stringify(third)})`)
  t.equal(await scalar(hub, 'SELECT count(*) AS n FROM upstream_received WHERE upstream_doc_id LIKE \'p%\''), 0, 'no poison item is given up: they stay listed, undecided')

  // The axis heals; after the backoff the item is fetched, and its failures are forgotten.
  axis.documents.set('p1', documentFromTo(SENDER, OURS, 9203))
  axis.documents.set('p2', documentFromTo(SENDER, OURS, 9204))
  axis.documents.set('p3', documentFromTo(SENDER, OURS, 9205))
  const later = await poll({ maxPerRound: 3, now: () => Date.now() + 2 * 3_600_000 })
  t.match(later, { accepted: 3, deferred: 0 }, JSON.stringify(later))
  t.equal(await scalar(hub, 'SELECT count(*) AS n FROM upstream_fetch_failures'), 0, 'failures cleared once decided')
  t.equal(await scalar(hub, 'SELECT count(*) AS n FROM documents'), 5)
})

t.test('a huge list costs one fetch budget per round and bounded time', async (t) => {
  const { hub, axis, poll } = await setup(t)
  const n = 20_000
  axis.lists.edoc = Array.from({ length: n }, (_, i) => ({ docId: `h${i}`, from: SENDER, to: OURS }))
  axis.documents.set('h19999', documentFromTo(SENDER, OURS, 9301))
  const started = Date.now()
  const report = await poll({ maxPerRound: 10 })
  const ms = Date.now() - started
  t.match(report, { listed: n, failed: 10 }, JSON.stringify(report))
  t.equal(axis.calls.filter((c) => c.startsWith('getEdoc')).length, 10, 'at most maxPerRound fetches')
  t.comment(`a round over a list of ${n} unknown items took ${ms} ms`)
  t.ok(ms < 20_000, `bounded (${ms} ms)`)
  t.equal(await scalar(hub, 'SELECT count(*) AS n FROM documents'), 0)

  // The axis keeps listing 30 ids we decided and acknowledged long ago: answered again (it may
  // have lost our answer), but no more per round than the fetch budget.
  const old = Array.from({ length: 30 }, (_, i) => `old${i}`)
  for (const id of old) {
    await hub.db.query('INSERT INTO upstream_received (upstream_id, upstream_doc_id, message_type, outcome, reason_code, ack_status, acknowledged_at) VALUES ($1, $2, \'edoc\', \'rejected\', \'DIGEST_MISMATCH\', \'fail\', now())', ['axis', id])
  }
  axis.dropAcknowledged = false
  axis.lists.edoc = old.map((docId) => ({ docId }))
  axis.calls.length = 0
  const reacks = await poll({ maxPerRound: 10 })
  t.match(reacks, { listed: 30, fetched: 0, acknowledged: 10 }, JSON.stringify(reacks))
  t.equal(axis.calls.filter((c) => c.startsWith('updateStatus')).length, 10, 'ten updateStatus calls, not thirty')
})

t.test('an axis that refuses our HMAC (a rotated secret, a clock it does not accept) fails the round, stores nothing', async (t) => {
  const { hub, axis, endpoint, accept } = await setup(t)
  axis.lists.edoc = [{ docId: 'x1' }]
  axis.documents.set('x1', documentFromTo(SENDER, OURS, 9401))
  const wrong = new VdxpUpstreamClient({ id: 'axis', endpoint, systemId: 'hub-1', secret: 'rotated' }, { timeoutMs: 500 })
  const err = await pollUpstream({ db: hub.db, client: wrong, accept }).then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof UpstreamCallError, `the round fails: ${String(err)}`)
  t.equal((err as UpstreamCallError).errorCode, '101')
  t.equal((err as UpstreamCallError).retryable, true, 'retried next round (an operator fixes the secret), never given up')
  t.equal(await scalar(hub, 'SELECT count(*) AS n FROM upstream_received'), 0, 'nothing recorded')
  t.equal(await scalar(hub, 'SELECT count(*) AS n FROM documents'), 0, 'nothing stored')
})

// What an upstream may not bring (docs/vdxp-compat.md): hub 1 serves G22 (a sender with its own
// API key) and H41; H29 is served beyond the axis `axis`, G12 beyond peer hub `hub-9`. The
// many-recipients document goes from G22 to all three, so hub 1 sends it locally, through the
// peer and upstream at once.
const G12 = '000.00.00.G12'

async function routedSetup (t: Test): Promise<{ hub: TestHub, axis: MaliciousAxis, poll: (upstreamId: string) => Promise<PollReport> }> {
  const db = await testDatabase(t)
  const hub = await testHub(t, { db, redisUrl: null, routes: new StoredRoutes(db, { refreshMs: 0 }) })
  for (const code of [NOT_OURS, G12]) {
    await db.query('DELETE FROM agency_credentials WHERE agency_code = $1', [code])
    await db.query('DELETE FROM agency_signing_certificates WHERE agency_code = $1', [code])
    await db.query('DELETE FROM agencies WHERE code = $1', [code])
  }
  const axis = new MaliciousAxis()
  const server = createServer((req, res) => { axis.handle(req, res) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { axis.close(); server.closeAllConnections(); server.close() })
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/vdxp`
  // Two upstreams (the same scripted server): a status must come from the one its document went to.
  for (const id of ['axis', 'axis-2']) await upsertUpstream(db, { upstream_id: id, endpoint, system_id: 'hub-1', secret_file: null, secret_env: 'AXIS_SECRET', source: 'cli' })
  await upsertPeer(db, { hub_id: 'hub-9', base_url: 'https://127.0.0.1:1', server_certificates: ['00'.repeat(32)], client_certificates: ['00'.repeat(32)], signing_certificates: ['00'.repeat(32)], source: 'cli' })
  await upsertRule(db, { rule_kind: 'explicit', pattern: NOT_OURS, target_kind: 'upstream', target_id: 'axis', source: 'cli' })
  await upsertRule(db, { rule_kind: 'explicit', pattern: G12, target_kind: 'peer', target_id: 'hub-9', source: 'cli' })
  const poll = async (upstreamId: string): Promise<PollReport> => {
    const client = new VdxpUpstreamClient({ id: upstreamId, endpoint, systemId: 'hub-1', secret: SECRET }, { timeoutMs: 2000 })
    const accept = acceptFromUpstream({ db, verify: hub.context.verify, queue: undefined, hub: hub.context.hub }, upstreamId)
    return await pollUpstream({ db, client, accept })
  }
  return { hub, axis, poll }
}

async function submitAsG22 (t: Test, hub: TestHub, bytes: Buffer): Promise<string> {
  const res = await hub.app.inject({ method: 'POST', url: '/v1/documents', headers: { authorization: `Bearer ${hub.keys[SENDER] ?? ''}`, 'content-type': 'application/xml' }, payload: bytes })
  t.equal(res.statusCode, 202, res.body.slice(0, 300))
  return (res.json() as { id: string }).id
}

async function statusOf (from: string, document: Buffer): Promise<Buffer> {
  const answered = answeredDocumentOf(document)
  if (answered == null) throw new Error('the document names no DocumentId')
  return await signAsDemoAgency(from, status03({ code: from, name: from }, answered))
}

/** The refusal's signature-log entry, and the answer the axis got for the item. */
async function refusalOf (hub: TestHub, axis: MaliciousAxis, docId: string): Promise<{ reason: string | undefined, status: string | undefined, logged: string | undefined, authenticated: string | undefined }> {
  const ack = axis.acks.find((a) => a.docId === docId)
  const row = (await hub.db.query<{ signature_log_id: string | null }>('SELECT signature_log_id FROM upstream_received WHERE upstream_doc_id = $1', [docId])).rows[0]
  const entry = (await hub.db.query<{ reason_code: string, authenticated_agency: string }>('SELECT reason_code, authenticated_agency FROM signature_log WHERE id = $1', [row?.signature_log_id])).rows[0]
  return { reason: ack?.reason, status: ack?.status, logged: entry?.reason_code, authenticated: entry?.authenticated_agency }
}

t.test('a document signed by one of our own senders: the axis handing back what we sent is a duplicate, new bytes are refused', async (t) => {
  const { hub, axis, poll } = await routedSetup(t)
  const sent = signedDocument(9501)
  const documentId = await submitAsG22(t, hub, sent.bytes)
  const routes = (await hub.db.query<{ recipient_code: string, route_kind: string }>('SELECT recipient_code, route_kind FROM deliveries WHERE document_id = $1', [documentId])).rows
  t.same(Object.fromEntries(routes.map((r) => [r.recipient_code, r.route_kind])), { [G12]: 'peer', [OURS]: 'local', [NOT_OURS]: 'upstream' }, 'sent locally, through the peer and upstream')

  // The axis lists H41's copy of it back to us, and a G22 document hub 1 never accepted.
  axis.documents.set('echo', sent.bytes)
  axis.documents.set('new', signedDocument(9502).bytes)
  axis.lists.edoc = [{ docId: 'echo' }, { docId: 'new' }]
  const report = await poll('axis')
  t.match(report, { fetched: 2, accepted: 0, duplicates: 1, rejected: 1, acknowledged: 2 }, JSON.stringify(report))
  t.same(axis.acks.find((a) => a.docId === 'echo'), { docId: 'echo', status: 'done', reason: undefined }, 'the echo is acknowledged done')
  t.equal(await scalar(hub, 'SELECT count(*) AS n FROM deliveries WHERE document_id = $1', [documentId]), 3, 'no second delivery to H41')
  const refusal = await refusalOf(hub, axis, 'new')
  t.equal(refusal.status, 'fail', 'the new document is reported failed upstream')
  t.match(refusal.reason, /^PEER_NOT_ON_PATH \(lienthong signature log \d+\)$/, 'with our reason and log entry')
  t.equal(refusal.logged, 'PEER_NOT_ON_PATH', 'the refusal is in the signature log')
  t.equal(refusal.authenticated, 'upstream:axis', 'naming the upstream as the party')
  t.equal(await scalar(hub, 'SELECT count(*) AS n FROM documents'), 1, 'only the document G22 submitted here')
})

t.test('a status comes back only from the upstream its document went to', async (t) => {
  const { hub, axis, poll } = await routedSetup(t)
  const sent = signedDocument(9601)
  const documentId = await submitAsG22(t, hub, sent.bytes)
  // H41 is reached locally: without a credential of its own (a push-only recipient) it is no
  // sender of this hub, so what binds its status is the route its document took.
  await hub.db.query('DELETE FROM agency_credentials WHERE agency_code = $1', [OURS])
  axis.documents.set('s-h29', await statusOf(NOT_OURS, sent.bytes))
  axis.documents.set('s-g12', await statusOf(G12, sent.bytes))
  axis.documents.set('s-h41', await statusOf(OURS, sent.bytes))
  axis.dropAcknowledged = false
  axis.lists.status = [{ docId: 's-h29' }, { docId: 's-g12' }, { docId: 's-h41' }]

  // axis-2 lists them all first: none of the three documents went through it.
  const other = await poll('axis-2')
  t.match(other, { fetched: 3, accepted: 0, rejected: 3 }, JSON.stringify(other))
  for (const docId of ['s-h29', 's-g12', 's-h41']) {
    const refusal = await refusalOf(hub, axis, docId)
    t.equal(refusal.status, 'fail', `${docId} from axis-2: reported failed`)
    t.match(refusal.reason, /^PEER_NOT_ON_PATH \(lienthong signature log \d+\)$/, `${docId} from axis-2: our reason`)
    t.equal(refusal.logged, 'PEER_NOT_ON_PATH', `${docId} from axis-2: in the signature log`)
  }

  // The axis that carried the document to H29 brings H29's status; G12's (peer) and H41's (local) stay refused.
  axis.acks.length = 0
  const own = await poll('axis')
  t.match(own, { fetched: 3, accepted: 1, rejected: 2 }, JSON.stringify(own))
  t.same(axis.acks.map((a) => [a.docId, a.status]), [['s-h29', 'done'], ['s-g12', 'fail'], ['s-h41', 'fail']])
  const events = (await hub.db.query<{ from_code: string }>('SELECT from_code FROM status_events WHERE document_id = $1', [documentId])).rows
  t.same(events, [{ from_code: NOT_OURS }], 'only H29\'s status is on the document')
  t.equal(await scalar(hub, 'SELECT count(*) AS n FROM signature_log WHERE reason_code = \'PEER_NOT_ON_PATH\''), 5, 'every refusal has its entry')
})
