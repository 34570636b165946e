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
