import t from 'tap'
import type { AddressInfo } from 'node:net'
import { testHub } from '../helpers/hub.js'

// docs/accounts.md: requests that present no credential at all answer 401 and leave the
// failed-authentication budget of their address alone; a wrong credential of any kind spends it.
// A real gateway on loopback HTTP, every request from 127.0.0.1 (one office behind one NAT).

const G22 = '000.00.00.G22'
const BUDGET = 3

t.test('no credential: 401, not counted; wrong credentials of every kind: counted, then 429', async (t) => {
  const hub = await testHub(t, { redisUrl: null, authFailuresPerMinute: BUDGET })
  await hub.app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`
  const get = async (path: string, headers: Record<string, string> = {}): Promise<{ status: number, code: string | undefined }> => {
    const res = await fetch(base + path, { headers })
    const body = await res.text()
    return { status: res.status, code: res.headers.get('content-type')?.includes('json') === true ? (JSON.parse(body) as { code?: string }).code : undefined }
  }

  // A browser behind the office's NAT, without any credential, many times the budget over.
  const anonymous = ['/favicon.ico', '/robots.txt', '/v1/inbox', '/api/admin/users', '/console/nothing-here', '/vdxp/nothing']
  for (let round = 0; round < 3 * BUDGET; round++) {
    for (const path of anonymous) {
      const res = await get(path)
      if (res.status !== 401 || res.code !== 'UNAUTHENTICATED') t.fail(`${path} without a credential (round ${round}): ${res.status} ${String(res.code)}`)
    }
  }
  t.pass(`${3 * BUDGET * anonymous.length} requests without a credential: all 401 UNAUTHENTICATED`)

  // Each kind of wrong credential counts: the budget (3) is spent by the first three, the rest get 429.
  const wrong: Array<{ name: string, path: string, headers: Record<string, string> }> = [
    { name: 'an unknown API key', path: '/v1/inbox', headers: { authorization: 'Bearer lt_000000000000_' + 'A'.repeat(43) } },
    { name: 'a malformed Authorization header', path: '/v1/inbox', headers: { authorization: 'Basic Zm9vOmJhcg==' } },
    { name: 'a session cookie of no session', path: '/api/admin/users', headers: { cookie: 'lienthong_session=guess' } },
    { name: 'VDXP headers of no system', path: '/vdxp/nothing', headers: { 'xroadvnpt-systemid': 'nobody', 'xroadvnpt-sign-header': '{}', 'xroadvnpt-hash-header': 'x' } },
    { name: 'an unknown API key again', path: '/favicon.ico', headers: { authorization: 'Bearer nothing' } }
  ]
  const statuses = []
  for (const w of wrong) statuses.push([w.name, (await get(w.path, w.headers)).status])
  t.same(statuses, wrong.map((w, i) => [w.name, i < BUDGET ? 401 : 429]), 'three failures, then 429 for every kind of wrong credential')

  t.same(await get('/favicon.ico'), { status: 401, code: 'UNAUTHENTICATED' }, 'still 401 without a credential from the exhausted address')
  t.equal((await get('/v1/inbox', { authorization: `Bearer ${hub.keys[G22] ?? ''}` })).status, 200, 'a valid key from the exhausted address is served')
  t.equal((await get('/v1/inbox', { authorization: 'Bearer wrong' })).status, 429, 'and a wrong one is still refused with 429')
})
