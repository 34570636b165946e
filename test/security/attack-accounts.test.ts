/**
 * Outsider attacks on the people surface (/api: sign-in, sessions, CSRF, personal tokens, the
 * admin API and its audit trail), over HTTP against a real gateway on PostgreSQL. Each case is an
 * attack; the assertion is the answer the hub must give. See the attack brief's findings table.
 */
import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { testHub, type TestHub } from '../helpers/hub.js'
import { testUser, type TestUser } from '../helpers/accounts.js'
import { SESSION_COOKIE } from '../../src/gateway/scopes/principal-authenticator.js'

const H41 = '000.00.00.H41'
const G22 = '000.00.00.G22'

interface Signed { cookie: string, csrf: string, res: LightMyRequestResponse }

async function login (app: FastifyInstance, username: string, password: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url: '/api/session', headers, payload: { username, password } })
}

async function signIn (app: FastifyInstance, user: TestUser): Promise<Signed> {
  const res = await login(app, user.user.username, user.password)
  if (res.statusCode !== 200) throw new Error(`sign-in of ${user.user.username}: ${res.statusCode} ${res.body}`)
  const match = new RegExp(`^${SESSION_COOKIE}=([^;]*)`).exec(String(res.headers['set-cookie']))
  return { cookie: `${SESSION_COOKIE}=${match?.[1] ?? ''}`, csrf: res.json<{ csrfToken: string }>().csrfToken, res }
}

async function auditCount (hub: TestHub, action: string): Promise<number> {
  const { rows } = await hub.db.query<{ n: number }>('SELECT count(*)::int AS n FROM admin_audit WHERE action = $1', [action])
  return rows[0]?.n ?? 0
}

t.test('password guessing: once the address has spent its failure budget, even the right password is not checked', async (t) => {
  // Found: the budget only turned the answer for a WRONG password into 429 and still checked
  // every guess, so the right one answered 200 and guessing went on without bound (at the speed
  // of scrypt). Each guess also wrote an append-only audit row and cost a 128 MiB hash.
  const hub = await testHub(t, { redisUrl: null, authFailuresPerMinute: 3 })
  const admin = await testUser(hub.db, 'admin', 'admin')
  for (let i = 0; i < 3; i++) t.equal((await login(hub.app, 'admin', `wrong guess number ${i}`)).statusCode, 401, `guess ${i}: 401`)
  const auditedBefore = await auditCount(hub, 'session.login_failed')
  t.equal(auditedBefore, 3, 'the failures within the budget are in the audit trail')

  const right = await login(hub.app, 'admin', admin.password)
  t.match([right.statusCode, right.json()], [429, { code: 'RATE_LIMITED' }], 'the right password past the budget: 429, not 200 (the guesser learns nothing)')
  t.notOk(right.headers['set-cookie'], 'no session cookie')
  for (let i = 0; i < 5; i++) t.equal((await login(hub.app, 'admin', `more guesses ${i}!!`)).statusCode, 429)
  t.equal(await auditCount(hub, 'session.login_failed'), auditedBefore, 'refused attempts past the budget write no audit rows (an anonymous flood cannot grow the append-only table)')

  // Sessions and tokens are still served from that address (a NAT neighbour locks out sign-in only).
  t.equal((await hub.app.inject({ url: '/api/session', headers: { authorization: `Bearer ${admin.token}` } })).statusCode, 200, 'a valid personal token still works')
})

t.test('password guessing in parallel: concurrent guesses cannot all slip under the budget', async (t) => {
  const hub = await testHub(t, { redisUrl: null, authFailuresPerMinute: 3 })
  await testUser(hub.db, 'admin', 'admin')
  const answers = await Promise.all(Array.from({ length: 10 }, async (_, i) => (await login(hub.app, 'admin', `parallel guess ${i}!!`)).statusCode))
  t.equal(answers.filter((c) => c === 401).length, 3, `3 guesses checked, the rest refused unchecked (${answers.join(' ')})`)
  t.equal(answers.filter((c) => c === 429).length, 7)
  t.equal(await auditCount(hub, 'session.login_failed'), 3, 'only the checked guesses are audited')
})

t.test('CSRF: a state change with the session cookie and no proof of origin is refused, however it is dressed', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const clerk = await testUser(hub.db, 'clerk.h41', 'clerk', H41)
  const other = await testUser(hub.db, 'clerk.g22', 'clerk', G22)
  const s = await signIn(hub.app, clerk)
  const o = await signIn(hub.app, other)
  const host = 'hub.example'
  const cases: Array<{ name: string, method?: 'POST' | 'DELETE' | 'PATCH' | 'PUT', headers: Record<string, string>, payload?: string }> = [
    { name: 'no token', headers: {} },
    { name: 'empty token', headers: { 'x-csrf-token': '' } },
    { name: 'another session\'s token', headers: { 'x-csrf-token': o.csrf } },
    { name: 'token with a trailing space', headers: { 'x-csrf-token': `${s.csrf} ` } },
    { name: 'token in upper case', headers: { 'x-csrf-token': s.csrf.toUpperCase() } },
    { name: 'Origin: null (sandboxed iframe)', headers: { 'x-csrf-token': s.csrf, origin: 'null' } },
    { name: 'Origin of another host', headers: { 'x-csrf-token': s.csrf, origin: 'https://evil.example' } },
    { name: 'Origin of a sibling host with our name as a prefix', headers: { 'x-csrf-token': s.csrf, origin: `https://${host}.evil.example` } },
    { name: 'Origin with user-info', headers: { 'x-csrf-token': s.csrf, origin: `https://${host}@evil.example` } },
    { name: 'Origin not a URL', headers: { 'x-csrf-token': s.csrf, origin: 'evil' } },
    { name: 'Sec-Fetch-Site: cross-site', headers: { 'x-csrf-token': s.csrf, 'sec-fetch-site': 'cross-site' } },
    { name: 'Sec-Fetch-Site: same-site (a sibling subdomain)', headers: { 'x-csrf-token': s.csrf, 'sec-fetch-site': 'same-site' } },
    { name: 'text/plain body (a form)', headers: { 'content-type': 'text/plain' }, payload: '{"label":"x"}' },
    { name: 'form-urlencoded body', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'label=x' },
    { name: 'token in the query string', headers: {} },
    { name: 'DELETE without token', method: 'DELETE', headers: {} }
  ]
  for (const c of cases) {
    const url = c.name === 'token in the query string' ? `/api/me/tokens?csrfToken=${s.csrf}` : c.method === 'DELETE' ? '/api/session' : '/api/me/tokens'
    const res = await hub.app.inject({
      method: c.method ?? 'POST',
      url,
      headers: { host, cookie: s.cookie, ...(c.payload == null ? { 'content-type': 'application/json' } : {}), ...c.headers },
      payload: c.payload ?? '{"label":"csrf"}'
    })
    t.equal(res.statusCode, 403, `${c.name}: 403`)
  }
  const { rows } = await hub.db.query<{ n: number }>('SELECT count(*)::int AS n FROM user_tokens WHERE user_id = $1', [clerk.user.id])
  t.equal(rows[0]?.n, 1, 'no token was created by any of them (only the fixture\'s)')
  const ok = await hub.app.inject({ method: 'POST', url: '/api/me/tokens', headers: { host, cookie: s.cookie, 'x-csrf-token': s.csrf, origin: `https://${host}`, 'sec-fetch-site': 'same-origin' }, payload: { label: 'ok' } })
  t.equal(ok.statusCode, 201, 'the console\'s own request passes (control)')
})

t.test('login CSRF and session fixation', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const clerk = await testUser(hub.db, 'clerk.h41', 'clerk', H41)
  for (const [name, headers] of [
    ['Origin of another site', { origin: 'https://evil.example', host: 'hub.example' }],
    ['Origin: null', { origin: 'null' }],
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }]
  ] as const) {
    const res = await login(hub.app, clerk.user.username, clerk.password, headers)
    t.equal(res.statusCode, 403, `sign-in from ${name}: 403`)
    t.notOk(res.headers['set-cookie'], `${name}: no cookie`)
  }
  // A planted (well-formed, unknown) session value is not adopted: sign-in issues a fresh one.
  const planted = `ls_${'A'.repeat(43)}`
  const res = await login(hub.app, clerk.user.username, clerk.password, { cookie: `${SESSION_COOKIE}=${planted}` })
  t.equal(res.statusCode, 200)
  t.notMatch(String(res.headers['set-cookie']), planted, 'a new session secret, not the planted one')
  t.equal((await hub.app.inject({ url: '/api/session', headers: { cookie: `${SESSION_COOKIE}=${planted}` } })).statusCode, 401, 'the planted value opens nothing')
  const { rows } = await hub.db.query<{ n: number }>('SELECT count(*)::int AS n FROM user_sessions WHERE secret_sha256 LIKE $1', [`%${planted}%`])
  t.equal(rows[0]?.n, 0, 'the table never holds a cookie value in clear')
})

t.test('privilege escalation: clerks and auditors against the admin API; mass assignment in admin bodies', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const admin = await testUser(hub.db, 'admin', 'admin')
  const clerk = await testUser(hub.db, 'clerk.h41', 'clerk', H41)
  const auditor = await testUser(hub.db, 'auditor', 'auditor')
  const bearer = (u: TestUser): Record<string, string> => ({ authorization: `Bearer ${u.token}` })
  const attempts: Array<[string, 'GET' | 'POST' | 'PATCH' | 'DELETE', string, unknown]> = [
    ['promote self to admin', 'PATCH', `/api/admin/users/${clerk.user.id}`, { role: 'admin' }],
    ['move self to another agency', 'PATCH', `/api/admin/users/${clerk.user.id}`, { agencyCode: G22 }],
    ['create an admin', 'POST', '/api/admin/users', { username: 'evil', role: 'admin', password: 'a long enough password' }],
    ['reset the admin\'s password', 'POST', `/api/admin/users/${admin.user.id}/password`, { password: 'a long enough password' }],
    ['mint a token for the admin', 'POST', `/api/admin/users/${admin.user.id}/tokens`, {}],
    ['disable the admin', 'PATCH', `/api/admin/users/${admin.user.id}`, { disabled: true }],
    ['create an agency API key', 'POST', `/api/admin/agencies/${G22}/api-keys`, {}],
    ['import a CRL', 'POST', '/api/admin/trust/crls', { pem: 'x' }],
    ['create an agency', 'POST', '/api/admin/agencies', { code: '000.00.00.X77', name: 'x', delivery: { mode: 'pull' } }],
    ['redirect an agency\'s deliveries', 'PATCH', `/api/admin/agencies/${G22}`, { delivery: { mode: 'pull' } }],
    ['register a signing certificate', 'POST', `/api/admin/agencies/${G22}/signing-certificates`, { pem: 'x' }],
    ['revoke a signing certificate', 'DELETE', `/api/admin/agencies/${G22}/signing-certificates/${'ab'.repeat(32)}`, undefined],
    ['add a trust anchor', 'POST', '/api/admin/trust/cas', { pem: 'x' }],
    ['read the audit trail', 'GET', '/api/admin/audit', undefined],
    ['list users', 'GET', '/api/admin/users', undefined]
  ]
  for (const who of [clerk, auditor]) {
    for (const [name, method, url, payload] of attempts) {
      const res = await hub.app.inject({ method, url, headers: bearer(who), ...(payload != null ? { payload: payload as Record<string, unknown> } : {}) })
      t.equal(res.statusCode, 403, `${who.user.role}: ${name}: 403`)
    }
  }
  // Another user's token by id through the self-service route: as if it did not exist.
  const adminTokenId = (await hub.db.query<{ id: string }>('SELECT id FROM user_tokens WHERE user_id = $1', [admin.user.id])).rows[0]?.id as string
  t.equal((await hub.app.inject({ method: 'DELETE', url: `/api/me/tokens/${adminTokenId}`, headers: bearer(clerk) })).statusCode, 404, 'a clerk revoking the admin\'s token by id: 404')
  t.equal((await hub.app.inject({ url: '/api/session', headers: bearer(admin) })).statusCode, 200, 'the admin\'s token still works')

  // Mass assignment: fields the API does not take are refused, not silently dropped or applied.
  const extra: Array<[string, 'POST' | 'PATCH', string, Record<string, unknown>]> = [
    ['id on create', 'POST', '/api/admin/users', { username: 'x1', role: 'auditor', id: admin.user.id }],
    ['passwordHash on create', 'POST', '/api/admin/users', { username: 'x2', role: 'auditor', passwordHash: 'scrypt$12$8$1$AAAA$AAAA' }],
    ['disabled on create', 'POST', '/api/admin/users', { username: 'x3', role: 'auditor', disabled: false }],
    ['username on patch', 'PATCH', `/api/admin/users/${clerk.user.id}`, { username: 'admin' }],
    ['passwordHash on patch', 'PATCH', `/api/admin/users/${clerk.user.id}`, { passwordHash: 'scrypt$12$8$1$AAAA$AAAA' }],
    ['__proto__ on patch', 'PATCH', `/api/admin/users/${clerk.user.id}`, JSON.parse('{"__proto__":{"role":"admin"},"displayName":"x"}') as Record<string, unknown>],
    ['role not in the enum', 'PATCH', `/api/admin/users/${clerk.user.id}`, { role: 'superadmin' }],
    ['managedBy on an agency patch', 'PATCH', `/api/admin/agencies/${G22}`, { managedBy: 'file' }],
    ['certificates (bare fingerprints) on agency create', 'POST', '/api/admin/agencies', { code: '000.00.00.X78', name: 'x', delivery: { mode: 'pull' }, certificates: ['ab'.repeat(32)] }]
  ]
  // Not a case: `{"role":["admin"]}` is taken as "admin" (Fastify's default Ajv coerceTypes:
  // 'array'). Only an admin can send it, who may set that role anyway: no escalation.
  for (const [name, method, url, payload] of extra) {
    const res = await hub.app.inject({ method, url, headers: bearer(admin), payload })
    t.equal(res.statusCode, 400, `${name}: 400`)
  }
  const after = (await hub.db.query<{ role: string, username: string }>('SELECT role, username FROM users WHERE id = $1', [clerk.user.id])).rows[0]
  t.same(after, { role: 'clerk', username: 'clerk.h41' }, 'the clerk is unchanged')
})

t.test('a disabled user: session and token stop on the next request; re-enabling does not revive the session', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const admin = await testUser(hub.db, 'admin', 'admin')
  const clerk = await testUser(hub.db, 'clerk.h41', 'clerk', H41)
  const s = await signIn(hub.app, clerk)
  const asAdmin = { authorization: `Bearer ${admin.token}` }
  t.equal((await hub.app.inject({ method: 'PATCH', url: `/api/admin/users/${clerk.user.id}`, headers: asAdmin, payload: { disabled: true } })).statusCode, 200)
  t.equal((await hub.app.inject({ url: '/api/session', headers: { cookie: s.cookie } })).statusCode, 401, 'session: 401 at once')
  t.equal((await hub.app.inject({ url: '/api/me/tokens', headers: { authorization: `Bearer ${clerk.token}` } })).statusCode, 401, 'token: 401 at once')
  t.equal((await login(hub.app, clerk.user.username, clerk.password)).statusCode, 401, 'sign-in: 401')
  t.equal((await hub.app.inject({ method: 'PATCH', url: `/api/admin/users/${clerk.user.id}`, headers: asAdmin, payload: { disabled: false } })).statusCode, 200)
  t.equal((await hub.app.inject({ url: '/api/session', headers: { cookie: s.cookie } })).statusCode, 401, 'the old session stays ended')
})

t.test('credentials never come back in answers', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const clerk = await testUser(hub.db, 'clerk.h41', 'clerk', H41)
  // A real token's prefix with a wrong secret, and the real token in the wrong scheme.
  const wrong = clerk.token.slice(0, -4) + 'AAAA'
  for (const [name, headers] of [
    ['a wrong secret for a real prefix', { authorization: `Bearer ${wrong}` }],
    ['the token under Basic', { authorization: `Basic ${clerk.token}` }],
    ['the token as a cookie', { cookie: `${SESSION_COOKIE}=${clerk.token}` }],
    ['the personal token on /v1', { authorization: `Bearer ${clerk.token}` }]
  ] as const) {
    const res = await hub.app.inject({ url: name.includes('/v1') ? '/v1/inbox' : '/api/session', headers })
    t.equal(res.statusCode, 401, `${name}: 401`)
    t.notMatch(res.body, clerk.token.slice(16), `${name}: the secret is not echoed`)
    t.notMatch(res.body, wrong.slice(16), `${name}: the presented value is not echoed`)
  }
  const bad = await login(hub.app, clerk.user.username, 'not the password at all')
  t.notMatch(bad.body, 'not the password at all', 'a wrong password is not echoed')
  const entry = (await hub.db.query<{ row: string }>('SELECT row_to_json(a)::text AS row FROM admin_audit a WHERE action = $1', ['session.login_failed'])).rows[0]?.row
  t.notMatch(entry ?? '', 'not the password at all', 'nor kept in the audit trail')
})

t.test('cookie tossing: a second session cookie planted by a sibling site is not silently preferred', async (t) => {
  // Found: readCookie took the first lienthong_session in the header, and a cookie planted with
  // Domain=.parent and a longer Path comes first; the victim's console then ran in the
  // attacker's session (a login CSRF through the cookie jar, which the CSRF token cannot see:
  // the attacker knows the token of their own session).
  const hub = await testHub(t, { redisUrl: null })
  const victim = await signIn(hub.app, await testUser(hub.db, 'clerk.h41', 'clerk', H41))
  const attacker = await signIn(hub.app, await testUser(hub.db, 'clerk.g22', 'clerk', G22))
  for (const [name, cookie] of [
    ['attacker\'s first', `${attacker.cookie}; ${victim.cookie}`],
    ['victim\'s first', `${victim.cookie}; ${attacker.cookie}`],
    ['the same twice', `${victim.cookie}; ${victim.cookie}`]
  ] as const) {
    const res = await hub.app.inject({ url: '/api/session', headers: { cookie } })
    t.equal(res.statusCode, 401, `${name}: 401, not somebody's session`)
    const post = await hub.app.inject({ method: 'POST', url: '/api/me/tokens', headers: { cookie, 'x-csrf-token': attacker.csrf, 'content-type': 'application/json' }, payload: '{}' })
    t.equal(post.statusCode, 401, `${name}: a state change with the attacker's CSRF token: 401`)
  }
  t.equal((await hub.app.inject({ url: '/api/session', headers: { cookie: `other=1; ${victim.cookie}; theme=dark` } })).statusCode, 200, 'one session cookie among others: served (control)')
})
