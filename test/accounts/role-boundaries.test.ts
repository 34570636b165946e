import t from 'tap'
import type { Role } from '../../src/domain/principal.js'
import { agencyFilterFor, mayReadDocument } from '../../src/gateway/scopes/role-guard.js'
import { testHub } from '../helpers/hub.js'
import { testUser } from '../helpers/accounts.js'

// Every /api route, and which roles may use it. A route added to the /api scope without a line
// here fails the walk below: its role boundary must be decided, not inherited by accident.
// A refused role gets 403 FORBIDDEN (docs/accounts.md, "403 or 404").
const EVERYONE: Role[] = ['clerk', 'auditor', 'admin']
const ADMIN: Role[] = ['admin']
const AUDITORS: Role[] = ['auditor', 'admin']
const ACCESS: Record<string, Role[]> = {
  'GET /api/session': EVERYONE,
  'HEAD /api/session': EVERYONE,
  'DELETE /api/session': EVERYONE,
  'GET /api/me/tokens': EVERYONE,
  'HEAD /api/me/tokens': EVERYONE,
  'POST /api/me/tokens': EVERYONE,
  'DELETE /api/me/tokens/:id': EVERYONE,
  'GET /api/admin/users': ADMIN,
  'HEAD /api/admin/users': ADMIN,
  'POST /api/admin/users': ADMIN,
  'GET /api/admin/users/:id': ADMIN,
  'HEAD /api/admin/users/:id': ADMIN,
  'PATCH /api/admin/users/:id': ADMIN,
  'POST /api/admin/users/:id/password': ADMIN,
  'GET /api/admin/users/:id/tokens': ADMIN,
  'HEAD /api/admin/users/:id/tokens': ADMIN,
  'POST /api/admin/users/:id/tokens': ADMIN,
  'DELETE /api/admin/tokens/:id': ADMIN,
  'GET /api/admin/audit': ADMIN,
  'HEAD /api/admin/audit': ADMIN,
  'GET /api/admin/agencies': ADMIN,
  'HEAD /api/admin/agencies': ADMIN,
  'POST /api/admin/agencies': ADMIN,
  'GET /api/admin/agencies/:code': ADMIN,
  'HEAD /api/admin/agencies/:code': ADMIN,
  'PATCH /api/admin/agencies/:code': ADMIN,
  'POST /api/admin/agencies/:code/signing-certificates': ADMIN,
  'DELETE /api/admin/agencies/:code/signing-certificates/:fingerprint': ADMIN,
  'POST /api/admin/agencies/:code/api-keys': ADMIN,
  'DELETE /api/admin/agency-credentials/:id': ADMIN,
  'GET /api/admin/trust': ADMIN,
  'HEAD /api/admin/trust': ADMIN,
  'POST /api/admin/trust/cas': ADMIN,
  'POST /api/admin/trust/crls': ADMIN,
  'GET /api/signature-log': AUDITORS,
  'HEAD /api/signature-log': AUDITORS,
  'GET /api/signature-log/export': AUDITORS,
  'HEAD /api/signature-log/export': AUDITORS,
  'GET /api/signature-log/integrity': AUDITORS,
  'HEAD /api/signature-log/integrity': AUDITORS,
  'GET /api/signature-log/checkpoints': AUDITORS,
  'HEAD /api/signature-log/checkpoints': AUDITORS,
  'GET /api/signature-log/checkpoints/:id': AUDITORS,
  'HEAD /api/signature-log/checkpoints/:id': AUDITORS,
  'GET /api/signature-log/:id': AUDITORS,
  'HEAD /api/signature-log/:id': AUDITORS,
  'GET /api/documents': EVERYONE,
  'HEAD /api/documents': EVERYONE,
  'GET /api/documents/:id/timeline': EVERYONE,
  'HEAD /api/documents/:id/timeline': EVERYONE,
  'GET /api/receipts/:id': EVERYONE,
  'HEAD /api/receipts/:id': EVERYONE,
  'POST /api/deliveries/:id/resend': ['clerk', 'admin']
}

const DUMMY_ID = '0b7e8f0c-4a51-4d0e-9a3e-5f1c2d3e4f50'

t.test('every /api route admits exactly its roles: the others get 403 FORBIDDEN', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const tokens: Record<Role, string> = {
    clerk: (await testUser(hub.db, 'clerk.h41', 'clerk', '000.00.00.H41')).token,
    auditor: (await testUser(hub.db, 'auditor', 'auditor')).token,
    admin: (await testUser(hub.db, 'admin', 'admin')).token
  }
  await hub.app.ready()
  const routes = hub.app.gatewayRoutes().filter((r) => r.scope === 'api').map((r) => `${r.method} ${r.url}`).sort()
  t.same(routes, Object.keys(ACCESS).sort(), 'the table names every /api route (a new route needs its line)')
  for (const route of routes) {
    const [method, url] = route.split(' ') as [string, string]
    for (const role of ['clerk', 'auditor', 'admin'] as const) {
      const res = await hub.app.inject({
        method: method as 'GET',
        url: url.replace(/:[A-Za-z]+/g, DUMMY_ID),
        headers: { authorization: `Bearer ${tokens[role]}` },
        ...(['POST', 'PATCH', 'PUT'].includes(method) ? { payload: {} } : {})
      })
      if ((ACCESS[route] ?? []).includes(role)) {
        t.not(res.statusCode, 403, `${route} as ${role}: admitted (${res.statusCode})`)
        t.not(res.statusCode, 401, `${route} as ${role}: authenticated`)
      } else {
        t.equal(res.statusCode, 403, `${route} as ${role}: 403`)
        if (method !== 'HEAD') t.equal(res.json<{ code: string }>().code, 'FORBIDDEN')
      }
    }
  }
})

t.test('credentials do not cross scopes: a personal token opens no agency API, an agency key no /api', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const admin = await testUser(hub.db, 'admin', 'admin')
  const cases = [
    { url: '/v1/inbox', authorization: `Bearer ${admin.token}` },
    { url: '/api/session', authorization: `Bearer ${hub.keys['000.00.00.H41'] as string}` },
    { url: '/api/admin/users', authorization: `Bearer ${hub.keys['000.00.00.H41'] as string}` }
  ]
  for (const c of cases) {
    const res = await hub.app.inject({ url: c.url, headers: { authorization: c.authorization } })
    t.match([res.statusCode, res.json()], [401, { code: 'UNAUTHENTICATED' }], c.url)
  }
})

t.test('agency scoping of a clerk, for the routes that read documents', async (t) => {
  const clerk = { userId: 'u1', username: 'c', role: 'clerk' as const, agencyCode: 'A', via: 'token' as const }
  const auditor = { ...clerk, role: 'auditor' as const, agencyCode: null }
  const admin = { ...clerk, role: 'admin' as const, agencyCode: null }
  const reads = [
    { who: clerk, parties: { sender: 'A', recipients: ['B'] }, may: true, name: 'clerk, own agency sent it' },
    { who: clerk, parties: { sender: 'B', recipients: ['C', 'A'] }, may: true, name: 'clerk, own agency among the recipients' },
    { who: clerk, parties: { sender: 'B', recipients: ['C'] }, may: false, name: 'clerk, another agency\'s document' },
    { who: auditor, parties: { sender: 'B', recipients: ['C'] }, may: true, name: 'auditor: every agency' },
    { who: admin, parties: { sender: 'B', recipients: ['C'] }, may: true, name: 'admin: every agency' }
  ]
  for (const r of reads) t.equal(mayReadDocument(r.who, r.parties), r.may, r.name)
  const filters = [
    { who: clerk, asked: undefined, gives: 'A', name: 'a clerk without a filter sees its agency' },
    { who: clerk, asked: 'A', gives: 'A', name: 'a clerk asking for its agency' },
    { who: auditor, asked: undefined, gives: null, name: 'an auditor without a filter: every agency' },
    { who: auditor, asked: 'B', gives: 'B', name: 'an auditor asking for one' }
  ]
  for (const f of filters) t.equal(agencyFilterFor(f.who, f.asked), f.gives, f.name)
  t.throws(() => agencyFilterFor(clerk, 'B'), { code: 'FORBIDDEN' }, 'a clerk asking for another agency: 403')
})
