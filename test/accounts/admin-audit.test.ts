import t from 'tap'
import { testHub } from '../helpers/hub.js'
import { testUser } from '../helpers/accounts.js'
import { SESSION_COOKIE } from '../../src/gateway/scopes/principal-authenticator.js'

interface Entry { id: string, action: string, actor: string, actorVia: string, target: string | null, source: string | null, requestId: string | null, before: Record<string, unknown> | null, after: Record<string, unknown> | null }

t.test('every state-changing human action leaves one audit entry: who, what, from where, before/after', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const admin = await testUser(hub.db, 'admin', 'admin')
  const as = { authorization: `Bearer ${admin.token}` }
  const newest = async (): Promise<Entry> => (await hub.app.inject({ url: '/api/admin/audit?limit=1', headers: as })).json<{ entries: Entry[] }>().entries[0] as Entry

  let clerkId = ''
  let tokenId = ''
  let cookie = ''
  let csrf = ''
  const steps: Array<{ name: string, run: () => Promise<number>, status: number, expect: Partial<Entry> & { before?: unknown, after?: unknown } }> = [
    {
      name: 'create a user',
      run: async () => {
        const r = await hub.app.inject({ method: 'POST', url: '/api/admin/users', headers: as, payload: { username: 'clerk.h41', role: 'clerk', agencyCode: '000.00.00.H41', password: 'a long enough password' } })
        clerkId = r.json<{ id: string }>().id
        return r.statusCode
      },
      status: 201,
      expect: { action: 'user.create', actor: 'admin', actorVia: 'token', target: 'user:clerk.h41', after: { role: 'clerk', agencyCode: '000.00.00.H41', disabled: false, hasPassword: true }, before: null }
    },
    {
      name: 'change a user',
      run: async () => (await hub.app.inject({ method: 'PATCH', url: `/api/admin/users/${clerkId}`, headers: as, payload: { displayName: 'Nguyễn Văn A' } })).statusCode,
      status: 200,
      expect: { action: 'user.update', target: 'user:clerk.h41', before: { displayName: '' }, after: { displayName: 'Nguyễn Văn A' } }
    },
    {
      name: 'disable a user',
      run: async () => (await hub.app.inject({ method: 'PATCH', url: `/api/admin/users/${clerkId}`, headers: as, payload: { disabled: true } })).statusCode,
      status: 200,
      expect: { action: 'user.disable', before: { disabled: false }, after: { disabled: true } }
    },
    {
      name: 'enable a user',
      run: async () => (await hub.app.inject({ method: 'PATCH', url: `/api/admin/users/${clerkId}`, headers: as, payload: { disabled: false } })).statusCode,
      status: 200,
      expect: { action: 'user.enable', before: { disabled: true }, after: { disabled: false } }
    },
    {
      name: 'reset a password',
      run: async () => (await hub.app.inject({ method: 'POST', url: `/api/admin/users/${clerkId}/password`, headers: as, payload: { password: 'another long password' } })).statusCode,
      status: 200,
      expect: { action: 'user.reset_password', target: 'user:clerk.h41', before: null, after: null }
    },
    {
      name: 'create a token',
      run: async () => {
        const r = await hub.app.inject({ method: 'POST', url: `/api/admin/users/${clerkId}/tokens`, headers: as, payload: { label: 'script' } })
        tokenId = r.json<{ token: { id: string } }>().token.id
        return r.statusCode
      },
      status: 201,
      expect: { action: 'token.create', target: 'user:clerk.h41', after: { label: 'script' } }
    },
    {
      name: 'revoke a token',
      run: async () => (await hub.app.inject({ method: 'DELETE', url: `/api/admin/tokens/${tokenId}`, headers: as })).statusCode,
      status: 200,
      expect: { action: 'token.revoke', target: 'user:clerk.h41', before: { label: 'script' } }
    },
    {
      name: 'a failed login',
      run: async () => (await hub.app.inject({ method: 'POST', url: '/api/session', payload: { username: 'Clerk.H41', password: 'not the password' } })).statusCode,
      status: 401,
      expect: { action: 'session.login_failed', actor: 'anonymous', actorVia: 'anonymous', target: 'user:clerk.h41' }
    },
    {
      name: 'a login',
      run: async () => {
        const r = await hub.app.inject({ method: 'POST', url: '/api/session', payload: { username: 'clerk.h41', password: 'another long password' } })
        cookie = `${SESSION_COOKIE}=${/=([^;]*)/.exec(String(r.headers['set-cookie']))?.[1] ?? ''}`
        csrf = r.json<{ csrfToken: string }>().csrfToken
        return r.statusCode
      },
      status: 200,
      expect: { action: 'session.login', actor: 'clerk.h41', actorVia: 'session', target: 'user:clerk.h41' }
    },
    {
      name: 'a logout',
      run: async () => (await hub.app.inject({ method: 'DELETE', url: '/api/session', headers: { cookie, 'x-csrf-token': csrf } })).statusCode,
      status: 204,
      expect: { action: 'session.logout', actor: 'clerk.h41', actorVia: 'session' }
    }
  ]
  for (const step of steps) {
    t.equal(await step.run(), step.status, `${step.name}: ${step.status}`)
    const entry = await newest()
    t.match(entry, { source: '127.0.0.1', requestId: /^[0-9a-f-]{36}$/, ...step.expect }, `${step.name}: recorded`)
    t.notOk(JSON.stringify(entry).includes('long password'), `${step.name}: no password in the entry`)
  }
  const refused = await hub.app.inject({ method: 'POST', url: '/api/admin/users', headers: as, payload: { username: 'x', role: 'clerk', agencyCode: '000.99.99.X99' } })
  t.equal(refused.statusCode, 400, 'a refused change...')
  t.equal((await newest()).action, 'session.logout', '...records nothing (it changed nothing)')

  await t.rejects(hub.db.query('UPDATE admin_audit SET actor = \'someone else\''), /append-only/, 'entries cannot be changed')
  await t.rejects(hub.db.query('DELETE FROM admin_audit'), /append-only/, 'nor deleted')
})

t.test('GET /api/admin/audit: newest first, keyset pages that stay stable while entries are added', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const admin = await testUser(hub.db, 'admin', 'admin')
  const as = { authorization: `Bearer ${admin.token}` }
  for (let i = 0; i < 7; i++) await hub.app.inject({ method: 'POST', url: '/api/session', payload: { username: `nobody${i}`, password: 'x' } })
  const page = async (query: string): Promise<{ entries: Entry[], next: string | null }> => (await hub.app.inject({ url: `/api/admin/audit?${query}`, headers: as })).json()
  const first = await page('action=session.login_failed&limit=3')
  t.same(first.entries.map((e) => e.target), ['user:nobody6', 'user:nobody5', 'user:nobody4'])
  await hub.app.inject({ method: 'POST', url: '/api/session', payload: { username: 'late', password: 'x' } })
  const second = await page(`action=session.login_failed&limit=3&before=${first.next as string}`)
  t.same(second.entries.map((e) => e.target), ['user:nobody3', 'user:nobody2', 'user:nobody1'], 'an entry added meanwhile does not shift the next page')
  const last = await page(`action=session.login_failed&limit=3&before=${second.next as string}`)
  t.same([last.entries.map((e) => e.target), last.next], [['user:nobody0'], null], 'the end: next is null')
  const bad = await hub.app.inject({ url: '/api/admin/audit?before=abc', headers: as })
  t.match([bad.statusCode, bad.json()], [400, { code: 'BAD_REQUEST' }], 'a cursor that is not one')
})

t.test('the last enabled admin can be neither disabled nor demoted', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const admin = await testUser(hub.db, 'admin', 'admin')
  const as = { authorization: `Bearer ${admin.token}` }
  for (const payload of [{ disabled: true }, { role: 'auditor' }]) {
    const r = await hub.app.inject({ method: 'PATCH', url: `/api/admin/users/${admin.user.id}`, headers: as, payload })
    t.match([r.statusCode, r.json()], [409, { code: 'CONFLICT', detail: /last enabled admin/ }], JSON.stringify(payload))
  }
  await testUser(hub.db, 'admin2', 'admin')
  const r = await hub.app.inject({ method: 'PATCH', url: `/api/admin/users/${admin.user.id}`, headers: as, payload: { role: 'auditor' } })
  t.match([r.statusCode, r.json()], [200, { role: 'auditor', agencyCode: null }], 'with another admin: allowed')
})

t.test('user input refused with 400/409 and a sentence', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const admin = await testUser(hub.db, 'admin', 'admin')
  const as = { authorization: `Bearer ${admin.token}` }
  const cases = [
    { payload: { username: 'clerk', role: 'clerk' }, status: 400, detail: /give its agency code/ },
    { payload: { username: 'clerk', role: 'clerk', agencyCode: '000.99.99.X99' }, status: 400, detail: /not in the registry/ },
    { payload: { username: 'aud', role: 'auditor', agencyCode: '000.00.00.H41' }, status: 400, detail: /not bound to an agency/ },
    { payload: { username: 'Bad Name!', role: 'auditor' }, status: 400, detail: /lower-case letters/ },
    { payload: { username: 'aud', role: 'auditor', password: 'short' }, status: 400, detail: /at least 12/ },
    { payload: { username: 'aud', role: 'auditor', password: 'aud-is-in-this-password' }, status: 400, detail: /must not contain the username/ },
    { payload: { username: 'admin', role: 'auditor' }, status: 409, detail: /taken/ },
    { payload: { username: 'aud', role: 'root' }, status: 400, detail: /role/ }
  ]
  for (const c of cases) {
    const r = await hub.app.inject({ method: 'POST', url: '/api/admin/users', headers: as, payload: c.payload })
    t.match([r.statusCode, r.json()], [c.status, { detail: c.detail }], JSON.stringify(c.payload))
  }
})
