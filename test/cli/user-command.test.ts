import t from 'tap'
import { runCli } from '../helpers/cli.js'
import { testDatabase } from '../helpers/database.js'
import { testHub } from '../helpers/hub.js'
import { databaseUrlOf, lienthongEnv } from '../helpers/hub-process.js'

// `lienthong user ...` and `lienthong token ...` as an operator runs them against the database a
// running hub uses: the printed password signs in, the printed token authenticates, disable stops
// both at once, every change is in the audit trail as cli:<os user>, and refusals exit 2.

// A dozen CLI processes, two of them hashing a password at full cost: generous on a shared box.
t.setTimeout(600_000)

t.test('user add/list/disable/enable/reset-password, token create/revoke', async (t) => {
  const db = await testDatabase(t)
  const env = lienthongEnv({ DATABASE_URL: databaseUrlOf(db) })
  const hub = await testHub(t, { db, redisUrl: null })

  const added = await runCli(['user', 'add', 'Clerk.H41', '--role', 'clerk', '--agency', '000.00.00.H41', '--display-name', 'Nguyễn Thị B'], env)
  t.equal(added.code, 0, added.stderr)
  t.match(added.stdout, /^created clerk clerk\.h41 \([0-9a-f-]{36}\) of 000\.00\.00\.H41$/m)
  const password = /^password: (\S+)$/m.exec(added.stdout)?.[1] as string
  t.ok(password.length >= 16, 'a generated password, printed once')
  const login = async (pw: string): Promise<number> => (await hub.app.inject({ method: 'POST', url: '/api/session', payload: { username: 'clerk.h41', password: pw } })).statusCode
  t.equal(await login(password), 200, 'the printed password signs in')

  const listed = await runCli(['user', 'list', '--json'], env)
  t.match(JSON.parse(listed.stdout), [{ username: 'clerk.h41', role: 'clerk', agencyCode: '000.00.00.H41', displayName: 'Nguyễn Thị B', disabled: false }])
  t.notOk(listed.stdout.includes(password), 'no password in the listing')

  const token = await runCli(['token', 'create', 'clerk.h41', '--label', 'report script', '--expires-in-days', '30'], env)
  t.equal(token.code, 0, token.stderr)
  const secret = token.stdout.trim()
  const tokenId = /created token ([0-9a-f-]{36})/.exec(token.stderr)?.[1] as string
  const whoami = async (): Promise<number> => (await hub.app.inject({ url: '/api/session', headers: { authorization: `Bearer ${secret}` } })).statusCode
  t.equal(await whoami(), 200, 'the printed token authenticates')

  t.equal((await runCli(['user', 'disable', 'clerk.h41'], env)).code, 0)
  t.same([await login(password), await whoami()], [401, 401], 'disabled: neither password nor token works')
  t.equal((await runCli(['user', 'enable', 'clerk.h41'], env)).code, 0)
  t.equal(await whoami(), 200, 'enabled again')

  t.equal((await runCli(['token', 'revoke', tokenId], env)).code, 0)
  t.equal(await whoami(), 401, 'a revoked token stops')

  // A password reset also revokes the user's personal tokens (docs/accounts.md).
  const second = await runCli(['token', 'create', 'clerk.h41', '--label', 'second script'], env)
  t.equal(second.code, 0, second.stderr)
  const secondSecret = second.stdout.trim()
  const secondWhoami = async (): Promise<number> => (await hub.app.inject({ url: '/api/session', headers: { authorization: `Bearer ${secondSecret}` } })).statusCode
  t.equal(await secondWhoami(), 200, 'the second token authenticates')
  const reset = await runCli(['user', 'reset-password', 'clerk.h41'], env)
  const newPassword = /^password: (\S+)$/m.exec(reset.stdout)?.[1] as string
  t.same([await login(password), await login(newPassword)], [401, 200], 'the old password stops, the new one works')
  t.equal(await secondWhoami(), 401, 'the reset revoked the second token')

  const { rows } = await db.query<{ action: string, actor: string, actor_via: string, source: string }>('SELECT action, actor, actor_via, source FROM admin_audit WHERE actor_via = \'cli\' ORDER BY id')
  t.same(rows.map((r) => r.action), ['user.create', 'token.create', 'user.disable', 'user.enable', 'token.revoke', 'token.create', 'user.reset_password'], 'each change in the audit trail')
  t.ok(rows.every((r) => r.actor.startsWith('cli:') && r.source.startsWith('cli@')), 'as cli:<os user> from cli@<host>')

  const refusals = [
    { args: ['user', 'add', 'clerk.h41', '--role', 'auditor'], message: /taken/ },
    { args: ['user', 'add', 'someone', '--role', 'clerk'], message: /give its agency code/ },
    { args: ['user', 'add', 'someone', '--role', 'clerk', '--agency', '000.99.99.X99'], message: /not in the registry/ },
    { args: ['user', 'disable', 'nobody'], message: /no user nobody/ },
    { args: ['token', 'revoke', tokenId], message: /already revoked/ }
  ]
  for (const r of refusals) {
    const res = await runCli(r.args, env)
    t.match([res.code, res.stderr], [2, r.message], r.args.join(' '))
  }
})

t.test('lienthong agency key create|revoke is recorded in the audit trail too', async (t) => {
  const db = await testDatabase(t)
  const env = lienthongEnv({ DATABASE_URL: databaseUrlOf(db) })
  const created = await runCli(['agency', 'key', 'create', '000.00.00.G22', '--label', 'new DMS'], env)
  t.equal(created.code, 0, created.stderr)
  const id = /created API key ([0-9a-f-]{36})/.exec(created.stderr)?.[1] as string
  t.equal((await runCli(['agency', 'key', 'revoke', id], env)).code, 0)
  const { rows } = await db.query<{ action: string, target: string, actor_via: string, after: unknown }>('SELECT action, target, actor_via, after FROM admin_audit ORDER BY id')
  t.match(rows, [
    { action: 'agency.api_key_create', target: 'agency:000.00.00.G22', actor_via: 'cli', after: { credentialId: id, label: 'new DMS' } },
    { action: 'agency.credential_revoke', target: 'agency:000.00.00.G22', actor_via: 'cli' }
  ])
  t.notOk(JSON.stringify(rows).includes(created.stdout.trim()), 'no key in the audit trail')
})
