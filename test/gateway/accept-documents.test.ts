import t from 'tap'
import { verifySignatureLogChain } from '../../src/evidence/signature-log-chain.js'
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { verifyReceipt, hubPinOf } from '../../src/evidence/receipts.js'
import { TrustStore } from '../../src/pki/trust-store.js'
import { FIXTURES, PKI } from '../helpers/example-pki.js'
import { exampleHubIdentity, testHub } from '../helpers/hub.js'
import { signedDocumentOfSize } from '../helpers/ops-fixtures.js'
import { LARGE_RAW_BYTES } from '../../src/store/documents.js'

const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, 'signatures', name))
const G22 = '000.00.00.G22'
const G12 = '000.00.00.G12'
const H41 = '000.00.00.H41'

const post = (app: import('fastify').FastifyInstance, key: string | undefined, body: Buffer, contentType = 'application/xml') =>
  app.inject({ method: 'POST', url: '/v1/documents', headers: { 'content-type': contentType, ...(key != null ? { authorization: `Bearer ${key}` } : {}) }, payload: body })

t.test('accepted document: stored, deliveries queued in BullMQ, signed receipt, log entry', async (t) => {
  const { app, db, queue, keys } = await testHub(t)
  const bytes = fixture('valid/own-c14n-rsa-sha512-many-recipients.edxml')
  const res = await post(app, keys[G22], bytes)
  t.equal(res.statusCode, 202, res.statusCode === 202 ? 'accepted' : res.body)
  const body = res.json()
  t.equal(res.headers.location, `/v1/documents/${body.id}`)
  t.equal(body.kind, 'document')
  t.equal(body.duplicate, false)
  t.same(body.recipients.map((r: { code: string }) => r.code).sort(), [G12, '000.00.00.H29', H41].sort())

  const { rows: docs } = await db.query<{ sender_code: string, digest_sha256: string, raw: Uint8Array }>('SELECT sender_code, digest_sha256, raw FROM documents WHERE id = $1', [body.id])
  t.equal(docs[0]?.sender_code, G22)
  t.ok(Buffer.from(docs[0]!.raw).equals(bytes), 'the exact bytes are stored')
  const { rows: deliveries } = await db.query<{ id: string, state: string, enqueued: boolean, mode: string, recipient_code: string }>('SELECT id, state, enqueued, mode, recipient_code FROM deliveries WHERE document_id = $1 ORDER BY recipient_code', [body.id])
  t.equal(deliveries.length, 3)
  t.same(deliveries.map((d) => d.mode), ['pull', 'push', 'pull'], 'delivery mode from the registry')
  for (const d of deliveries) {
    t.equal(d.enqueued, true)
    const job = await queue!.queue.getJob(d.id)
    if (d.mode === 'push') {
      t.equal(d.state, 'queued', 'a push delivery waits for a worker')
      t.same(job?.data, { deliveryId: d.id, recipient: d.recipient_code }, `job ${d.recipient_code} holds only the delivery id and the recipient code (no bytes, no secrets)`)
    } else {
      t.equal(d.state, 'available', 'a pull delivery is in the inbox at once')
      t.equal(job, undefined, 'nothing to queue for a pull delivery')
    }
  }

  const { rows: log } = await db.query<{ id: number, verdict: string, hub_document_id: string, cert_fingerprint: string, authenticated_agency: string }>('SELECT id, verdict, hub_document_id, cert_fingerprint, authenticated_agency FROM signature_log')
  t.equal(log.length, 1)
  t.equal(log[0]?.verdict, 'accepted')
  t.equal(log[0]?.hub_document_id, body.id)
  t.equal(log[0]?.authenticated_agency, G22)
  t.equal(body.signatureLogEntry, log[0]?.id)

  // The receipt verifies offline: with our verifier (pinned to the hub) and with xmlsec1.
  const check = await verifyReceipt(body.receipt, await TrustStore.load(join(PKI, 'trust')), { hub: hubPinOf((await exampleHubIdentity()).certificate) })
  t.equal(check.ok, true, check.ok ? 'receipt verifies' : JSON.stringify(check))
  if (check.ok) {
    t.equal(check.fields.kind, 'acceptance')
    t.equal((check.fields as { hubDocumentId?: string }).hubDocumentId, body.id)
  }
  const file = join(t.testdir(), 'receipt.xml')
  writeFileSync(file, body.receipt)
  t.doesNotThrow(() => execFileSync('xmlsec1', ['--verify', '--enabled-key-data', 'x509', '--trusted-pem', join(PKI, 'trust', 'root-ca.pem'),
    '--untrusted-pem', join(PKI, 'trust', 'issuing-ca.pem'), file], { stdio: 'pipe' }), 'xmlsec1 verifies the acceptance receipt')

  const receipt = await app.inject({ url: `/v1/documents/${body.id}/receipts/acceptance`, headers: { authorization: `Bearer ${keys[G22]}` } })
  t.equal(receipt.statusCode, 200)
  t.equal(receipt.body, body.receipt)
  t.match(receipt.headers['content-type'], /application\/xml/)
})

t.test('octet-stream bodies are accepted too; duplicates get the original answer', async (t) => {
  const { app, db, keys } = await testHub(t)
  const bytes = fixture('valid/own-exc-rsa-sha256-one-recipient.edxml')
  const first = await post(app, keys[G22], bytes, 'application/octet-stream')
  t.equal(first.statusCode, 202, 'accepted')
  const again = await post(app, keys[G22], bytes)
  t.equal(again.statusCode, 200)
  t.equal(again.json().id, first.json().id)
  t.equal(again.json().receipt, first.json().receipt)
  t.equal(again.json().duplicate, true)
  // Same sender + DocumentId, different bytes (signed again with xmlsec1): still a duplicate.
  const resigned = await post(app, keys[G22], fixture('valid/xmlsec1-exc-rsa-sha256-one-recipient.edxml'))
  t.equal(resigned.statusCode, 200)
  t.equal(resigned.json().id, first.json().id)
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM documents')
  t.equal(rows[0]?.n, 1, 'no second copy')
  const { rows: log } = await db.query<{ verdict: string }>('SELECT verdict FROM signature_log ORDER BY id')
  t.same(log.map((r) => r.verdict), ['accepted', 'duplicate', 'duplicate'], 'every attempt is logged')
})

const REJECTIONS: { name: string, file: string, key: string | null, status: number, code: string }[] = [
  { name: 'tampered content', file: 'invalid/DIGEST_MISMATCH.tampered-subject-in-header.edxml', key: G22, status: 422, code: 'DIGEST_MISMATCH' },
  { name: 'unsigned', file: 'invalid/SIGNATURE_MISSING.unsigned.edxml', key: G22, status: 422, code: 'SIGNATURE_MISSING' },
  { name: 'DTD', file: 'invalid/XML_DTD_FORBIDDEN.billion-laughs.edxml', key: G22, status: 400, code: 'XML_DTD_FORBIDDEN' },
  { name: 'revoked certificate', file: 'invalid/CERT_REVOKED.revoked-certificate.edxml', key: H41, status: 422, code: 'CERT_REVOKED' },
  { name: 'wrong agency certificate', file: 'invalid/SENDER_MISMATCH.signed-with-another-agency-certificate.edxml', key: G22, status: 403, code: 'SENDER_MISMATCH' },
  { name: 'credential of B submitting as A', file: 'valid/own-exc-rsa-sha256-one-recipient.edxml', key: G12, status: 403, code: 'SENDER_MISMATCH' },
  { name: 'schema', file: 'invalid/SCHEMA_INVALID.non-edxml-root.edxml', key: G22, status: 422, code: 'SCHEMA_INVALID' }
]

t.test('rejections: status, stable code, problem+json, and a committed log entry', async (t) => {
  const { app, db, keys } = await testHub(t)
  for (const c of REJECTIONS) {
    const res = await post(app, c.key != null ? keys[c.key] : undefined, fixture(c.file))
    t.equal(res.statusCode, c.status, `${c.name}: status`)
    t.match(res.headers['content-type'], /application\/problem\+json/, `${c.name}: problem+json`)
    const problem = res.json()
    t.equal(problem.code, c.code, `${c.name}: code`)
    t.type(problem.detail, 'string')
    t.equal(problem.status, c.status)
    const { rows } = await db.query<{ verdict: string, reason_code: string }>('SELECT verdict, reason_code FROM signature_log WHERE id = $1', [problem.signatureLogEntry])
    t.same(rows[0], { verdict: 'rejected', reason_code: c.code }, `${c.name}: logged`)
  }
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM documents')
  t.equal(rows[0]?.n, 0, 'nothing stored')
})

t.test('authentication: missing, malformed, unknown keys are 401 and nothing is verified', async (t) => {
  const { app, db } = await testHub(t, { redisUrl: null })
  const bytes = fixture('valid/own-exc-rsa-sha256-one-recipient.edxml')
  for (const authorization of [undefined, 'Basic abc', 'Bearer lt_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'Bearer nonsense']) {
    const res = await app.inject({ method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/xml', ...(authorization != null ? { authorization } : {}) }, payload: bytes })
    t.equal(res.statusCode, 401, String(authorization))
    t.equal(res.json().code, 'UNAUTHENTICATED')
  }
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM signature_log')
  t.equal(rows[0]?.n, 0)
})

t.test('read endpoints: sender and recipients only; raw bytes as stored', async (t) => {
  const { app, keys } = await testHub(t, { redisUrl: null })
  const bytes = fixture('valid/own-exc-rsa-sha256-one-recipient.edxml')
  const id = (await post(app, keys[G22], bytes)).json().id as string
  const get = (url: string, agency: string) => app.inject({ url, headers: { authorization: `Bearer ${keys[agency]}` } })
  const asSender = await get(`/v1/documents/${id}`, G22)
  t.equal(asSender.statusCode, 200)
  t.equal(asSender.json().sender, G22)
  t.same(asSender.json().deliveries.map((d: { recipient: string, state: string }) => [d.recipient, d.state]), [[G12, 'available']])
  t.equal((await get(`/v1/documents/${id}`, G12)).statusCode, 200, 'the recipient may read')
  const stranger = await get(`/v1/documents/${id}`, H41)
  t.equal(stranger.statusCode, 404, 'another agency cannot read it')
  t.equal(stranger.json().code, 'NOT_FOUND')
  t.equal((await get(`/v1/documents/${id}/raw`, H41)).statusCode, 404)
  const raw = await get(`/v1/documents/${id}/raw`, G12)
  t.equal(raw.statusCode, 200)
  t.ok(raw.rawPayload.equals(bytes), 'raw bytes unchanged')
  t.equal((await get(`/v1/documents/${id}/receipts/delivery`, G22)).statusCode, 404, 'no delivery receipt yet')
  t.equal((await get('/v1/documents/not-a-uuid', G22)).statusCode, 400)
})

t.test('status message is recorded against the document it answers and routed to its sender', async (t) => {
  const { app, db, keys } = await testHub(t, { redisUrl: null })
  const orphan = await post(app, keys[G12], fixture('valid/own-status-03-from-recipient.edxml'))
  t.equal(orphan.statusCode, 404, 'unknown answered document')
  t.equal(orphan.json().code, 'DOCUMENT_UNKNOWN')
  const docId = (await post(app, keys[G22], fixture('valid/own-exc-rsa-sha256-one-recipient.edxml'))).json().id as string
  const status = await post(app, keys[G12], fixture('valid/own-status-03-from-recipient.edxml'))
  t.equal(status.statusCode, 202, status.statusCode === 202 ? 'accepted' : status.body)
  t.equal(status.json().kind, 'status')
  t.same(status.json().recipients.map((r: { code: string }) => r.code), [G22], 'routed back to the sender')
  const view = (await app.inject({ url: `/v1/documents/${docId}`, headers: { authorization: `Bearer ${keys[G22]}` } })).json()
  t.equal(view.statusEvents.length, 1)
  t.equal(view.statusEvents[0].statusCode, '03')
  t.equal(view.statusEvents[0].recipient, G12)
  const { rows } = await db.query<{ response_for_document_id: string }>('SELECT response_for_document_id FROM documents WHERE id = $1', [status.json().id])
  t.equal(rows[0]?.response_for_document_id, docId)
})

t.test('size cap: 413 from Content-Length before the body is read, and a signature-log entry', async (t) => {
  const { app, keys, db } = await testHub(t, { redisUrl: null, maxBytes: 4096 })
  const bytes = fixture('valid/own-exc-rsa-sha256-one-recipient.edxml')
  const res = await post(app, keys[G22], bytes)
  t.equal(res.statusCode, 413)
  const problem = res.json<{ code: string, signatureLogEntry: number }>()
  t.equal(problem.code, 'PAYLOAD_TOO_LARGE')
  const { rows } = await db.query<Record<string, unknown>>(
    'SELECT verdict, reason_code, digest_sha256, size_bytes, authenticated_agency, flags FROM signature_log WHERE id = $1', [problem.signatureLogEntry])
  t.same(rows[0], { verdict: 'rejected', reason_code: 'PAYLOAD_TOO_LARGE', digest_sha256: '', size_bytes: bytes.length, authenticated_agency: G22, flags: ['body-not-read'] },
    'logged with the declared size, no digest (never read)')
  // Without a valid credential it is not an attempt: 401 (test/gateway/unauthenticated-evidence.test.ts).
  t.equal((await post(app, 'lt_nope_nope', bytes)).statusCode, 401)
  t.equal((await verifySignatureLogChain(db)).ok, true, 'the chain holds')
})

t.test('a large document (sent to PostgreSQL by COPY) is stored byte for byte', async (t) => {
  const { app, keys, db } = await testHub(t, { redisUrl: null })
  const bytes = signedDocumentOfSize(LARGE_RAW_BYTES + 300_000)
  const res = await post(app, keys[G22], bytes)
  t.equal(res.statusCode, 202, res.statusCode === 202 ? 'accepted' : res.body)
  const { rows } = await db.query<{ raw: Uint8Array, size_bytes: number }>('SELECT raw, size_bytes FROM documents WHERE id = $1', [res.json<{ id: string }>().id])
  t.equal(Number(rows[0]?.size_bytes), bytes.length)
  t.ok(Buffer.from(rows[0]!.raw).equals(bytes), `the exact ${bytes.length} bytes are stored`)
})

t.test('unsupported media type is 415 with a code', async (t) => {
  const { app, keys } = await testHub(t, { redisUrl: null })
  const res = await app.inject({ method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/json', authorization: `Bearer ${keys[G22]}` }, payload: '{}' })
  t.equal(res.statusCode, 415)
  t.equal(res.json().code, 'UNSUPPORTED_MEDIA_TYPE')
})

t.test('OpenAPI document is generated from the route schemas', async (t) => {
  const { app } = await testHub(t, { redisUrl: null })
  const spec = (await app.inject({ url: '/openapi.json' })).json()
  t.ok(spec.paths['/v1/documents'].post.responses['202'], 'accept response documented')
  t.ok(spec.paths['/v1/documents'].post.responses['422'], 'rejection documented')
  t.ok(spec.paths['/v1/documents/{id}'].get, 'read endpoint documented')
})

t.test('an update document (BussinessDocType 2) is routed like a new one and linked to the document it changes', async (t) => {
  const { signEdxml } = await import('../../src/signing/sign-document.js')
  const { app, keys } = await testHub(t, { redisUrl: null })
  const original = (await post(app, keys[G22], fixture('valid/own-exc-rsa-sha256-one-recipient.edxml'))).json().id as string
  const template = readFileSync(join(FIXTURES, 'templates', 'document-one-recipient.edxml'), 'utf8')
  const update = template
    .replace('<edXML:DocumentId>000.00.00.G22,2026/11/20,1234/VPCP-KSTT</edXML:DocumentId>', '<edXML:DocumentId>000.00.00.G22,2026/11/21,1240/VPCP-KSTT</edXML:DocumentId>')
    .replace('<edXML:BussinessDocType>0</edXML:BussinessDocType>', '<edXML:DocumentId>000.00.00.G22,2026/11/20,1234/VPCP-KSTT</edXML:DocumentId>\n          <edXML:BussinessDocType>2</edXML:BussinessDocType>')
  t.not(update, template)
  const signed = signEdxml(update, {
    privateKeyPem: readFileSync(join(PKI, 'agencies', G22, 'key.pem'), 'utf8'),
    certificatePem: readFileSync(join(PKI, 'agencies', G22, 'cert.pem'), 'utf8') + readFileSync(join(PKI, 'agencies', G22, 'chain.pem'), 'utf8')
  })
  const res = await post(app, keys[G22], Buffer.from(signed))
  t.equal(res.statusCode, 202)
  const view = (await app.inject({ url: `/v1/documents/${res.json().id}`, headers: { authorization: `Bearer ${keys[G22]}` } })).json()
  t.equal(view.businessDocType, '2')
  t.equal(view.changesDocumentId, original, 'linked to the document it updates')
  t.same(view.deliveries.map((d: { recipient: string }) => d.recipient), [G12], 'routed to its recipients')
})
