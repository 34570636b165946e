import { request } from 'node:https'
import { connect } from 'node:tls'
import t from 'tap'
import { signAsDemoAgency } from '../../src/demo/demo-agencies.js'
import { answeredDocumentOf, status03 } from '../../src/demo/demo-documents.js'
import { createApiKey, revokeCredential } from '../../src/store/credentials.js'
import { documentFromTo } from '../helpers/ops-fixtures.js'
import { startPeerGateway, type Answer, type Client } from '../helpers/peer-gateway.js'

// Attacks on POST /peer/v1/documents by a malicious peer hub (issue 13, outsider review), against
// a real gateway over mutual TLS with the example PKI: hub-3 here serves G12 and H41 (each with an
// API key here: its own senders); H29 is in its registry only to verify what it signs (as an
// upstream's senders are, docs/vdxp-compat.md); peers hub-2 (the path to G22) and hub-4 are
// registered; a fourth certificate chains to the same CA but is pinned to no peer. What is
// refused leaves a signature-log entry and nothing else.

const LOCAL = '000.00.00.G12'
const LOCAL_SENDER = '000.00.00.H41'
const REMOTE = '000.00.00.G22'
const OTHER_REMOTE = '000.00.00.H29'
const LISTED_ONLY = OTHER_REMOTE
const T = '2026-05-01T10:00:00.000Z'

t.test('a malicious peer hub on /peer', async (t) => {
  const { app, pki, hub2, hub4, stranger, db, maxBytes, base, url, post, count } = await startPeerGateway(t, { agencies: [LOCAL, LOCAL_SENDER, LISTED_ONLY], remote: REMOTE })
  // A credential is what makes G12 and H41 senders of this hub (src/store/submitting-agencies.ts).
  await createApiKey(db, LOCAL, 'own sender')
  const senderKey = (await createApiKey(db, LOCAL_SENDER, 'own sender')).key
  const hops = (...entries: Array<string | [string, string]>): string => entries.map((e) => typeof e === 'string' ? `${e};${T}` : `${e[0]};${e[1]}`).join(', ')
  const documents = async (): Promise<number> => await count('SELECT count(*) AS n FROM documents')
  const logEntry = async (id: unknown): Promise<{ reason_code: string, flags: string[] } | undefined> =>
    (await db.query<{ reason_code: string, flags: string[] }>('SELECT reason_code, flags FROM signature_log WHERE id = $1', [id])).rows[0]

  await t.test('forged journeys and identities are refused before any signature work', async (t) => {
    const doc = documentFromTo(REMOTE, LOCAL, 41)
    const future = new Date(Date.now() + 3_600_000).toISOString()
    const good = { 'idempotency-key': 'h-1', 'lienthong-recipient': LOCAL }
    const cases: Array<[string, Buffer, Record<string, string>, Client | null, number, string]> = [
      ['a hop list naming a hub twice (a loop elsewhere, or a forged list)', doc, { ...good, 'lienthong-hops': hops('hub-1', 'hub-2', 'hub-1', 'hub-2') }, hub2, 409, 'HOP_LOOP'],
      ['this hub hidden in the middle of the list', doc, { ...good, 'lienthong-hops': hops('hub-1', 'hub-3', 'hub-2') }, hub2, 409, 'HOP_LOOP'],
      ['a hop dated an hour in the future', doc, { ...good, 'lienthong-hops': hops('hub-1', ['hub-2', future]) }, hub2, 400, 'HOPS_INVALID'],
      ['a journey running backwards', doc, { ...good, 'lienthong-hops': hops(['hub-1', new Date().toISOString()], ['hub-2', T]) }, hub2, 400, 'HOPS_INVALID'],
      ['a hop list just over the header cap (8 KiB)', doc, { ...good, 'lienthong-hops': Array.from({ length: 300 }, (_, i) => `hub-x${i};${T}`).join(', ') }, hub2, 400, 'HOPS_INVALID'],
      ['a hop that is not hub;time', doc, { ...good, 'lienthong-hops': 'hub-2;yesterday' }, hub2, 400, 'HOPS_INVALID'],
      ['hub-4 claiming to be hub-2 (the last hop must be the authenticated peer)', doc, { ...good, 'lienthong-hops': hops('hub-2') }, hub4, 400, 'HOPS_INVALID'],
      ['a certificate of our trust anchors pinned to no peer', doc, { ...good, 'lienthong-hops': hops('hub-2') }, stranger, 401, 'UNAUTHENTICATED'],
      ['a recipient code that is no code', doc, { ...good, 'lienthong-recipient': '../../admin', 'lienthong-hops': hops('hub-2') }, hub2, 400, 'BAD_REQUEST'],
      ['an Idempotency-Key of 200 characters', doc, { ...good, 'idempotency-key': 'k'.repeat(200), 'lienthong-hops': hops('hub-2') }, hub2, 400, 'BAD_REQUEST']
    ]
    const before = await documents()
    for (const [name, body, headers, client, status, code] of cases) {
      const answer = await post(body, headers, client)
      t.equal(answer.status, status, `${name}: ${JSON.stringify(answer.json).slice(0, 300)}`)
      t.equal(answer.json.code, code, name)
    }
    t.equal(await documents(), before, 'nothing stored')
    t.equal(await count('SELECT count(*) AS n FROM peer_arrivals'), 0, 'no arrival recorded')
  })

  await t.test('a hop header beyond what Node reads is refused at the connection, before routing', async (t) => {
    const answer = await post(documentFromTo(REMOTE, LOCAL, 42), { 'idempotency-key': 'h-2', 'lienthong-recipient': LOCAL, 'lienthong-hops': `hub-2;${T}, `.repeat(2000) }, hub2)
    t.equal(answer.status, 431, JSON.stringify(answer.json).slice(0, 200))
  })

  await t.test('a document signed by an agency of THIS hub never arrives from a peer', async (t) => {
    const before = await documents()
    for (const [name, peer, idem] of [['from the peer on the path', hub2, 'l-1'], ['from another peer', hub4, 'l-2']] as const) {
      const injected = documentFromTo(LOCAL_SENDER, LOCAL, 43)
      const answer = await post(injected, { 'idempotency-key': idem, 'lienthong-recipient': LOCAL, 'lienthong-hops': hops(peer === hub2 ? 'hub-2' : 'hub-4') }, peer)
      t.equal(answer.status, 403, `${name}: ${JSON.stringify(answer.json).slice(0, 300)}`)
      t.equal(answer.json.code, 'PEER_NOT_ON_PATH', name)
      const entry = await logEntry(answer.json.signatureLogEntry)
      t.equal(entry?.reason_code, 'PEER_NOT_ON_PATH', `${name}: the refusal is in the signature log`)
      t.ok(entry?.flags.some((f) => f.startsWith('forwarded-by:hub-')), `${name}: with the forwarding peer`)
    }
    t.equal(await documents(), before, 'nothing stored')
  })

  await t.test('an agency listed only to verify what it signs is no sender of this hub: a peer may bring its documents', async (t) => {
    // H29 has a registry row here and nothing to submit with: a peer forwarding its document is
    // the normal path. The same agency given an API key becomes one of this hub's own senders
    // (the upstream rule's definition), and its documents from a peer are refused again; once the
    // key is revoked, it is listed only to verify once more.
    const forward = async (n: number, idem: string): Promise<Answer> =>
      await post(documentFromTo(LISTED_ONLY, LOCAL, n), { 'idempotency-key': idem, 'lienthong-recipient': LOCAL, 'lienthong-hops': hops('hub-1', 'hub-2') }, hub2)
    const stored = async (n: number): Promise<number> =>
      await count(`SELECT count(*) AS n FROM documents WHERE sender_code = '${LISTED_ONLY}' AND edxml_document_id = '${LISTED_ONLY},2026/11/20,${n}/VPCP-KSTT'`)

    const listed = await forward(45, 'v-1')
    t.equal(listed.status, 202, `listed only: ${JSON.stringify(listed.json).slice(0, 300)}`)
    t.equal(await stored(45), 1, 'listed only: the document is stored')
    t.equal(await count(`SELECT count(*) AS n FROM deliveries x JOIN documents d ON d.id = x.document_id WHERE d.edxml_document_id = '${LISTED_ONLY},2026/11/20,45/VPCP-KSTT' AND x.recipient_code = '${LOCAL}'`), 1, 'listed only: delivered to G12')

    const credential = await createApiKey(db, LISTED_ONLY, 'now a sender here')
    const own = await forward(46, 'v-2')
    t.equal(own.status, 403, `with a credential here: ${JSON.stringify(own.json).slice(0, 300)}`)
    t.equal(own.json.code, 'PEER_NOT_ON_PATH', 'with a credential here: refused')
    t.equal((await logEntry(own.json.signatureLogEntry))?.reason_code, 'PEER_NOT_ON_PATH', 'with a credential here: the refusal is in the signature log')
    t.equal(await stored(46), 0, 'with a credential here: nothing stored')

    t.ok(await revokeCredential(db, credential.id), 'credential revoked')
    const revoked = await forward(47, 'v-3')
    t.equal(revoked.status, 202, `credential revoked: ${JSON.stringify(revoked.json).slice(0, 300)}`)
    t.equal(await stored(47), 1, 'credential revoked: the document is stored')
  })

  await t.test('statuses come back only along the document\'s path', async (t) => {
    // Our agency H41 sends D to G22, which is behind hub-2 (explicit route): D goes out to hub-2.
    const key = senderKey
    const outgoing = documentFromTo(LOCAL_SENDER, REMOTE, 44)
    const sent = await app.inject({ method: 'POST', url: '/v1/documents', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' }, payload: outgoing })
    t.equal(sent.statusCode, 202, sent.body)
    const routed = (await db.query<{ route_kind: string, route_target: string }>('SELECT route_kind, route_target FROM deliveries WHERE recipient_code = $1', [REMOTE])).rows
    t.same(routed, [{ route_kind: 'peer', route_target: 'hub-2' }], 'D goes to G22 through hub-2')
    const answered = answeredDocumentOf(outgoing)
    if (answered == null) throw new Error('no answered document')
    const statusOf = async (code: string): Promise<Buffer> => await signAsDemoAgency(code, status03({ code, name: code }, answered))
    const fromRemote = await statusOf(REMOTE)
    const statuses = async (): Promise<number> => await count('SELECT count(*) AS n FROM documents WHERE kind = \'status\'')

    const cases: Array<[string, Buffer, Client, string, string, number, string | null]> = [
      ['G22\'s genuine status relayed by hub-4, which D never went through', fromRemote, hub4, 'hub-4', 's-1', 403, 'PEER_NOT_ON_PATH'],
      ['a status signed by our own agency G12, relayed by hub-2', await statusOf(LOCAL), hub2, 'hub-2', 's-2', 403, 'PEER_NOT_ON_PATH'],
      ['a status from H29, no recipient of D, relayed by hub-2', await statusOf(OTHER_REMOTE), hub2, 'hub-2', 's-3', 403, 'FORBIDDEN'],
      ['G22\'s status from hub-2, the path D took', fromRemote, hub2, 'hub-2', 's-4', 202, null],
      ['the same status replayed by hub-2 under a new key', fromRemote, hub2, 'hub-2', 's-5', 200, null],
      ['hub-2 reusing that key for other bytes (it would get the first receipt)', await statusOf(OTHER_REMOTE), hub2, 'hub-2', 's-4', 409, 'CONFLICT'],
      ['the same status replayed by hub-4', fromRemote, hub4, 'hub-4', 's-6', 403, 'PEER_NOT_ON_PATH']
    ]
    for (const [name, body, client, hubId, idem, status, code] of cases) {
      const answer = await post(body, { 'idempotency-key': idem, 'lienthong-recipient': LOCAL_SENDER, 'lienthong-hops': hops(hubId) }, client)
      t.equal(answer.status, status, `${name}: ${JSON.stringify(answer.json).slice(0, 300)}`)
      if (code === 'CONFLICT') t.equal(answer.json.code, code, name)
      else if (code != null) {
        t.equal(answer.json.code, code, name)
        t.equal((await logEntry(answer.json.signatureLogEntry))?.reason_code, code, `${name}: in the signature log`)
      }
    }
    const otherRecipient = await post(fromRemote, { 'idempotency-key': 's-4', 'lienthong-recipient': LOCAL, 'lienthong-hops': hops('hub-2') }, hub2)
    t.equal(otherRecipient.status, 409, `hub-2 reusing that key for another recipient: ${JSON.stringify(otherRecipient.json).slice(0, 300)}`)
    t.equal(otherRecipient.json.code, 'CONFLICT')
    t.equal(await statuses(), 1, 'one status stored, however often it was replayed')
    t.equal(await count('SELECT count(*) AS n FROM status_events'), 1, 'one status event on D')
    t.equal(await count('SELECT count(*) AS n FROM deliveries x JOIN documents d ON d.id = x.document_id WHERE d.kind = \'status\''), 1, 'one delivery of it to H41')
  })

  await t.test('oversized bodies and slow peers', async (t) => {
    const big = Buffer.alloc(maxBytes + 1024, 'a')
    const answer = await post(big, { 'idempotency-key': 'b-1', 'lienthong-recipient': LOCAL, 'lienthong-hops': hops('hub-2') }, hub2)
    t.equal(answer.status, 413, JSON.stringify(answer.json).slice(0, 200))
    t.equal(answer.json.code, 'PAYLOAD_TOO_LARGE')

    // An unregistered client announcing a large body is answered 401 without sending a byte of it.
    const early = await new Promise<number>((resolve, reject) => {
      const r = request(url, { method: 'POST', ca: pki.ca, cert: stranger.cert, key: stranger.key, agent: false, headers: { 'content-type': 'application/xml', 'content-length': String(maxBytes - 1) } }, (res) => { res.resume(); resolve(res.statusCode ?? 0) })
      r.on('error', reject)
      r.flushHeaders()
    })
    t.equal(early, 401, 'refused before the body: nothing is read before authentication')

    // Slowloris with a registered peer's certificate: headers one byte at a time, and a body
    // trickled just under the idle timeout. Each connection is closed within the configured bounds.
    const slow = async (mode: 'headers' | 'body'): Promise<{ ms: number, status: string }> => await new Promise((resolve, reject) => {
      const started = Date.now()
      const socket = connect({ host: '127.0.0.1', port: Number(new URL(base).port), ca: pki.ca, cert: hub2.cert, key: hub2.key, servername: 'localhost' })
      let answer = ''
      let timer: NodeJS.Timeout | undefined
      socket.on('data', (d: Buffer) => { answer += d.toString('latin1') })
      socket.on('error', () => {})
      socket.on('close', () => { clearInterval(timer); resolve({ ms: Date.now() - started, status: answer.split('\r\n')[0] ?? '' }) })
      socket.on('secureConnect', () => {
        const head = `POST /peer/v1/documents HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/xml\r\nidempotency-key: slow-${mode}\r\nlienthong-recipient: ${LOCAL}\r\nlienthong-hops: hub-2;${T}\r\ncontent-length: 100000\r\n\r\n`
        if (mode === 'body') socket.write(head)
        let i = 0
        timer = setInterval(() => {
          if (mode === 'headers') socket.write(head[i++ % head.length] as string)
          else socket.write('<')
          if (Date.now() - started > 20_000) { clearInterval(timer); socket.destroy(); reject(new Error(`slow ${mode}: still open after 20 s`)) }
        }, mode === 'headers' ? 100 : 600)
      })
    })
    const headers = await slow('headers')
    t.ok(headers.ms < 4000, `slow headers: closed after ${headers.ms} ms (headers timeout 1 s) with "${headers.status}"`)
    const body = await slow('body')
    t.ok(body.ms < 6000, `slow body: closed after ${body.ms} ms (request timeout 3 s) with "${body.status}"`)
    t.equal(await count('SELECT count(*) AS n FROM peer_arrivals WHERE idempotency_key LIKE \'slow-%\''), 0, 'nothing of the slow requests stored')
  })
})
