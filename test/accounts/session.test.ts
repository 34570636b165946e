import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { testHub } from '../helpers/hub.js'
import { testUser } from '../helpers/accounts.js'
import { SESSION_COOKIE } from '../../src/gateway/scopes/principal-authenticator.js'

const H41 = '000.00.00.H41'

function cookieOf (res: LightMyRequestResponse): string {
  const header = res.headers['set-cookie']
  const value = (Array.isArray(header) ? header[0] : header) ?? ''
  const match = new RegExp(`^${SESSION_COOKIE}=([^;]*)`).exec(value)
  if (match == null) throw new Error(`no session cookie in ${value}`)
  return `${SESSION_COOKIE}=${match[1] as string}`
}

async function login (app: FastifyInstance, username: string, password: string): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url: '/api/session', payload: { username, password } })
}

t.test('login sets an http-only SameSite=Strict cookie; GET /api/session answers who; logout ends it', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const clerk = await testUser(hub.db, 'clerk.h41', 'clerk', H41)
  const res = await login(hub.app, 'Clerk.H41', clerk.password)
  t.equal(res.statusCode, 200, 'username is taken in any case')
  const setCookie = String(res.headers['set-cookie'])
  t.match(setCookie, /HttpOnly/)
  t.match(setCookie, /SameSite=Strict/)
  t.match(setCookie, /Path=\//)
  t.notMatch(setCookie, /Secure/, 'plain HTTP: no Secure (the demo exception)')
  const body = res.json<{ user: { username: string, role: string, agencyCode: string }, csrfToken: string }>()
  t.match(body.user, { username: 'clerk.h41', role: 'clerk', agencyCode: H41, via: 'session' })
  const cookie = cookieOf(res)

  const me = await hub.app.inject({ url: '/api/session', headers: { cookie } })
  t.equal(me.statusCode, 200)
  t.equal(me.json<{ csrfToken: string }>().csrfToken, body.csrfToken, 'the same CSRF token for the session')

  const noCsrf = await hub.app.inject({ method: 'DELETE', url: '/api/session', headers: { cookie } })
  t.match([noCsrf.statusCode, noCsrf.json()], [403, { code: 'FORBIDDEN', csrf: true }], 'logout without the CSRF token is refused')
  const out = await hub.app.inject({ method: 'DELETE', url: '/api/session', headers: { cookie, 'x-csrf-token': body.csrfToken } })
  t.equal(out.statusCode, 204)
  t.match(String(out.headers['set-cookie']), /Max-Age=0/)
  const after = await hub.app.inject({ url: '/api/session', headers: { cookie } })
  t.match([after.statusCode, after.json()], [401, { code: 'UNAUTHENTICATED' }], 'the session is gone server-side')
})

t.test('a wrong password, an unknown user and a disabled user get one answer', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const auditor = await testUser(hub.db, 'auditor', 'auditor')
  const disabled = await testUser(hub.db, 'gone', 'auditor')
  await hub.db.query('UPDATE users SET disabled = true WHERE id = $1', [disabled.user.id])
  const answers = []
  for (const [username, password] of [['auditor', 'wrong password!!'], ['nobody', 'whatever password'], ['gone', disabled.password]] as const) {
    const res = await login(hub.app, username, password)
    answers.push([res.statusCode, res.json<{ code: string, detail: string }>().code, res.json<{ detail: string }>().detail])
  }
  t.same(answers, Array(3).fill([401, 'UNAUTHENTICATED', 'the username or password is wrong']))
  t.equal((await login(hub.app, 'auditor', auditor.password)).statusCode, 200)
})

t.test('CSRF: a state-changing request with the cookie needs the session\'s token and the hub\'s origin', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const admin = await testUser(hub.db, 'admin', 'admin')
  const res = await login(hub.app, 'admin', admin.password)
  const cookie = cookieOf(res)
  const csrf = res.json<{ csrfToken: string }>().csrfToken
  const other = cookieOf(await login(hub.app, 'admin', admin.password))
  const cases = [
    { name: 'no token', headers: { cookie }, status: 403 },
    { name: 'another session\'s token', headers: { cookie: other, 'x-csrf-token': csrf }, status: 403 },
    { name: 'right token from another origin', headers: { cookie, 'x-csrf-token': csrf, host: 'hub.example', origin: 'https://evil.example' }, status: 403 },
    { name: 'right token, Sec-Fetch-Site cross-site', headers: { cookie, 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' }, status: 403 },
    { name: 'right token, same origin', headers: { cookie, 'x-csrf-token': csrf, host: 'hub.example', origin: 'https://hub.example', 'sec-fetch-site': 'same-origin' }, status: 201 },
    { name: 'right token, no Origin (a script with the cookie)', headers: { cookie, 'x-csrf-token': csrf }, status: 201 },
    { name: 'a personal token needs no CSRF token (a browser never sends it by itself)', headers: { authorization: `Bearer ${admin.token}`, origin: 'https://evil.example' }, status: 201 }
  ]
  for (const c of cases) {
    const r = await hub.app.inject({ method: 'POST', url: '/api/me/tokens', headers: c.headers, payload: { label: c.name } })
    t.equal(r.statusCode, c.status, c.name)
    if (c.status === 403) t.match(r.json(), { code: 'FORBIDDEN', csrf: true })
  }
  const read = await hub.app.inject({ url: '/api/me/tokens', headers: { cookie } })
  t.equal(read.statusCode, 200, 'reads need no CSRF token')
  const crossLogin = await hub.app.inject({ method: 'POST', url: '/api/session', headers: { host: 'hub.example', origin: 'https://evil.example' }, payload: { username: 'admin', password: admin.password } })
  t.match([crossLogin.statusCode, crossLogin.json()], [403, { csrf: true }], 'login from another origin is refused (login CSRF)')
})

t.test('sessions end when idle too long, at their absolute expiry, and when the user is disabled', async (t) => {
  const hub = await testHub(t, { redisUrl: null, sessions: { idleMs: 60_000, absoluteMs: 3_600_000 } })
  const clerk = await testUser(hub.db, 'clerk.g22', 'clerk', '000.00.00.G22')
  const admin = await testUser(hub.db, 'admin', 'admin')
  const open = async (): Promise<string> => cookieOf(await login(hub.app, 'clerk.g22', clerk.password))
  const status = async (cookie: string): Promise<number> => (await hub.app.inject({ url: '/api/session', headers: { cookie } })).statusCode
  const ages = [
    { name: 'used 30 s ago: alive (and touched)', sql: "last_seen_at = now() - interval '30 seconds'", status: 200 },
    { name: 'idle 61 s: ended', sql: "last_seen_at = now() - interval '61 seconds'", status: 401 },
    { name: 'absolute expiry passed, though active', sql: "expires_at = now() - interval '1 second'", status: 401 }
  ]
  for (const a of ages) {
    const cookie = await open()
    await hub.db.query(`UPDATE user_sessions SET ${a.sql} WHERE secret_sha256 = (SELECT secret_sha256 FROM user_sessions ORDER BY created_at DESC LIMIT 1)`)
    t.equal(await status(cookie), a.status, a.name)
  }
  const touched = await hub.db.query<{ fresh: boolean }>("SELECT bool_or(last_seen_at > now() - interval '5 seconds') AS fresh FROM user_sessions")
  t.equal(touched.rows[0]?.fresh, true, 'a used session\'s last_seen_at moves')

  const cookie = await open()
  t.equal(await status(cookie), 200)
  const disable = await hub.app.inject({ method: 'PATCH', url: `/api/admin/users/${clerk.user.id}`, headers: { authorization: `Bearer ${admin.token}` }, payload: { disabled: true } })
  t.equal(disable.statusCode, 200)
  t.equal(await status(cookie), 401, 'the disabled user\'s session stops at once')
  const byToken = await hub.app.inject({ url: '/api/session', headers: { authorization: `Bearer ${clerk.token}` } })
  t.equal(byToken.statusCode, 401, 'and so does the token')
  await hub.app.inject({ method: 'PATCH', url: `/api/admin/users/${clerk.user.id}`, headers: { authorization: `Bearer ${admin.token}` }, payload: { disabled: false } })
  t.equal((await hub.app.inject({ url: '/api/session', headers: { authorization: `Bearer ${clerk.token}` } })).statusCode, 200, 're-enabled: the token works again')
  t.equal(await status(cookie), 401, 'the session ended with the disabling stays ended')
})

t.test('failed logins count against the address\'s failed-authentication budget', async (t) => {
  const hub = await testHub(t, { redisUrl: null, authFailuresPerMinute: 2 })
  const auditor = await testUser(hub.db, 'auditor', 'auditor')
  const codes = []
  for (let i = 0; i < 3; i++) codes.push((await login(hub.app, 'auditor', `wrong password ${i}`)).statusCode)
  t.same(codes, [401, 401, 429], 'past the budget: 429')
  t.equal((await hub.app.inject({ url: '/api/session', headers: { cookie: `${SESSION_COOKIE}=ls_${'x'.repeat(43)}` } })).statusCode, 429, 'the same budget as every scope')
  // Finding A1 (valid credentials served from an exhausted address) holds for keys, tokens and
  // sessions; a password past the budget is not checked at all (test/security/attack-accounts.test.ts).
  t.equal((await login(hub.app, 'auditor', auditor.password)).statusCode, 429, 'the right password past the budget is not checked: 429')
  t.equal((await hub.app.inject({ url: '/api/session', headers: { authorization: `Bearer ${auditor.token}` } })).statusCode, 200, 'a valid token from the exhausted address is still served (finding A1)')
})

t.test('the cookie is Secure when told the hub sits behind TLS (LIENTHONG_SECURE_COOKIES)', async (t) => {
  const hub = await testHub(t, { redisUrl: null, secureCookies: true })
  const auditor = await testUser(hub.db, 'auditor', 'auditor')
  const res = await login(hub.app, 'auditor', auditor.password)
  t.match(String(res.headers['set-cookie']), /; Secure$/)
  const stored = await hub.db.query<{ secret_sha256: string }>('SELECT secret_sha256 FROM user_sessions')
  t.notOk(String(res.headers['set-cookie']).includes(stored.rows[0]?.secret_sha256 ?? '-'), 'the cookie is not what is stored (its hash is)')
})
