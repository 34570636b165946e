import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { signEdxml } from '../../src/signing/sign-document.js'
import { FIXTURES, PKI } from '../helpers/example-pki.js'
import { testHub } from '../helpers/hub.js'
import { testUser } from '../helpers/accounts.js'
import { SESSION_COOKIE } from '../../src/gateway/scopes/principal-authenticator.js'

// StaffInfo of a status message, end to end: a real signed document G22 -> H41, H41's signed
// status 03 with and without StaffInfo through POST /v1/documents, then the sender's timeline in
// the API and on the console page shows who at H41 acted (migration 024 stores it with the event).
const G22 = '000.00.00.G22'
const H41 = '000.00.00.H41'
const FIXTURE_DOCUMENT_ID = '000.00.00.G22,2026/11/20,1234/VPCP-KSTT'

const template = (name: string): string => readFileSync(join(FIXTURES, 'templates', name), 'utf8')
const pem = (...path: string[]): string => readFileSync(join(PKI, ...path), 'utf8')
const signAs = (code: string, xml: string): Buffer =>
  Buffer.from(signEdxml(xml, { privateKeyPem: pem('agencies', code, 'key.pem'), certificatePem: pem('agencies', code, 'cert.pem') + pem('agencies', code, 'chain.pem') }))

function g22Document (n: number): { bytes: Buffer, documentId: string } {
  const documentId = `${G22},2026/11/20,${n}/VPCP-KSTT`
  const xml = template('document-one-recipient.edxml')
    .replace(/(<edXML:To>\s*<edXML:OrganId>)[^<]+/, `$1${H41}`)
    .replace(FIXTURE_DOCUMENT_ID, documentId)
    .replace('<edXML:CodeNumber>1234<', `<edXML:CodeNumber>${n}<`)
  return { bytes: signAs(G22, xml), documentId }
}

function statusFromH41 (documentId: string, code: string, staffInfo: 'as-template' | 'none'): Buffer {
  let xml = template('status-03.edxml')
    .replace(/(<edXML:From>\s*<edXML:OrganId>)[^<]+/, `$1${H41}`)
    .replace(/(<edXML:TraceHeader>\s*<edXML:OrganId>)[^<]+/, `$1${H41}`)
    .replaceAll(FIXTURE_DOCUMENT_ID, documentId)
    .replace('<edXML:Code>1234/VPCP-KSTT<', `<edXML:Code>${documentId.split(',')[2] ?? ''}<`)
    .replace('<edXML:StatusCode>03<', `<edXML:StatusCode>${code}<`)
  if (staffInfo === 'none') xml = xml.replace(/<edXML:StaffInfo>[\s\S]*?<\/edXML:StaffInfo>\s*/, '')
  return signAs(H41, xml)
}

const submit = async (app: FastifyInstance, key: string, bytes: Buffer) =>
  await app.inject({ method: 'POST', url: '/v1/documents', headers: { 'content-type': 'application/xml', authorization: `Bearer ${key}` }, payload: bytes })

t.test('the timeline shows the staff of each status message', async (t) => {
  const { app, db, keys } = await testHub(t, { redisUrl: null })
  await db.query('UPDATE agencies SET delivery_mode = \'pull\', push_url = NULL WHERE code = ANY($1)', [[G22, H41]])
  const clerk = await testUser(db, 'clerk.g22', 'clerk', G22)
  const doc = g22Document(4242)
  const sent = await submit(app, keys[G22] as string, doc.bytes)
  t.equal(sent.statusCode, 202, sent.body)
  const id = sent.json<{ id: string }>().id
  const cases = [
    { code: '03', staffInfo: 'as-template' as const, staff: { department: 'Văn thư Bộ', staff: 'Trần Thị Bình', email: 'vanthu@example.mof.gov.vn', mobile: '84900000000' } },
    { code: '05', staffInfo: 'none' as const, staff: undefined }
  ]
  for (const c of cases) {
    const answered = await submit(app, keys[H41] as string, statusFromH41(doc.documentId, c.code, c.staffInfo))
    t.equal(answered.statusCode, 202, `status ${c.code} accepted`)
  }
  const timeline = await app.inject({ url: `/api/documents/${id}/timeline`, headers: { authorization: `Bearer ${clerk.token}` } })
  t.equal(timeline.statusCode, 200)
  const statuses = timeline.json<{ recipients: Array<{ events: Array<{ kind: string, statusCode?: string, staff?: unknown }> }> }>()
    .recipients[0]?.events.filter((e) => e.kind === 'status') ?? []
  t.same(statuses.map((e) => [e.statusCode, e.staff]), cases.map((c) => [c.code, c.staff]), 'API: each status with its StaffInfo, none where the message had none')
  const stored = await db.query<{ staff: unknown }>('SELECT staff FROM status_events WHERE document_id = $1 ORDER BY status_code', [id])
  t.same(stored.rows.map((r) => r.staff), [cases[0]?.staff, null], 'stored with the event when it was accepted')

  const login = await app.inject({ method: 'POST', url: '/api/session', payload: { username: 'clerk.g22', password: clerk.password } })
  const cookie = `${SESSION_COOKIE}=${/=([^;]*)/.exec(String(login.headers['set-cookie']))?.[1] ?? ''}`
  const page = await app.inject({ url: `/console/documents/${id}`, headers: { cookie } })
  t.equal(page.statusCode, 200)
  t.match(page.body, /<span class="staff">Trần Thị Bình \(Văn thư Bộ\) vanthu@example\.mof\.gov\.vn, 84900000000<\/span>/, 'console: the staff beside the status')
  t.equal(page.body.match(/class="staff"/g)?.length, 1, 'console: only where the message named someone')
})
