import t from 'tap'
import { testHub } from '../helpers/hub.js'
import { testUser } from '../helpers/accounts.js'

t.test('personal tokens: shown once, listed without secret, revocable, expiring', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const auditor = await testUser(hub.db, 'auditor', 'auditor')
  const admin = await testUser(hub.db, 'admin', 'admin')
  const as = (token: string) => ({ authorization: `Bearer ${token}` })

  const created = await hub.app.inject({ method: 'POST', url: '/api/me/tokens', headers: as(auditor.token), payload: { label: 'nightly export' } })
  t.equal(created.statusCode, 201)
  const { token, secret } = created.json<{ token: { id: string, prefix: string }, secret: string }>()
  t.match(secret, /^lu_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/)
  t.equal((await hub.app.inject({ url: '/api/session', headers: as(secret) })).json<{ user: { username: string } }>().user.username, 'auditor')

  const listed = await hub.app.inject({ url: '/api/me/tokens', headers: as(auditor.token) })
  t.notOk(listed.body.includes(secret.slice(20)), 'no secret in the listing')
  t.equal(listed.json<{ tokens: unknown[] }>().tokens.length, 2)
  const stored = await hub.db.query<{ secret_sha256: string }>('SELECT secret_sha256 FROM user_tokens WHERE id = $1', [token.id])
  t.notOk(JSON.stringify(stored.rows).includes(secret), 'only the hash is stored')

  const adminsToken = (await hub.app.inject({ url: '/api/me/tokens', headers: as(admin.token) })).json<{ tokens: Array<{ id: string }> }>().tokens[0]?.id as string
  const foreign = await hub.app.inject({ method: 'DELETE', url: `/api/me/tokens/${adminsToken}`, headers: as(auditor.token) })
  t.equal(foreign.statusCode, 404, 'somebody else\'s token cannot be revoked through /api/me (nor learnt about)')
  const revoked = await hub.app.inject({ method: 'DELETE', url: `/api/me/tokens/${token.id}`, headers: as(auditor.token) })
  t.equal(revoked.statusCode, 200)
  t.equal((await hub.app.inject({ url: '/api/session', headers: as(secret) })).statusCode, 401, 'a revoked token stops at once')
  t.equal((await hub.app.inject({ method: 'DELETE', url: `/api/me/tokens/${token.id}`, headers: as(auditor.token) })).statusCode, 409, 'revoking twice: 409')

  const forAuditor = await hub.app.inject({ method: 'POST', url: `/api/admin/users/${auditor.user.id}/tokens`, headers: as(admin.token), payload: { label: 'by admin', expiresAt: new Date(Date.now() + 3_600_000).toISOString() } })
  t.equal(forAuditor.statusCode, 201, 'an admin creates a token for a user')
  const expiring = forAuditor.json<{ token: { id: string, createdBy: string }, secret: string }>()
  t.equal(expiring.token.createdBy, admin.user.id)
  t.equal((await hub.app.inject({ url: '/api/session', headers: as(expiring.secret) })).statusCode, 200)
  await hub.db.query("UPDATE user_tokens SET expires_at = now() - interval '1 second' WHERE id = $1", [expiring.token.id])
  t.equal((await hub.app.inject({ url: '/api/session', headers: as(expiring.secret) })).statusCode, 401, 'an expired token stops')

  const past = await hub.app.inject({ method: 'POST', url: '/api/me/tokens', headers: as(auditor.token), payload: { expiresAt: '2001-01-01T00:00:00Z' } })
  t.match([past.statusCode, past.json()], [400, { code: 'BAD_REQUEST' }], 'an expiry in the past is refused')
  const malformed = [`lu_${'0'.repeat(12)}_${'A'.repeat(43)}`, 'lu_short', `lt_${'0'.repeat(12)}_${'A'.repeat(43)}`]
  for (const m of malformed) t.equal((await hub.app.inject({ url: '/api/session', headers: as(m) })).statusCode, 401, `refused: ${m.slice(0, 10)}...`)
})

t.test('a password reset ends the user\'s sessions and revokes their tokens, in one transaction with its audit row', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const clerk = await testUser(hub.db, 'clerk.reset', 'clerk', '000.00.00.H41')
  const bystander = await testUser(hub.db, 'clerk.other', 'clerk', '000.00.00.H41')
  const admin = await testUser(hub.db, 'admin', 'admin')
  const as = (token: string) => ({ authorization: `Bearer ${token}` })
  const second = (await hub.app.inject({ method: 'POST', url: '/api/me/tokens', headers: as(clerk.token), payload: { label: 'script' } })).json<{ secret: string }>().secret
  const login = await hub.app.inject({ method: 'POST', url: '/api/session', payload: { username: 'clerk.reset', password: clerk.password } })
  const cookie = String(login.headers['set-cookie']).split(';')[0] as string
  const status = async (headers: Record<string, string>): Promise<number> => (await hub.app.inject({ url: '/api/session', headers })).statusCode
  t.same([await status(as(clerk.token)), await status(as(second)), await status({ cookie })], [200, 200, 200], 'before: two tokens and a session work')

  // A refused reset (too short a password) changes nothing.
  const refused = await hub.app.inject({ method: 'POST', url: `/api/admin/users/${clerk.user.id}/password`, headers: as(admin.token), payload: { password: 'short' } })
  t.equal(refused.statusCode, 400)
  t.same([await status(as(clerk.token)), await status({ cookie })], [200, 200], 'a refused reset leaves tokens and sessions alone')

  const reset = await hub.app.inject({ method: 'POST', url: `/api/admin/users/${clerk.user.id}/password`, headers: as(admin.token), payload: { password: 'a new and long enough passphrase' } })
  t.equal(reset.statusCode, 200)
  t.same([await status(as(clerk.token)), await status(as(second)), await status({ cookie })], [401, 401, 401], 'after: every token and the session stop at once')
  t.equal(await status(as(bystander.token)), 200, 'another user\'s token is untouched')
  const { rows } = await hub.db.query<{ live: string }>('SELECT count(*)::text AS live FROM user_tokens WHERE user_id = $1 AND revoked_at IS NULL', [clerk.user.id])
  t.equal(rows[0]?.live, '0', 'the tokens are revoked in the table (listed as revoked, not deleted)')
  const audit = await hub.db.query<{ detail: string }>("SELECT detail FROM admin_audit WHERE action = 'user.reset_password'")
  t.same(audit.rows, [{ detail: '1 session(s) ended, 2 token(s) revoked' }], 'the audit row says what the reset ended')
  const relogin = await hub.app.inject({ method: 'POST', url: '/api/session', payload: { username: 'clerk.reset', password: 'a new and long enough passphrase' } })
  t.equal(relogin.statusCode, 200, 'the new password signs in')
})
