import t from 'tap'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TrustStore } from '../../src/pki/trust-store.js'
import { PKI } from '../helpers/example-pki.js'
import { testHub } from '../helpers/hub.js'
import { testUser } from '../helpers/accounts.js'

const H41 = '000.00.00.H41'

t.test('agencies: list with credentials, create and revoke an API key, each in the audit trail', async (t) => {
  const hub = await testHub(t, { redisUrl: null })
  const admin = await testUser(hub.db, 'admin', 'admin')
  const as = { authorization: `Bearer ${admin.token}` }
  const list = await hub.app.inject({ url: '/api/admin/agencies', headers: as })
  t.equal(list.statusCode, 200)
  const h41 = list.json<{ agencies: Array<{ code: string, deliveryMode: string, credentials: Array<{ kind: string, keyPrefix: string }> }> }>().agencies.find((a) => a.code === H41)
  t.match(h41, { code: H41, deliveryMode: /^(push|pull)$/, credentials: [{ kind: 'api_key', keyPrefix: /^[0-9a-f]{12}$/ }] })
  t.notOk(list.body.includes(hub.keys[H41] as string), 'no key in the listing')

  const created = await hub.app.inject({ method: 'POST', url: `/api/admin/agencies/${H41}/api-keys`, headers: as, payload: { label: 'new DMS' } })
  t.equal(created.statusCode, 201)
  const { id, key } = created.json<{ id: string, key: string }>()
  const inbox = async (): Promise<number> => (await hub.app.inject({ url: '/v1/inbox', headers: { authorization: `Bearer ${key}` } })).statusCode
  t.equal(await inbox(), 200, 'the new key opens the agency API')
  const revoked = await hub.app.inject({ method: 'DELETE', url: `/api/admin/agency-credentials/${id}`, headers: as })
  t.same([revoked.statusCode, revoked.json()], [200, { id, agencyCode: H41 }])
  t.equal(await inbox(), 401, 'revoked: refused at once')
  t.equal((await hub.app.inject({ method: 'DELETE', url: `/api/admin/agency-credentials/${id}`, headers: as })).statusCode, 409, 'twice: 409')
  t.equal((await hub.app.inject({ method: 'POST', url: '/api/admin/agencies/000.99.99.X99/api-keys', headers: as, payload: {} })).statusCode, 404, 'unknown agency: 404')

  const audit = (await hub.app.inject({ url: '/api/admin/audit?limit=2', headers: as })).json<{ entries: Array<{ action: string, target: string, actor: string }> }>().entries
  t.match(audit, [
    { action: 'agency.credential_revoke', target: `agency:${H41}`, actor: 'admin' },
    { action: 'agency.api_key_create', target: `agency:${H41}`, actor: 'admin' }
  ])
  t.notOk(JSON.stringify(audit).includes(key), 'no key in the audit trail')
})

t.test('trust store: anchors, intermediates and CRL freshness; CRL import checked like a fetched one', async (t) => {
  const store = await TrustStore.load(join(PKI, 'trust'))
  const hub = await testHub(t, { redisUrl: null, trustStore: () => store })
  const admin = await testUser(hub.db, 'admin', 'admin')
  const as = { authorization: `Bearer ${admin.token}` }
  const view = await hub.app.inject({ url: '/api/admin/trust', headers: as })
  t.equal(view.statusCode, 200)
  t.match(view.json(), {
    anchors: [{ subject: /CN=/, fingerprintSha256: /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/ }],
    intermediates: [{ subject: /CN=/ }],
    crls: [{ issuer: /CN=/, fresh: true }, { issuer: /CN=/, fresh: true }],
    refresh: { lastRoundAt: null }
  })

  const crl = await readFile(join(PKI, 'trust', 'issuing-ca.crl.pem'), 'latin1')
  const cert = await readFile(join(PKI, 'trust', 'issuing-ca.pem'), 'latin1')
  const untrusted = await readFile(join(PKI, 'special', 'untrusted', 'root-ca.pem'), 'latin1').catch(() => undefined)
  const post = async (pem: string): Promise<{ statusCode: number, json: () => Record<string, unknown> }> => await hub.app.inject({ method: 'POST', url: '/api/admin/trust/crls', headers: as, payload: { pem } })
  const first = await post(crl)
  t.match([first.statusCode, first.json()], [200, { outcome: 'stored', issuer: /CN=/ }], 'a trusted CA\'s current CRL is stored')
  const again = await post(crl)
  t.match([again.statusCode, again.json()], [200, { outcome: 'unchanged' }], 'the same CRL again: unchanged')
  const { rows } = await hub.db.query<{ source_url: string }>('SELECT source_url FROM crls')
  t.same(rows.map((r) => r.source_url), ['admin:admin'], 'kept in the database, where every gateway reads it from')
  const refusals = [
    { name: 'not PEM at all', pem: 'hello', status: 400 },
    { name: 'a certificate, not a CRL', pem: cert, status: 400 },
    ...(untrusted != null ? [{ name: 'a certificate of an untrusted CA', pem: untrusted, status: 400 }] : [])
  ]
  for (const r of refusals) t.equal((await post(r.pem)).statusCode, r.status, r.name)
  const entries = (await hub.app.inject({ url: '/api/admin/audit?action=trust.crl_import', headers: as })).json<{ entries: unknown[] }>().entries
  t.equal(entries.length, 1, 'one audit entry: the import that changed something')
})
