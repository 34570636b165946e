import t from 'tap'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { startDeliveryWorker } from '../../src/delivery/delivery-worker.js'
import { hubPinOf, verifyReceipt } from '../../src/evidence/receipts.js'
import { TrustStore } from '../../src/pki/trust-store.js'
import { signEdxml } from '../../src/signing/sign-document.js'
import { FIXTURES, PKI } from '../helpers/example-pki.js'
import { exampleHubIdentity, REDIS_URL, testHub } from '../helpers/hub.js'

const G22 = '000.00.00.G22'
const G12 = '000.00.00.G12'
const H41 = '000.00.00.H41'
const FIXTURE_DOCUMENT_ID = '000.00.00.G22,2026/11/20,1234/VPCP-KSTT'

const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, 'signatures', 'valid', name))
const template = (name: string): string => readFileSync(join(FIXTURES, 'templates', name), 'utf8')
const pem = (...path: string[]): string => readFileSync(join(PKI, ...path), 'utf8')
const signAs = (code: string, xml: string): Buffer =>
  Buffer.from(signEdxml(xml, { privateKeyPem: pem('agencies', code, 'key.pem'), certificatePem: pem('agencies', code, 'cert.pem') + pem('agencies', code, 'chain.pem') }))

/** A G22 document to `to`, numbered `n` (DocumentId, CodeNumber and Subject vary with it). */
function g22Document (to: string, n: number): { bytes: Buffer, documentId: string, subject: string } {
  const documentId = `${G22},2026/11/20,${n}/VPCP-KSTT`
  const subject = `V/v thử nghiệm liên thông số ${n}`
  const xml = template('document-one-recipient.edxml')
    .replace(/(<edXML:To>\s*<edXML:OrganId>)[^<]+/, `$1${to}`)
    .replace(FIXTURE_DOCUMENT_ID, documentId)
    .replace('<edXML:CodeNumber>1234<', `<edXML:CodeNumber>${n}<`)
    .replace(/<edXML:Subject>[^<]*</, `<edXML:Subject>${subject}<`)
  return { bytes: signAs(G22, xml), documentId, subject }
}

/** A status 03 from `from` answering G22's document `documentId`, signed with `from`'s key. */
function statusFrom (from: string, documentId: string): Buffer {
  const xml = template('status-03.edxml')
    .replace(/(<edXML:From>\s*<edXML:OrganId>)[^<]+/, `$1${from}`)
    .replace(/(<edXML:TraceHeader>\s*<edXML:OrganId>)[^<]+/, `$1${from}`)
    .replaceAll(FIXTURE_DOCUMENT_ID, documentId)
    .replace('<edXML:Code>1234/VPCP-KSTT<', `<edXML:Code>${documentId.split(',')[2] ?? ''}<`)
  return signAs(from, xml)
}

const as = (keys: Record<string, string>, agency: string) => ({ authorization: `Bearer ${keys[agency]}` })
const submit = async (app: FastifyInstance, keys: Record<string, string>, agency: string, bytes: Buffer) =>
  await app.inject({ method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/xml', ...as(keys, agency) }, payload: bytes })

interface Item { deliveryId: string, documentId: string, kind: string, sender: string, edxmlDocumentId: string | null, subject: string | null, statusCode: string | null, state: string, sizeBytes: number, availableAt: string }

t.test('pull: inbox, keyset pagination, download, acknowledge done|fail, receipts, sender view', async (t) => {
  const { app, db, keys } = await testHub(t, { redisUrl: null })
  const inbox = async (agency: string, query = '') => await app.inject({ url: `/v1/inbox${query}`, headers: as(keys, agency) })

  const firstBytes = fixture('own-exc-rsa-sha256-one-recipient.edxml')
  const sent = await submit(app, keys, G22, firstBytes)
  t.equal(sent.statusCode, 202, sent.statusCode === 202 ? 'G22 -> G12 accepted' : sent.body)
  const firstDoc = sent.json().id as string
  t.same(sent.json().recipients.map((r: { code: string, mode: string }) => [r.code, r.mode]), [[G12, 'pull']])
  const firstDelivery = sent.json().recipients[0].deliveryId as string

  const listed = await inbox(G12)
  t.equal(listed.statusCode, 200)
  const items = listed.json().items as Item[]
  t.equal(items.length, 1, 'G12 has one item')
  t.match(items[0], {
    deliveryId: firstDelivery,
    documentId: firstDoc,
    kind: 'document',
    sender: G22,
    edxmlDocumentId: FIXTURE_DOCUMENT_ID,
    subject: 'V/v triển khai kết nối liên thông văn bản điện tử năm 2027',
    statusCode: null,
    state: 'available',
    sizeBytes: firstBytes.length
  }, 'listed with sender, ids, subject, kind and state')
  t.equal(listed.json().next, null, 'one page only')

  for (const other of [G22, H41]) {
    const theirs = await inbox(other)
    t.equal(theirs.statusCode, 200)
    t.same(theirs.json(), { items: [], next: null }, `${other}'s inbox does not show it`)
    t.equal((await app.inject({ url: `/v1/inbox/${firstDelivery}`, headers: as(keys, other) })).statusCode, 404, `${other} cannot download it`)
    const ack = await app.inject({ method: 'POST', url: `/v1/inbox/${firstDelivery}/ack`, headers: as(keys, other), payload: { result: 'done' } })
    t.equal(ack.statusCode, 404, `${other} cannot acknowledge it`)
  }
  t.equal((await app.inject({ url: '/v1/inbox' })).statusCode, 401, 'no credential: 401')

  // Two more documents: three items, paged one at a time.
  const more = [g22Document(G12, 2001), g22Document(G12, 2002)]
  const moreIds: string[] = []
  for (const doc of more) {
    const res = await submit(app, keys, G22, doc.bytes)
    t.equal(res.statusCode, 202, res.statusCode === 202 ? `${doc.documentId} accepted` : res.body)
    moreIds.push(res.json().recipients[0].deliveryId as string)
  }
  const expected = [firstDelivery, ...moreIds]
  const seen: string[] = []
  const cursors: Array<string | null> = []
  let after: string | null = null
  for (let page = 0; page < 5; page++) {
    const res = await inbox(G12, `?limit=1${after != null ? `&after=${encodeURIComponent(after)}` : ''}`)
    t.equal(res.statusCode, 200, `page ${page + 1}`)
    const body = res.json() as { items: Item[], next: string | null }
    t.equal(body.items.length, 1, `page ${page + 1} holds one item`)
    seen.push(...body.items.map((i) => i.deliveryId))
    cursors.push(body.next)
    after = body.next
    if (after == null) break
  }
  t.same(seen, expected, 'limit=1 walks the three items in order, each once')
  t.equal(cursors.length, 3, 'three pages')
  t.ok(cursors.slice(0, 2).every((c) => typeof c === 'string' && c.length > 0), 'pages 1 and 2 carry a next cursor')
  t.equal(cursors[2], null, 'the last page says next: null')
  const subjects = ((await inbox(G12, '?limit=10')).json().items as Item[]).map((i) => i.subject)
  t.same(subjects.slice(1), more.map((d) => d.subject), 'subjects as signed')

  for (const garbage of ['garbage', '%%%', Buffer.from('2026-01-01T00:00:00.000Z|not-a-uuid').toString('base64url'), Buffer.from('yesterday|00000000-0000-0000-0000-000000000000').toString('base64url')]) {
    const res = await inbox(G12, `?after=${encodeURIComponent(garbage)}`)
    t.equal(res.statusCode, 400, `cursor ${JSON.stringify(garbage)}: 400`)
    t.equal(res.json().code, 'BAD_REQUEST')
  }
  t.equal((await inbox(G12, '?limit=0')).statusCode, 400, 'limit=0: 400')

  // Download: exact bytes, available -> downloaded.
  const download = await app.inject({ url: `/v1/inbox/${firstDelivery}`, headers: as(keys, G12) })
  t.equal(download.statusCode, 200)
  t.ok(download.rawPayload.equals(firstBytes), 'the exact signed bytes')
  t.match(download.headers['content-type'], /application\/xml/)
  const afterDownload = (await inbox(G12)).json().items as Item[]
  t.equal(afterDownload.find((i) => i.deliveryId === firstDelivery)?.state, 'downloaded', 'state downloaded')
  t.equal(afterDownload.find((i) => i.deliveryId === moreIds[0])?.state, 'available', 'the others untouched')
  t.ok((await app.inject({ url: `/v1/inbox/${firstDelivery}`, headers: as(keys, G12) })).rawPayload.equals(firstBytes), 'a second download gives the same bytes')
  t.equal((await app.inject({ url: '/v1/inbox/00000000-0000-4000-8000-000000000000', headers: as(keys, G12) })).statusCode, 404, 'unknown item: 404')

  // Acknowledge done: acknowledged, signed delivery receipt, out of the inbox; idempotent; a contradiction is 409.
  const ack = async (deliveryId: string, payload: Record<string, unknown>) =>
    await app.inject({ method: 'POST', url: `/v1/inbox/${deliveryId}/ack`, headers: as(keys, G12), payload })
  const done = await ack(firstDelivery, { result: 'done' })
  t.equal(done.statusCode, 200)
  t.same(done.json(), { deliveryId: firstDelivery, state: 'acknowledged', changed: true })
  const trust = await TrustStore.load(join(PKI, 'trust'))
  const pin = { hub: hubPinOf((await exampleHubIdentity()).certificate) }
  const { rows: deliveryReceipts } = await db.query<{ xml: string, delivery_id: string }>('SELECT xml, delivery_id FROM receipts WHERE document_id = $1 AND kind = \'delivery\'', [firstDoc])
  t.equal(deliveryReceipts.length, 1, 'one delivery receipt')
  t.equal(deliveryReceipts[0]?.delivery_id, firstDelivery)
  const viaApi = await app.inject({ url: `/v1/documents/${firstDoc}/receipts/delivery`, headers: as(keys, G22) })
  t.equal(viaApi.statusCode, 200, 'the sender fetches the delivery receipt')
  t.equal(viaApi.body, deliveryReceipts[0]?.xml)
  const checked = await verifyReceipt(viaApi.body, trust, pin)
  t.equal(checked.ok, true, checked.ok ? 'the delivery receipt verifies (hub-pinned)' : JSON.stringify(checked))
  if (checked.ok) {
    t.match(checked.fields, { kind: 'delivery', hubDocumentId: firstDoc, deliveryId: firstDelivery, edxmlDocumentId: FIXTURE_DOCUMENT_ID, sender: G22, recipient: G12, method: 'pull' })
  }
  const afterAck = (await inbox(G12)).json().items as Item[]
  t.same(afterAck.map((i) => i.deliveryId), moreIds, 'the acknowledged item left the inbox')

  const again = await ack(firstDelivery, { result: 'done' })
  t.equal(again.statusCode, 200, 'done again: 200')
  t.same(again.json(), { deliveryId: firstDelivery, state: 'acknowledged', changed: false }, 'unchanged')
  const contradiction = await ack(firstDelivery, { result: 'fail', reason: 'changed my mind' })
  t.equal(contradiction.statusCode, 409, 'fail after done: 409')
  t.equal(contradiction.json().code, 'CONFLICT')
  const { rows: receiptCount } = await db.query<{ kind: string, n: number }>('SELECT kind, count(*)::int AS n FROM receipts WHERE document_id = $1 GROUP BY kind ORDER BY kind', [firstDoc])
  t.same(receiptCount, [{ kind: 'acceptance', n: 1 }, { kind: 'delivery', n: 1 }], 'no second receipt, no failure notice')

  // Acknowledge fail (+ reason) on another item, straight from available.
  const failedDelivery = moreIds[0] as string
  const failed = await ack(failedDelivery, { result: 'fail', reason: 'sổ văn bản đến bị khoá' })
  t.equal(failed.statusCode, 200)
  t.same(failed.json(), { deliveryId: failedDelivery, state: 'failed', changed: true })
  t.same((await ack(failedDelivery, { result: 'fail', reason: 'again' })).json(), { deliveryId: failedDelivery, state: 'failed', changed: false }, 'fail again: unchanged')
  t.equal((await ack(failedDelivery, { result: 'done' })).statusCode, 409, 'done after fail: 409')
  t.equal((await ack(failedDelivery, { result: 'maybe' })).statusCode, 400, 'an unknown result: 400')
  const failedDoc = (await db.query<{ document_id: string }>('SELECT document_id FROM deliveries WHERE id = $1', [failedDelivery])).rows[0]?.document_id as string
  const failure = await app.inject({ url: `/v1/documents/${failedDoc}/receipts/failure`, headers: as(keys, G22) })
  t.equal(failure.statusCode, 200, 'a failure receipt exists')
  const failureCheck = await verifyReceipt(failure.body, trust, pin)
  t.equal(failureCheck.ok, true, failureCheck.ok ? 'the failure receipt verifies' : JSON.stringify(failureCheck))
  if (failureCheck.ok) {
    t.match(failureCheck.fields, { kind: 'failure', hubDocumentId: failedDoc, deliveryId: failedDelivery, sender: G22, recipient: G12, reason: /sổ văn bản đến bị khoá/ })
  }
  t.same(((await inbox(G12)).json().items as Item[]).map((i) => i.deliveryId), [moreIds[1]], 'the failed item left the inbox too')

  // Racing acknowledgements of the last item: one wins, the rest agree with it or get 409.
  const racedDelivery = moreIds[1] as string
  const raced = await Promise.all([ack(racedDelivery, { result: 'done' }), ack(racedDelivery, { result: 'fail', reason: 'race' }), ack(racedDelivery, { result: 'done' })])
  const winners = raced.filter((r) => r.statusCode === 200 && r.json().changed === true)
  t.equal(winners.length, 1, 'exactly one acknowledgement changes the state')
  const final = winners[0]?.json().state as string
  t.ok(raced.every((r) => r === winners[0] || (r.statusCode === 200 && r.json().state === final && r.json().changed === false) || r.statusCode === 409),
    `the others agree (${final}) or conflict: ${raced.map((r) => r.statusCode).join(', ')}`)
  const { rows: racedReceipts } = await db.query<{ kind: string }>('SELECT kind FROM receipts WHERE delivery_id = $1', [racedDelivery])
  t.same(racedReceipts.map((r) => r.kind), [final === 'acknowledged' ? 'delivery' : 'failure'], 'one receipt, matching the winner')
  t.same((await inbox(G12)).json(), { items: [], next: null }, 'G12\'s inbox is empty')

  // The sender sees both outcomes.
  const view1 = (await app.inject({ url: `/v1/documents/${firstDoc}`, headers: as(keys, G22) })).json()
  t.match(view1.deliveries, [{ id: firstDelivery, recipient: G12, mode: 'pull', state: 'acknowledged' }])
  t.same(view1.receipts.map((r: { kind: string }) => r.kind).sort(), ['acceptance', 'delivery'])
  const view2 = (await app.inject({ url: `/v1/documents/${failedDoc}`, headers: as(keys, G22) })).json()
  t.match(view2.deliveries, [{ id: failedDelivery, recipient: G12, mode: 'pull', state: 'failed', lastError: /sổ văn bản đến bị khoá/ }])
  t.same(view2.receipts.map((r: { kind: string }) => r.kind).sort(), ['acceptance', 'failure'])
  const { rows: events } = await db.query<{ event: string, actor: string }>('SELECT event, actor FROM delivery_events WHERE delivery_id = $1 ORDER BY id', [firstDelivery])
  t.same(events, [{ event: 'downloaded', actor: G12 }, { event: 'acknowledged', actor: G12 }], 'the trail: downloaded once, acknowledged once')
})

t.test('pagination does not repeat or skip items created within the same millisecond', async (t) => {
  const { app, db, keys } = await testHub(t, { redisUrl: null })
  // Three deliveries whose created_at differ only in microseconds (PostgreSQL keeps them, JS Dates do not).
  const docs = [g22Document(G12, 4001), g22Document(G12, 4002), g22Document(G12, 4003)]
  const ids: string[] = []
  for (const doc of docs) ids.push((await submit(app, keys, G22, doc.bytes)).json().recipients[0].deliveryId as string)
  await db.query('UPDATE deliveries SET created_at = timestamptz \'2026-11-20 09:00:00.123001+00\' + (interval \'1 microsecond\' * array_position($1::uuid[], id)) WHERE id = ANY($1::uuid[])', [ids])
  const seen: string[] = []
  let after: string | null = null
  for (let page = 0; page < 6; page++) {
    const res = await app.inject({ url: `/v1/inbox?limit=1${after != null ? `&after=${encodeURIComponent(after)}` : ''}`, headers: as(keys, G12) })
    const body = res.json() as { items: Item[], next: string | null }
    seen.push(...body.items.map((i) => i.deliveryId))
    after = body.next
    if (after == null) break
  }
  t.same(seen, ids, 'each item exactly once, in order')
})

t.test('a status message goes back to a pull sender: inbox kind status, code 03, on the timeline', async (t) => {
  const { app, db, keys } = await testHub(t, { redisUrl: null })
  await db.query('UPDATE agencies SET delivery_mode = \'pull\', push_url = NULL WHERE code = $1', [G22])

  const doc = g22Document(H41, 3001)
  const sent = await submit(app, keys, G22, doc.bytes)
  t.equal(sent.statusCode, 202, sent.statusCode === 202 ? 'G22 -> H41 accepted' : sent.body)
  const docId = sent.json().id as string
  const h41Inbox = (await app.inject({ url: '/v1/inbox', headers: as(keys, H41) })).json().items as Item[]
  t.same(h41Inbox.map((i) => [i.documentId, i.kind, i.sender]), [[docId, 'document', G22]], 'H41 has the document')

  const status = statusFrom(H41, doc.documentId)
  const answered = await submit(app, keys, H41, status)
  t.equal(answered.statusCode, 202, answered.statusCode === 202 ? 'H41\'s status 03 accepted' : answered.body)
  t.equal(answered.json().kind, 'status')
  t.same(answered.json().recipients.map((r: { code: string, mode: string }) => [r.code, r.mode]), [[G22, 'pull']], 'routed back to the sender, by pull')
  const statusDoc = answered.json().id as string

  // G12 never got that document: it may not answer it, and is not told the document exists
  // (the same 404 as for an unknown document; issue 9 F14, test/gateway/disclosure.test.ts).
  const stranger = await submit(app, keys, G12, statusFrom(G12, doc.documentId))
  t.equal(stranger.statusCode, 404, 'a status from a non-recipient is refused')
  t.equal(stranger.json().code, 'DOCUMENT_UNKNOWN')

  const g22Inbox = await app.inject({ url: '/v1/inbox', headers: as(keys, G22) })
  const items = g22Inbox.json().items as Item[]
  t.equal(items.length, 1, 'one item for G22')
  t.match(items[0], { documentId: statusDoc, kind: 'status', statusCode: '03', sender: H41, state: 'available', sizeBytes: status.length })
  const bytes = await app.inject({ url: `/v1/inbox/${items[0]?.deliveryId ?? ''}`, headers: as(keys, G22) })
  t.ok(bytes.rawPayload.equals(status), 'G22 downloads the status message as signed')
  const acked = await app.inject({ method: 'POST', url: `/v1/inbox/${items[0]?.deliveryId ?? ''}/ack`, headers: as(keys, G22), payload: { result: 'done' } })
  t.equal(acked.json().state, 'acknowledged')

  const view = (await app.inject({ url: `/v1/documents/${docId}`, headers: as(keys, G22) })).json()
  t.match(view.statusEvents, [{ recipient: H41, statusCode: '03', statusDocumentId: statusDoc }], 'the document\'s timeline shows the 03')
  t.equal(view.statusEvents.length, 1, 'only the accepted status')
  const statusView = (await app.inject({ url: `/v1/documents/${statusDoc}`, headers: as(keys, G22) })).json()
  t.match(statusView, { kind: 'status', sender: H41, responseForDocumentId: docId, deliveries: [{ recipient: G22, mode: 'pull', state: 'acknowledged' }] })
})

t.test('a status message goes back to a push sender: POSTed by the worker with x-lienthong-kind: status', async (t) => {
  const { app, db, queue, keys, context } = await testHub(t)
  const received: Array<{ headers: IncomingHttpHeaders, body: Buffer, authorized: boolean }> = []
  const server: Server = createServer({
    // The server sends its chain (the hub trusts the root only); the hub's client certificate is a
    // bare leaf, so the recipient needs the issuing CA to check it.
    key: pem('hub', 'tls-key.pem'),
    cert: pem('hub', 'tls-cert.pem') + pem('trust', 'issuing-ca.pem'),
    ca: pem('trust', 'root-ca.pem') + pem('trust', 'issuing-ca.pem'),
    requestCert: true,
    rejectUnauthorized: false
  }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks), authorized: (req.socket as import('node:tls').TLSSocket).authorized })
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) })
  await db.query('UPDATE agencies SET push_url = $2 WHERE code = $1', [G22, `https://127.0.0.1:${(server.address() as AddressInfo).port}/edxml`])

  const worker = startDeliveryWorker({
    db,
    hub: context.hub,
    redisUrl: REDIS_URL,
    prefix: queue!.queue.opts.prefix as string,
    concurrency: 4,
    perRecipient: 2,
    timeoutMs: 5000,
    retry: { baseDelayMs: 100, maxDelayMs: 1000, windowMs: 60_000 },
    tls: { cert: Buffer.from(pem('hub', 'tls-cert.pem')), key: Buffer.from(pem('hub', 'tls-key.pem')), ca: Buffer.from(pem('trust', 'root-ca.pem')) }
  })
  t.teardown(async () => { await worker.close(5000) })

  const sent = await submit(app, keys, G22, fixture('own-exc-rsa-sha256-one-recipient.edxml'))
  t.equal(sent.statusCode, 202)
  const docId = sent.json().id as string
  const status = fixture('own-status-03-from-recipient.edxml')
  const answered = await submit(app, keys, G12, status)
  t.equal(answered.statusCode, 202, answered.statusCode === 202 ? 'G12\'s status 03 accepted' : answered.body)
  t.same(answered.json().recipients.map((r: { code: string, mode: string }) => [r.code, r.mode]), [[G22, 'push']], 'routed back to G22 by push')
  const statusDoc = answered.json().id as string
  const deliveryId = answered.json().recipients[0].deliveryId as string

  let state = ''
  for (let i = 0; i < 200 && state !== 'delivered' && state !== 'failed'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    state = (await db.query<{ state: string }>('SELECT state FROM deliveries WHERE id = $1', [deliveryId])).rows[0]?.state ?? ''
  }
  t.equal(state, 'delivered', 'the status delivery is delivered')
  t.equal(received.length, 1, 'G22\'s server got one POST')
  const post = received[0]
  if (post != null) {
    t.ok(post.body.equals(status), 'the body is the stored status message, byte for byte')
    const stored = (await db.query<{ raw: Uint8Array }>('SELECT raw FROM documents WHERE id = $1', [statusDoc])).rows[0]?.raw
    t.ok(stored != null && Buffer.from(stored).equals(post.body), 'equal to the stored bytes')
    t.equal(post.headers['x-lienthong-kind'], 'status')
    t.equal(post.headers['idempotency-key'], deliveryId)
    t.equal(post.headers['x-lienthong-document-id'], statusDoc)
    t.equal(post.headers['x-lienthong-sender'], G12)
    t.equal(post.authorized, true, 'the hub presented its TLS client certificate (mTLS)')
  }
  const view = (await app.inject({ url: `/v1/documents/${docId}`, headers: as(keys, G22) })).json()
  t.match(view.statusEvents, [{ recipient: G12, statusCode: '03', statusDocumentId: statusDoc }], 'recorded against the answered document')
  const receipt = await app.inject({ url: `/v1/documents/${statusDoc}/receipts/delivery`, headers: as(keys, G22) })
  t.equal(receipt.statusCode, 200)
  const checked = await verifyReceipt(receipt.body, await TrustStore.load(join(PKI, 'trust')), { hub: hubPinOf((await exampleHubIdentity()).certificate) })
  t.equal(checked.ok, true, 'a push delivery receipt for the status message verifies')
  if (checked.ok) t.match(checked.fields, { kind: 'delivery', recipient: G22, sender: G12, method: 'push', deliveryId })
})
