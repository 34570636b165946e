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
