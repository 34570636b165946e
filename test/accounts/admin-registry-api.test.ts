import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { TrustStore } from '../../src/pki/trust-store.js'
import { PKI } from '../helpers/example-pki.js'
import { testHub } from '../helpers/hub.js'
import { testUser } from '../helpers/accounts.js'

// The admin API over the registry held in the database: what it refuses (problem+json, nothing
// written, no audit entry), what it stores, the audit entry of each change, CSRF for sessions.
// Propagation to verification is test/registry/registry-propagation.test.ts.

const NEW = '000.00.00.X77'
const pem = (...path: string[]): string => readFileSync(join(PKI, ...path), 'utf8')
const LEAF = pem('special', 'untrusted', 'cert.pem')
const ROOT = pem('special', 'untrusted', 'root-ca.pem')

t.test('creating an agency: refusals write nothing, success is audited with the row', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const admin = await testUser(hub.db, 'admin', 'admin')
  const post = async (body: unknown): Promise<{ statusCode: number, json: () => any }> => await hub.app.inject({ method: 'POST', url: '/api/admin/agencies', headers: { authorization: `Bearer ${admin.token}` }, payload: body as Record<string, unknown> })
  const base = { code: NEW, name: 'Sở Thử nghiệm', delivery: { mode: 'pull' } }
  const refusals: Array<[string, unknown, number, RegExp]> = [
    ['a code that is no agency code', { ...base, code: 'x y' }, 400, /code/],
    ['an unknown field', { ...base, colour: 'red' }, 400, /./],
    ['a plain-http push endpoint', { ...base, delivery: { mode: 'push', url: 'http://dms.example/edxml', serverCertificates: ['ab'.repeat(32)] } }, 400, /http/],
    ['a push endpoint without a pin', { ...base, delivery: { mode: 'push', url: 'https://dms.example/edxml' } }, 400, /pin|server/i],
    ['an unknown subject attribute', { ...base, subjectRule: { colour: 'red' } }, 400, /unknown subject attribute/],
    ['a CA certificate as signing certificate', { ...base, signingCertificates: [{ pem: ROOT }] }, 400, /CA certificate/],
    ['an expired signing certificate', { ...base, signingCertificates: [{ pem: pem('special', 'expired', 'cert.pem') }] }, 400, /expired/],
    ['not a certificate', { ...base, signingCertificates: [{ pem: 'hello' }] }, 400, /PEM CERTIFICATE/],
    ['one certificate twice (refused inside the transaction)', { ...base, signingCertificates: [{ pem: LEAF }, { pem: LEAF }] }, 400, /twice/],
    ['an existing code', { ...base, code: '000.00.00.H41' }, 409, /already exists/],
    ['a look-alike of an existing code', { ...base, code: '000.00.00.h41' }, 409, /already exists/]
  ]
  for (const [name, body, status, detail] of refusals) {
    const res = await post(body)
    t.match([res.statusCode, res.json()], [status, { code: status === 409 ? 'CONFLICT' : 'BAD_REQUEST', detail }], name)
  }
  const { rows } = await hub.db.query("SELECT 1 FROM agencies WHERE code = $1 UNION ALL SELECT 1 FROM admin_audit WHERE action = 'agency.create'", [NEW])
  t.equal(rows.length, 0, 'no row, no audit entry after the refusals')

  const created = await post({ ...base, subjectRule: { O: 'Sở Thử nghiệm' }, signingCertificates: [{ pem: LEAF, label: 'văn thư' }] })
  t.equal(created.statusCode, 201)
  t.match(created.json(), { code: NEW, managedBy: 'admin', deliveryMode: 'pull', subjectRule: { O: 'Sở Thử nghiệm' }, signingCertificates: [{ fingerprint: '76f9cfb0f1ab8ab04ba2ea64c5c6bef6b2e3e3b78eba7181c0f095fac5cf95af', label: 'văn thư', revokedAt: null }], credentials: [] })
  const audit = await hub.db.query<{ action: string, actor: string, after: { code: string, certificates: string[] } }>("SELECT action, actor, after FROM admin_audit WHERE action = 'agency.create'")
  t.match(audit.rows, [{ actor: 'admin', after: { code: NEW, certificates: ['76f9cfb0f1ab8ab04ba2ea64c5c6bef6b2e3e3b78eba7181c0f095fac5cf95af'] } }])
})

t.test('updating an agency, its signing certificates: an agency of the file becomes admin-managed', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const admin = await testUser(hub.db, 'admin', 'admin')
  const as = { authorization: `Bearer ${admin.token}` }
  const G12 = '000.00.00.G12'
  t.match((await hub.app.inject({ url: `/api/admin/agencies/${G12}`, headers: as })).json(), { managedBy: 'file', deliveryMode: 'pull' })
  const pin = 'AB:'.repeat(31) + 'AB'
  const patched = await hub.app.inject({ method: 'PATCH', url: `/api/admin/agencies/${G12}`, headers: as, payload: { name: 'Bộ Tài chính (mới)', delivery: { mode: 'push', url: 'https://dms.mof.example/edxml', serverCertificates: [pin] } } })
  t.equal(patched.statusCode, 200)
  t.match(patched.json(), { name: 'Bộ Tài chính (mới)', managedBy: 'admin', deliveryMode: 'push', pushUrl: 'https://dms.mof.example/edxml', delivery: { serverCertificates: ['ab'.repeat(32)] } })
  const row = await hub.db.query('SELECT push_url, push_server_certificates FROM agencies WHERE code = $1', [G12])
  t.same(row.rows, [{ push_url: 'https://dms.mof.example/edxml', push_server_certificates: ['ab'.repeat(32)] }], 'the delivery worker reads the new endpoint and pin')
  t.equal((await hub.app.inject({ method: 'PATCH', url: '/api/admin/agencies/000.99.99.X99', headers: as, payload: { name: 'x' } })).statusCode, 404)
  t.equal((await hub.app.inject({ method: 'PATCH', url: `/api/admin/agencies/${G12}`, headers: as, payload: {} })).statusCode, 400, 'an empty change')

  const add = async (): Promise<{ statusCode: number, json: () => any }> => await hub.app.inject({ method: 'POST', url: `/api/admin/agencies/${G12}/signing-certificates`, headers: as, payload: { pem: LEAF, label: 'token 2' } })
  const added = await add()
  t.match([added.statusCode, added.json()], [201, { agencyCode: G12, fingerprint: '76f9cfb0f1ab8ab04ba2ea64c5c6bef6b2e3e3b78eba7181c0f095fac5cf95af', notAfter: /^2031-/ }])
  t.equal((await add()).statusCode, 409, 'the same certificate twice')
  const revoke = async (fp: string): Promise<number> => (await hub.app.inject({ method: 'DELETE', url: `/api/admin/agencies/${G12}/signing-certificates/${fp}`, headers: as })).statusCode
  t.equal(await revoke('76:F9:CF:B0:F1:AB:8A:B0:4B:A2:EA:64:C5:C6:BE:F6:B2:E3:E3:B7:8E:BA:71:81:C0:F0:95:FA:C5:CF:95:AF'), 200, 'with colons, upper case')
  t.equal(await revoke('76f9cfb0f1ab8ab04ba2ea64c5c6bef6b2e3e3b78eba7181c0f095fac5cf95af'), 404, 'no live one left')
  t.match([(await add()).statusCode, (await add()).json()], [409, { detail: /revoked/ }], 'a revoked certificate does not come back')
  const listed = (await hub.app.inject({ url: '/api/admin/agencies', headers: as })).json<{ agencies: Array<{ code: string, signingCertificates: Array<{ fingerprint: string, revokedAt: string | null }> }> }>().agencies
  const g12 = listed.find((a) => a.code === G12)
  t.match(g12?.signingCertificates.find((c) => c.fingerprint.startsWith('76f9')), { revokedAt: /^20/ }, 'the listing shows the revoked one with its date')
  const actions = (await hub.db.query<{ action: string }>("SELECT action FROM admin_audit WHERE target = 'agency:000.00.00.G12' ORDER BY id")).rows.map((r) => r.action)
  t.same(actions, ['agency.update', 'agency.signing_cert_add', 'agency.signing_cert_revoke'])
})

t.test('trust CAs: a CA, current, issued by a trusted CA unless self-signed; listed with their source', async (t) => {
  const store = await TrustStore.load(join(PKI, 'trust'))
  const hub = await testHub(t, { redisUrl: null, trustStore: () => store })
  const admin = await testUser(hub.db, 'admin', 'admin')
  const post = async (body: string): Promise<{ statusCode: number, json: () => any }> => await hub.app.inject({ method: 'POST', url: '/api/admin/trust/cas', headers: { authorization: `Bearer ${admin.token}` }, payload: { pem: body } })
  const refusals: Array<[string, string, number, RegExp]> = [
    ['a leaf', LEAF, 400, /not a CA certificate/],
    ['two certificates', ROOT + ROOT, 400, /exactly one/],
    ['a CA the directory holds', pem('trust', 'issuing-ca.pem'), 409, /already in the trust store/]
  ]
  for (const [name, body, status, detail] of refusals) {
    const res = await post(body)
    t.match([res.statusCode, res.json()], [status, { detail }], name)
  }
  const added = await post(ROOT)
  t.match([added.statusCode, added.json()], [201, { kind: 'anchor', subject: /Untrusted Example Root/, fingerprintSha256: 'f37d218c4782864bb6a4c839e52b92d444767e84436a66c204bfdb15aeb068af', issuer: null }])
  t.equal((await post(ROOT)).statusCode, 409, 'twice')
  const { rows } = await hub.db.query<{ kind: string, added_by: string }>('SELECT kind, added_by FROM trust_cas')
  t.same(rows, [{ kind: 'anchor', added_by: 'admin' }])
  const audit = await hub.db.query("SELECT 1 FROM admin_audit WHERE action = 'trust.anchor_add' AND target = 'ca:f37d218c4782864bb6a4c839e52b92d444767e84436a66c204bfdb15aeb068af'")
  t.equal(audit.rows.length, 1)
})

t.test('an intermediate CA is added under the anchor that issued it, refused without one', async (t) => {
  const only = async (file: string): Promise<TrustStore> => {
    const dir = t.testdir({ 'ca.pem': pem(...file.split('/')) })
    return await TrustStore.load(dir)
  }
  const cases: Array<[string, string, number, Record<string, unknown>]> = [
    ['the example root trusted: its issuing CA is an intermediate', 'trust/root-ca.pem', 201, { kind: 'intermediate', issuer: /Root/ }],
    ['only an unrelated root trusted: refused', 'special/untrusted/root-ca.pem', 400, { detail: /no CA of the trust store issued it/ }]
  ]
  for (const [name, anchor, status, answer] of cases) {
    const store = await only(anchor)
    const hub = await testHub(t, { redisUrl: null, trustStore: () => store })
    const admin = await testUser(hub.db, 'admin', 'admin')
    const res = await hub.app.inject({ method: 'POST', url: '/api/admin/trust/cas', headers: { authorization: `Bearer ${admin.token}` }, payload: { pem: pem('trust', 'issuing-ca.pem') } })
    t.match([res.statusCode, res.json()], [status, answer], name)
  }
})

t.test('a cookie session needs the CSRF token for every change', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const admin = await testUser(hub.db, 'admin', 'admin')
  const login = await hub.app.inject({ method: 'POST', url: '/api/session', payload: { username: 'admin', password: admin.password } })
  const cookie = /lienthong_session=[^;]+/.exec(String(login.headers['set-cookie']))?.[0] ?? /^[^;]+/.exec(String(login.headers['set-cookie']))?.[0] as string
  const csrf = login.json<{ csrfToken: string }>().csrfToken
  const body = { code: NEW, name: 'Sở Thử nghiệm', delivery: { mode: 'pull' } }
  const without = await hub.app.inject({ method: 'POST', url: '/api/admin/agencies', headers: { cookie }, payload: body })
  t.match([without.statusCode, without.json()], [403, { csrf: true }])
  t.equal((await hub.db.query('SELECT 1 FROM agencies WHERE code = $1', [NEW])).rows.length, 0)
  const withToken = await hub.app.inject({ method: 'POST', url: '/api/admin/agencies', headers: { cookie, 'x-csrf-token': csrf }, payload: body })
  t.equal(withToken.statusCode, 201)
})
