import t from 'tap'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { demoAccounts } from '../../src/hub/demo-accounts.js'
import { listAgencyCodes } from '../../src/store/agencies.js'
import { testHub } from '../helpers/hub.js'

// Six full-cost password hashes on a shared machine.
t.setTimeout(300_000)

t.test('npm start\'s demo accounts: a clerk per demo agency, an auditor and an admin, kept across restarts', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const dir = await mkdtemp(join(tmpdir(), 'lt-demo-accounts-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })

  const first = await demoAccounts(hub.db, dir)
  const codes = await listAgencyCodes(hub.db)
  t.same(first.filter((a) => a.role === 'clerk').map((a) => a.agencyCode).sort(), codes, 'a clerk per agency')
  t.same(first.filter((a) => a.role !== 'clerk').map((a) => [a.username, a.role]), [['auditor', 'auditor'], ['admin', 'admin']])
  t.ok(first.every((a) => a.password.length >= 16), 'random passwords')
  t.equal((await stat(join(dir, 'demo-accounts.json'))).mode & 0o777, 0o600, 'the file is readable by its owner only')
  const saved = JSON.parse(await readFile(join(dir, 'demo-accounts.json'), 'utf8')) as Record<string, { password: string }>
  t.equal(saved.admin?.password, first.find((a) => a.username === 'admin')?.password, 'the file holds what was printed')

  const admin = first.find((a) => a.username === 'admin')
  const login = await hub.app.inject({ method: 'POST', url: '/api/session', payload: { username: 'admin', password: admin?.password } })
  t.equal(login.statusCode, 200, 'the printed password signs in')

  const again = await demoAccounts(hub.db, dir)
  t.same(again, first, 'a restart keeps the accounts and passwords')

  await rm(join(dir, 'demo-accounts.json'))
  const reset = await demoAccounts(hub.db, dir)
  t.not(reset.find((a) => a.username === 'admin')?.password, admin?.password, 'without the file, new passwords (the file is the only place they are shown)')
  const relogin = await hub.app.inject({ method: 'POST', url: '/api/session', payload: { username: 'admin', password: reset.find((a) => a.username === 'admin')?.password } })
  t.equal(relogin.statusCode, 200)
})
