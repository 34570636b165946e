import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { signEdxml } from '../../src/signing/sign-document.js'
import { FIXTURES, PKI } from '../helpers/example-pki.js'
import { testHub } from '../helpers/hub.js'

// F14 (issue 9): answers that were 500s, and answers that disclosed more than they should:
// a malformed inbox cursor and a control character in a fail-ack reason gave 500; /health/ready
// without authentication showed absolute certificate paths; a status answer told a signing agency
// whether another agency sent a given document (403 vs 404); a recipient of a multi-recipient
// document saw the other recipients' deliveries, receipts and last errors. (/metrics closed by
// default on the API port: test/hub/demo-material.test.ts, on a real `serve`.)

const G22 = '000.00.00.G22'
const G12 = '000.00.00.G12'
const H41 = '000.00.00.H41'
const H29 = '000.00.00.H29'
const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, 'signatures', name))
const pem = (...path: string[]): string => readFileSync(join(PKI, ...path), 'utf8')

const post = async (app: FastifyInstance, key: string | undefined, body: Buffer) =>
  await app.inject({ method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/xml', authorization: `Bearer ${key ?? ''}` }, payload: body })

/** A status 03 from `from` answering G22's document `documentId` (the fixture template, re-signed). */
function statusFrom (from: string, documentId: string): Buffer {
  const template = readFileSync(join(FIXTURES, 'templates', 'status-03.edxml'), 'utf8')
  const xml = template.replaceAll('<edXML:OrganId>000.00.00.G12</edXML:OrganId>', `<edXML:OrganId>${from}</edXML:OrganId>`)
    .replace('<edXML:DocumentId>000.00.00.G22,2026/11/20,1234/VPCP-KSTT</edXML:DocumentId>', `<edXML:DocumentId>${documentId}</edXML:DocumentId>`)
  return Buffer.from(signEdxml(xml, { privateKeyPem: pem('agencies', from, 'key.pem'), certificatePem: pem('agencies', from, 'cert.pem') + pem('agencies', from, 'chain.pem') }))
}

t.test('a malformed inbox or receipt-feed cursor is 400 problem+json, never 500', async (t) => {
  const { app, keys } = await testHub(t, { redisUrl: null })
  const b64 = (text: string): string => Buffer.from(text).toString('base64url')
  const cursors = [
    'not a cursor!', '%00', b64('1|00000000-0000-0000-0000-000000000000'), b64('2026-01-01T00:00:00.000000Z|------------------------------------'),
    b64('2026-13-45T99:99:99.000000Z|00000000-0000-0000-0000-000000000000'), b64('2026-01-01\u0000|00000000-0000-0000-0000-000000000000'),
    b64('Tue, 01 Jan 2026 00:00:00 GMT|00000000-0000-0000-0000-000000000000'), b64('+275760-09-13|00000000-0000-0000-0000-000000000000'), 'x'.repeat(5000)
  ]
  for (const url of ['/v1/inbox', '/v1/receipts']) {
    for (const after of cursors) {
      const res = await app.inject({ url, query: { after }, headers: { authorization: `Bearer ${keys[G12]}` } })
      t.equal(res.statusCode, 400, `${url} after=${after.slice(0, 40)}`)
      t.equal(res.json().code, 'BAD_REQUEST')
      t.match(res.headers['content-type'], /application\/problem\+json/)
    }
  }
  const good = b64('2026-01-01T00:00:00.000000Z|00000000-0000-0000-0000-000000000000')
  t.equal((await app.inject({ url: '/v1/inbox', query: { after: good }, headers: { authorization: `Bearer ${keys[G12]}` } })).statusCode, 200, 'a well-formed cursor still works')
})

t.test('a control character in a fail-ack reason is 400 problem+json, never 500', async (t) => {
  const { app, keys } = await testHub(t, { redisUrl: null })
  const accepted = await post(app, keys[G22], fixture('valid/own-exc-rsa-sha256-one-recipient.edxml'))
  t.equal(accepted.statusCode, 202, accepted.body)
  const delivery = (accepted.json().recipients as Array<{ code: string, deliveryId: string }>).find((r) => r.code === G12)?.deliveryId as string
  for (const reason of ['bad\u0000byte', 'bell\u0007', 'esc\u001b[31m', 'del\u007f', 'c1\u0085', 'lone \ud800 surrogate', 'nonchar \uffff']) {
    const res = await app.inject({ method: 'POST', url: `/v1/inbox/${delivery}/ack`, headers: { authorization: `Bearer ${keys[G12]}` }, payload: { result: 'fail', reason } })
    t.equal(res.statusCode, 400, JSON.stringify(reason))
    t.equal(res.json().code, 'BAD_REQUEST')
  }
  const res = await app.inject({ method: 'POST', url: `/v1/inbox/${delivery}/ack`, headers: { authorization: `Bearer ${keys[G12]}` }, payload: { result: 'fail', reason: 'không đọc được tệp đính kèm\nline two\ttab' } })
  t.equal(res.statusCode, 200, 'a reason in plain text (Vietnamese, line breaks, tabs) is taken')
  t.equal(res.json().state, 'failed')
})

t.test('/health/ready shows each check\'s detail only to the operator token', async (t) => {
  const readiness = { trustStore: async () => ({ ok: true, detail: 'gateway TLS certificate /etc/lienthong/secret/tls-cert.pem expires 2031-01-01' }) }
  const open = await testHub(t, { redisUrl: null, readiness })
  const anonymous = await open.app.inject({ url: '/health/ready' })
  t.notMatch(anonymous.body, /\/etc\/lienthong|expires|"detail"/, 'no token configured: statuses only')
  t.equal(anonymous.json().checks.trustStore.status, 'ok')

  const guarded = await testHub(t, { redisUrl: null, readiness, metricsToken: 'operator-secret' })
  t.notMatch((await guarded.app.inject({ url: '/health/ready' })).body, /\/etc\/lienthong|"detail"/, 'without the token: statuses only')
  t.notMatch((await guarded.app.inject({ url: '/health/ready', headers: { authorization: `Bearer ${guarded.keys[G22]}` } })).body, /"detail"/, 'an agency key is not the operator token')
  const operator = await guarded.app.inject({ url: '/health/ready', headers: { authorization: 'Bearer operator-secret' } })
  t.match(operator.json().checks.trustStore.detail, /tls-cert\.pem/, 'the operator sees the detail')
})

t.test('a status answer does not tell whether another agency sent a given document (403 vs 404)', async (t) => {
  const { app, keys } = await testHub(t, { redisUrl: null })
  // G22 sends a document to G12 only.
  t.equal((await post(app, keys[G22], fixture('valid/own-exc-rsa-sha256-one-recipient.edxml'))).statusCode, 202)
  // H29 answers it (it is no recipient), and answers a document G22 never sent.
  const existing = await post(app, keys[H29], statusFrom(H29, '000.00.00.G22,2026/11/20,1234/VPCP-KSTT'))
  const unknown = await post(app, keys[H29], statusFrom(H29, '000.00.00.G22,2026/11/20,9999/VPCP-KSTT'))
  t.equal(existing.statusCode, 404, 'not a recipient of an existing document: 404')
  t.equal(unknown.statusCode, 404, 'an unknown document: 404')
  const strip = (body: Record<string, unknown>): Record<string, unknown> => ({ ...body, signatureLogEntry: 0, requestId: '' })
  t.same(strip(existing.json()), strip(unknown.json()), 'the same answer, word for word')
  t.equal(existing.json().code, 'DOCUMENT_UNKNOWN')
})

t.test('a recipient of a multi-recipient document sees only its own delivery', async (t) => {
  const { app, db, keys } = await testHub(t, { redisUrl: null })
  const accepted = await post(app, keys[G22], fixture('valid/own-c14n-rsa-sha512-many-recipients.edxml'))
  t.equal(accepted.statusCode, 202, accepted.body)
  const id = accepted.json().id as string
  const deliveries = Object.fromEntries((accepted.json().recipients as Array<{ code: string, deliveryId: string }>).map((r) => [r.code, r.deliveryId]))
  // H41 reports a failure with a reason; H29's push failed with an error of its own.
  const failed = await app.inject({ method: 'POST', url: `/v1/inbox/${deliveries[H41]}/ack`, headers: { authorization: `Bearer ${keys[H41]}` }, payload: { result: 'fail', reason: 'H41 internal trouble' } })
  t.equal(failed.statusCode, 200, failed.body)
  await db.query('UPDATE deliveries SET last_error = $2, attempts = 3 WHERE id = $1', [deliveries[H29], 'connect ECONNREFUSED 10.1.2.3:443 (H29 internal host)'])
  t.equal((await app.inject({ method: 'POST', url: `/v1/inbox/${deliveries[G12]}/ack`, headers: { authorization: `Bearer ${keys[G12]}` }, payload: { result: 'done' } })).statusCode, 200)

  const view = async (agency: string): Promise<Record<string, any>> => (await app.inject({ url: `/v1/documents/${id}`, headers: { authorization: `Bearer ${keys[agency]}` } })).json()
  const asG12 = await view(G12)
  t.same(asG12.deliveries.map((d: { recipient: string }) => d.recipient), [G12], 'G12 sees its own delivery only')
  t.notMatch(JSON.stringify(asG12), /H41 internal trouble|ECONNREFUSED|10\.1\.2\.3/, 'nothing of the others\' errors')
  t.ok(asG12.receipts.every((r: { deliveryId: string | null }) => r.deliveryId == null || r.deliveryId === deliveries[G12]), 'receipts: the acceptance and its own')
  t.ok(asG12.receipts.some((r: { kind: string }) => r.kind === 'delivery'), 'its own delivery receipt is there')
  t.ok(asG12.recipientReceipts.every((r: { recipient: string }) => r.recipient === G12))
  t.ok(asG12.statusEvents.every((e: { recipient: string }) => e.recipient === G12))
  const asH41 = await view(H41)
  t.same(asH41.deliveries.map((d: { recipient: string, state: string }) => [d.recipient, d.state]), [[H41, 'failed']])
  t.ok(asH41.receipts.every((r: { kind: string }) => r.kind !== 'delivery'), 'H41 does not see G12\'s delivery receipt')
  // The receipt endpoint: H41 gets no delivery receipt (G12's is not its own); G12 and the sender do.
  const receipt = async (agency: string, kind: string): Promise<number> => (await app.inject({ url: `/v1/documents/${id}/receipts/${kind}`, headers: { authorization: `Bearer ${keys[agency]}` } })).statusCode
  t.equal(await receipt(H41, 'delivery'), 404)
  t.equal(await receipt(G12, 'failure'), 404, 'G12 does not see H41\'s failure notice')
  t.equal(await receipt(G12, 'delivery'), 200)
  t.equal(await receipt(H41, 'failure'), 200)
  t.equal(await receipt(G22, 'delivery'), 200)
  t.equal(await receipt(H41, 'acceptance'), 200)
  // The sender sees everything.
  const asSender = await view(G22)
  t.equal(asSender.deliveries.length, 3)
  t.match(JSON.stringify(asSender), /ECONNREFUSED/)
})
