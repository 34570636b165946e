/**
 * Outsider attacks on the admin, tracking and signature-log APIs and the console, over HTTP
 * against a real gateway on PostgreSQL: input that the schemas let through but PostgreSQL cannot
 * take. Each case is an attack; the assertion is the answer the hub must give (a stable
 * problem+json code, never 500 INTERNAL, nothing written).
 */
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { testHub } from '../helpers/hub.js'
import { testUser, type TestUser } from '../helpers/accounts.js'
import { SESSION_COOKIE } from '../../src/gateway/scopes/principal-authenticator.js'

const H41 = '000.00.00.H41'
type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'
interface Attack { name: string, who: 'admin' | 'clerk' | 'auditor' | 'console-clerk' | 'nobody', method: Method, url: string, payload?: Record<string, unknown> }

async function sessionCookie (app: FastifyInstance, user: TestUser): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/api/session', payload: { username: user.user.username, password: user.password } })
  const match = new RegExp(`^${SESSION_COOKIE}=([^;]*)`).exec(String(res.headers['set-cookie']))
  return `${SESSION_COOKIE}=${match?.[1] ?? ''}`
}

async function tableCounts (app: { db: { query: <T>(sql: string) => Promise<{ rows: T[] }> } }): Promise<Record<string, number>> {
  const { rows } = await app.db.query<Record<string, number>>(`SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM user_tokens) AS tokens,
    (SELECT count(*)::int FROM agencies) AS agencies, (SELECT count(*)::int FROM admin_audit) AS audit`)
  return rows[0] as Record<string, number>
}

t.test('text with a NUL character: 400 BAD_REQUEST on every people route, never 500, nothing written', async (t) => {
  // Found (X1): PostgreSQL text cannot hold U+0000; every filter, name and label below reached a
  // query and the hub answered 500 INTERNAL (the sign-in one without any credential).
  const hub = await testHub(t, { redisUrl: null })
  const users = {
    admin: await testUser(hub.db, 'admin', 'admin'),
    clerk: await testUser(hub.db, 'clerk.h41', 'clerk', H41),
    auditor: await testUser(hub.db, 'auditor', 'auditor')
  }
  const consoleCookie = await sessionCookie(hub.app, users.clerk)
  const clerkId = users.clerk.user.id
  const attacks: Attack[] = [
    { name: 'sign-in user name', who: 'nobody', method: 'POST', url: '/api/session', payload: { username: 'admin\u0000', password: 'whatever it is' } },
    { name: 'signature-log agency filter', who: 'auditor', method: 'GET', url: '/api/signature-log?agency=a%00b' },
    { name: 'signature-log issuer filter', who: 'auditor', method: 'GET', url: '/api/signature-log?certIssuer=a%00b' },
    { name: 'signature-log document filter', who: 'auditor', method: 'GET', url: '/api/signature-log?documentId=a%00b' },
    { name: 'signature-log export filter', who: 'auditor', method: 'GET', url: '/api/signature-log/export?format=ndjson&agency=a%00b' },
    { name: 'tracking subject filter', who: 'clerk', method: 'GET', url: '/api/documents?direction=sent&subject=a%00b' },
    { name: 'tracking notation filter', who: 'clerk', method: 'GET', url: '/api/documents?direction=sent&notation=a%00b' },
    { name: 'tracking number filter', who: 'clerk', method: 'GET', url: '/api/documents?direction=received&number=1%00' },
    { name: 'user list agency filter', who: 'admin', method: 'GET', url: '/api/admin/users?agency=a%00' },
    { name: 'new user display name', who: 'admin', method: 'POST', url: '/api/admin/users', payload: { username: 'x1', role: 'auditor', displayName: 'a\u0000b' } },
    { name: 'changed display name', who: 'admin', method: 'PATCH', url: `/api/admin/users/${clerkId}`, payload: { displayName: 'a\u0000b' } },
    { name: 'admin-made token label', who: 'admin', method: 'POST', url: `/api/admin/users/${clerkId}/tokens`, payload: { label: 'a\u0000b' } },
    { name: 'own token label', who: 'clerk', method: 'POST', url: '/api/me/tokens', payload: { label: 'a\u0000b' } },
    { name: 'new agency name', who: 'admin', method: 'POST', url: '/api/admin/agencies', payload: { code: '000.00.00.X71', name: 'a\u0000b', delivery: { mode: 'pull' } } },
    { name: 'new agency subject rule', who: 'admin', method: 'POST', url: '/api/admin/agencies', payload: { code: '000.00.00.X72', name: 'x', delivery: { mode: 'pull' }, subjectRule: { CN: 'a\u0000' } } },
    { name: 'renamed agency', who: 'admin', method: 'PATCH', url: `/api/admin/agencies/${H41}`, payload: { name: 'a\u0000b' } },
    { name: 'agency API key label', who: 'admin', method: 'POST', url: `/api/admin/agencies/${H41}/api-keys`, payload: { label: 'a\u0000b' } },
    { name: 'console list subject filter', who: 'console-clerk', method: 'GET', url: '/console/sent?subject=a%00b' }
  ]
  const before = await tableCounts(hub)
  for (const a of attacks) {
    const headers: Record<string, string> = a.who === 'nobody' ? {} : a.who === 'console-clerk' ? { cookie: consoleCookie } : { authorization: `Bearer ${users[a.who].token}` }
    const res = await hub.app.inject({ method: a.method, url: a.url, headers, ...(a.payload != null ? { payload: a.payload } : {}) })
    t.equal(res.statusCode, 400, `${a.name}: 400 (${res.statusCode})`)
    t.match(res.headers['content-type'], /application\/problem\+json/, `${a.name}: problem+json`)
    t.equal(res.json<{ code: string }>().code, 'BAD_REQUEST', `${a.name}: BAD_REQUEST`)
  }
  t.same(await tableCounts(hub), before, 'no user, token, agency or audit row was written by any of them')
  const renamed = (await hub.db.query<{ name: string }>('SELECT name FROM agencies WHERE code = $1', [H41])).rows[0]?.name
  t.notMatch(renamed ?? '', '\u0000', 'the agency keeps its name')
})

t.test('numbers and dates outside what PostgreSQL holds: 400 BAD_REQUEST, never 500', async (t) => {
  // Found (X2): year 0000 passes the date-time format (PostgreSQL has no year 0), and an entry id
  // past bigint overflowed: both answered 500 INTERNAL.
  const hub = await testHub(t, { redisUrl: null })
  const clerk = await testUser(hub.db, 'clerk.h41', 'clerk', H41)
  const auditor = await testUser(hub.db, 'auditor', 'auditor')
  const attacks: Array<[string, TestUser, string]> = [
    ['tracking from year 0000', clerk, '/api/documents?direction=sent&from=0000-01-01T00:00:00Z'],
    ['tracking to year 0000', clerk, '/api/documents?direction=received&to=0000-12-31T23:59:59Z'],
    ['signature-log from year 0000', auditor, '/api/signature-log?from=0000-01-01T00:00:00Z'],
    ['signature-log export to year 0000', auditor, '/api/signature-log/export?format=csv&to=0000-06-01T00:00:00Z'],
    ['integrity fromId past bigint', auditor, '/api/signature-log/integrity?fromId=99999999999999999999'],
    ['integrity toId past bigint', auditor, '/api/signature-log/integrity?toId=99999999999999999999'],
    ['checkpoints before past bigint', auditor, '/api/signature-log/checkpoints?before=99999999999999999999'],
    ['integrity fromId 2^53', auditor, `/api/signature-log/integrity?fromId=${2 ** 53}`]
  ]
  for (const [name, who, url] of attacks) {
    const res = await hub.app.inject({ url, headers: { authorization: `Bearer ${who.token}` } })
    t.match([res.statusCode, res.json()], [400, { code: 'BAD_REQUEST' }], `${name}: 400 (${res.statusCode})`)
  }
  // Controls: the edges PostgreSQL does hold are served.
  for (const [name, who, url] of [
    ['tracking from year 0001', clerk, '/api/documents?direction=sent&from=0001-01-01T00:00:00Z'],
    ['signature-log to year 9999', auditor, '/api/signature-log?to=9999-12-31T23:59:59Z'],
    ['integrity up to the largest exact id', auditor, `/api/signature-log/integrity?toId=${Number.MAX_SAFE_INTEGER}`]
  ] as const) {
    const res = await hub.app.inject({ url, headers: { authorization: `Bearer ${who.token}` } })
    t.equal(res.statusCode, 200, `${name}: 200 (${res.statusCode} ${res.body.slice(0, 120)})`)
  }
})

t.test('SSRF: a push endpoint set over the admin API cannot point at this machine or its metadata service', async (t) => {
  // Found (X3): the admin API took https://127.0.0.1:6379/, https://169.254.169.254/... and
  // https://user:pw@host/ (with any pin): the delivery worker would then open TLS connections to
  // internal services and report each attempt's error on the timeline (a port scanner), and the
  // password would be stored and shown in clear. Policy: docs/agency-registry.md.
  const hub = await testHub(t, { redisUrl: null })
  const admin = await testUser(hub.db, 'admin', 'admin')
  const pin = ['ab'.repeat(32)]
  const G22 = '000.00.00.G22'
  const refused: Array<[string, string]> = [
    ['loopback', 'https://127.0.0.1:6379/'],
    ['loopback, another address of 127/8', 'https://127.9.9.9/'],
    ['loopback in hex (the URL parser makes it 127.0.0.1)', 'https://0x7f000001/'],
    ['loopback as one decimal number', 'https://2130706433/'],
    ['loopback shortened', 'https://127.1/'],
    ['cloud metadata (link-local)', 'https://169.254.169.254/latest/meta-data/'],
    ['unspecified', 'https://0.0.0.0:8443/'],
    ['IPv6 loopback', 'https://[::1]/'],
    ['IPv6 link-local', 'https://[fe80::1]/'],
    ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/'],
    ['localhost', 'https://localhost/edxml'],
    ['localhost in upper case', 'https://LOCALHOST./edxml'],
    ['a localhost sub-name', 'https://dms.localhost/'],
    ['user and password in the URL', 'https://user:secret@dms.example/'],
    ['port 0', 'https://dms.example:0/']
  ]
  const before = (await hub.db.query<{ push_url: string | null }>('SELECT push_url FROM agencies WHERE code = $1', [G22])).rows[0]
  for (const [name, url] of refused) {
    const patch = await hub.app.inject({ method: 'PATCH', url: `/api/admin/agencies/${G22}`, headers: { authorization: `Bearer ${admin.token}` }, payload: { delivery: { mode: 'push', url, serverCertificates: pin } } })
    t.match([patch.statusCode, patch.json()], [400, { code: 'BAD_REQUEST' }], `update to ${name}: 400 (${patch.statusCode})`)
    const create = await hub.app.inject({ method: 'POST', url: '/api/admin/agencies', headers: { authorization: `Bearer ${admin.token}` }, payload: { code: '000.00.00.X90', name: 'x', delivery: { mode: 'push', url, serverCertificates: pin } } })
    t.match([create.statusCode, create.json()], [400, { code: 'BAD_REQUEST' }], `create with ${name}: 400 (${create.statusCode})`)
  }
  t.same((await hub.db.query('SELECT push_url FROM agencies WHERE code = $1', [G22])).rows[0], before, 'the endpoint is unchanged')
  t.equal((await hub.db.query('SELECT 1 FROM agencies WHERE code = $1', ['000.00.00.X90'])).rows.length, 0, 'no agency was created')
  // Controls: a public name and a private-network address (where agencies' systems live) are taken.
  for (const url of ['https://dms.mof.example/edxml', 'https://10.20.30.40:8443/edxml', 'https://[fd00::5]/edxml']) {
    const res = await hub.app.inject({ method: 'PATCH', url: `/api/admin/agencies/${G22}`, headers: { authorization: `Bearer ${admin.token}` }, payload: { delivery: { mode: 'push', url, serverCertificates: pin } } })
    t.equal(res.statusCode, 200, `${url}: 200 (${res.body.slice(0, 120)})`)
  }
})

t.test('held: a clerk reaching the admin API through path and method variants gets no answer from it', async (t) => {
  // Held (no finding): every variant is 403 from the admin routes, or 404/405 because no route
  // matches (a 401 for /API: outside the /api scope the agency credential is asked for first).
  const hub = await testHub(t, { redisUrl: null })
  const admin = await testUser(hub.db, 'admin', 'admin')
  const clerk = await testUser(hub.db, 'clerk.h41', 'clerk', H41)
  const paths = ['/api/admin/users/', '/api//admin/users', '/api/admin//users', '/API/admin/users', '/api/Admin/users', '/api/admin/%75sers',
    '/api/admin%2Fusers', '/api/admin/users;x', '/api/./admin/users', '/api/x/../admin/users', '/api/admin/users%20', `/api/admin/users/${admin.user.id}/`, `/api/admin/users/${admin.user.id.toUpperCase()}`]
  for (const url of paths) {
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'] as const) {
      const body = ['POST', 'PUT', 'PATCH'].includes(method) ? { payload: { username: 'evil', role: 'admin', password: 'a long enough password', disabled: true } } : {}
      const res = await hub.app.inject({ method, url, headers: { authorization: `Bearer ${clerk.token}` }, ...body })
      t.ok([401, 403, 404, 405].includes(res.statusCode), `${method} ${url}: ${res.statusCode}`)
      if (method !== 'HEAD' && res.statusCode < 500) t.notMatch(res.body, /"username":"admin"/, `${method} ${url}: no user data`)
    }
  }
  const { rows } = await hub.db.query<{ username: string, role: string, disabled: boolean }>('SELECT username, role, disabled FROM users ORDER BY username')
  t.same(rows, [{ username: 'admin', role: 'admin', disabled: false }, { username: 'clerk.h41', role: 'clerk', disabled: false }], 'nobody was created, promoted or disabled')
})

t.test('held: two admins demoting and disabling each other at once leave one enabled admin', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  for (let round = 0; round < 3; round++) {
    const a = await testUser(hub.db, `admin.a${round}`, 'admin')
    const b = await testUser(hub.db, `admin.b${round}`, 'admin')
    const answers = await Promise.all([
      hub.app.inject({ method: 'PATCH', url: `/api/admin/users/${b.user.id}`, headers: { authorization: `Bearer ${a.token}` }, payload: { disabled: true } }),
      hub.app.inject({ method: 'PATCH', url: `/api/admin/users/${a.user.id}`, headers: { authorization: `Bearer ${b.token}` }, payload: { role: 'auditor' } })
    ])
    t.ok(answers.some((r) => r.statusCode === 200), `round ${round}: one change went through (${answers.map((r) => r.statusCode).join(' ')})`)
    const { rows } = await hub.db.query<{ n: number }>("SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND NOT disabled")
    t.equal(rows[0]?.n, 1, `round ${round}: exactly one enabled admin is left`)
    // The survivor cannot remove itself either: it is the last one.
    const survivor = answers[0]?.statusCode === 200 ? a : b
    const self = await hub.app.inject({ method: 'PATCH', url: `/api/admin/users/${survivor.user.id}`, headers: { authorization: `Bearer ${survivor.token}` }, payload: { disabled: true } })
    t.match([self.statusCode, self.json()], [409, { code: 'CONFLICT' }], `round ${round}: the last admin disabling itself: 409`)
    // Next round starts from a clean slate of admins.
    await hub.db.query("UPDATE users SET disabled = true WHERE role = 'admin'")
  }
})
