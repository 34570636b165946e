import t from 'tap'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { DeliveryQueue } from '../../src/queue/delivery-queue.js'
import { signEdxml } from '../../src/signing/sign-document.js'
import { testUser } from '../helpers/accounts.js'
import { testDatabase } from '../helpers/database.js'
import { PKI } from '../helpers/example-pki.js'
import { REDIS_URL } from '../helpers/hub.js'
import { lienthongEnv, opsHubSettings, startLienthong, waitUntil } from '../helpers/hub-process.js'
import { documentFromTo, unsignedXmlFromTo } from '../helpers/ops-fixtures.js'

// The registry held in the database, across processes (docs/agency-registry.md, "Registry in the
// database"): an admin changes it through one gateway; that gateway's verification threads use the
// change when the API answers, another gateway process (same database) within its registry poll.
// The new agency is signed for by the example PKI's "untrusted" leaf, under a root that is not in
// the trust directory: it verifies only once an admin has added that root as a trust anchor.

const NEW = '000.00.00.X77'
const H41 = '000.00.00.H41'
const pem = (...path: string[]): string => readFileSync(join(PKI, ...path), 'utf8')
const UNTRUSTED_LEAF = pem('special', 'untrusted', 'cert.pem')
const UNTRUSTED_ROOT = pem('special', 'untrusted', 'root-ca.pem')
/** REGISTRY_POLL_MS (2 s) plus a verification pool's reload, with room for a busy machine. */
const BOUND_MS = 15_000

function fromNewAgency (n: number): Buffer {
  return Buffer.from(signEdxml(unsignedXmlFromTo(NEW, H41, n), { privateKeyPem: pem('special', 'untrusted', 'key.pem'), certificatePem: UNTRUSTED_LEAF }))
}

t.test('an agency created through one gateway submits and receives at once there, and through another gateway process within the poll', async (t) => {
  const db = await testDatabase(t)
  const prefix = `{lt-registry-${process.pid}-${randomBytes(3).toString('hex')}}`
  const queue = new DeliveryQueue(REDIS_URL, prefix)
  t.teardown(async () => {
    await queue.queue.obliterate({ force: true }).catch(() => {})
    await queue.close()
  })
  const dir = t.testdir()
  // best-effort revocation: the untrusted root of the example PKI publishes no CRL.
  const env = lienthongEnv(opsHubSettings({ db, redisUrl: REDIS_URL, prefix, registryFile: join(PKI, 'registry.json'), dir }, { LIENTHONG_REVOCATION: 'best-effort' }))
  // The worker logs at info: its registry reloads are how it shows that it saw a change.
  const [a, b, worker] = await Promise.all([startLienthong(t, 'serve', env), startLienthong(t, 'serve', env), startLienthong(t, 'worker', { ...env, LIENTHONG_LOG_LEVEL: 'info' })])
  const admin = await testUser(db, 'admin', 'admin')
  const api = async (gateway: string, method: string, path: string, body?: unknown): Promise<{ status: number, json: any }> => {
    const res = await fetch(`${gateway}/api${path}`, { method, headers: { authorization: `Bearer ${admin.token}`, ...(body != null ? { 'content-type': 'application/json' } : {}) }, ...(body != null ? { body: JSON.stringify(body) } : {}) })
    return { status: res.status, json: await res.json().catch(() => null) }
  }
  const submit = async (gateway: string, key: string, bytes: Buffer): Promise<{ status: number, code: string | undefined }> => {
    const res = await fetch(`${gateway}/v1/documents`, { method: 'POST', headers: { 'content-type': 'application/xml', authorization: `Bearer ${key}` }, body: new Uint8Array(bytes) })
    const body = await res.json() as { code?: string }
    return { status: res.status, code: body.code }
  }
  /** How long until `gateway` answers a fresh document of the new agency with `status`. */
  const until = async (gateway: string, key: string, status: number, first: number): Promise<number> => {
    const started = Date.now()
    let n = first
    await waitUntil(`${gateway} answers ${status}`, async () => (await submit(gateway, key, fromNewAgency(n++))).status === status, BOUND_MS)
    return Date.now() - started
  }

  const created = await api(a.url, 'POST', '/admin/agencies', { code: NEW, name: 'Sở Thử nghiệm', delivery: { mode: 'pull' }, signingCertificates: [{ pem: UNTRUSTED_LEAF, label: 'văn thư' }] })
  t.match(created, { status: 201, json: { code: NEW, managedBy: 'admin', signingCertificates: [{ fingerprint: /^[0-9a-f]{64}$/, revokedAt: null }] } })
  const key = (await api(a.url, 'POST', `/admin/agencies/${NEW}/api-keys`, { label: 'DMS' })).json.key as string
  t.match(await submit(a.url, key, fromNewAgency(1)), { status: 422, code: /^CERT_/ }, 'known agency, bound certificate, but its root is not trusted yet')

  const anchor = await api(a.url, 'POST', '/admin/trust/cas', { pem: UNTRUSTED_ROOT })
  t.match(anchor, { status: 201, json: { kind: 'anchor', subject: /Untrusted Example Root/ } })
  t.match(await submit(a.url, key, fromNewAgency(2)), { status: 202 }, 'gateway A: accepted as soon as the admin API answered')
  const seenByB = await until(b.url, key, 202, 100)
  t.ok(seenByB < BOUND_MS, `gateway B accepts it after ${seenByB} ms`)
  t.comment(`anchor + agency visible in another gateway process after ${seenByB} ms`)
  // The worker process (receipts, upstream polls) reloads its registry and trust store too.
  await worker.waitForOutput(/"why":"registry, trust CAs or stored CRLs changed"/, BOUND_MS)

  // ... and it receives: H41 sends to it, it pulls its inbox with its new key.
  const h41 = (await api(a.url, 'POST', `/admin/agencies/${H41}/api-keys`, { label: 'test' })).json.key as string
  const sent = await submit(b.url, h41, documentFromTo(H41, NEW, 500))
  t.equal(sent.status, 202, 'a document to the new agency is accepted')
  const inbox = await fetch(`${a.url}/v1/inbox`, { headers: { authorization: `Bearer ${key}` } })
  t.equal(inbox.status, 200)
  t.match(await inbox.json(), { items: [{ sender: H41 }] }, 'the new agency finds it in its inbox')

  // Revocation: refused (sender binding) at once on A, within the poll on B.
  const fingerprint = created.json.signingCertificates[0].fingerprint as string
  t.match(await api(a.url, 'DELETE', `/admin/agencies/${NEW}/signing-certificates/${fingerprint}`), { status: 200, json: { agencyCode: NEW, fingerprint } })
  t.match(await submit(a.url, key, fromNewAgency(3)), { status: 403, code: 'SENDER_MISMATCH' }, 'gateway A: the revoked certificate no longer signs for the agency')
  const revokedOnB = await until(b.url, key, 403, 200)
  t.comment(`revocation visible in another gateway process after ${revokedOnB} ms`)
  t.match(await submit(b.url, key, fromNewAgency(300)), { status: 403, code: 'SENDER_MISMATCH' })

  const audit = (await api(a.url, 'GET', '/admin/audit?limit=10')).json.entries.map((e: { action: string }) => e.action) as string[]
  t.match(audit, ['agency.signing_cert_revoke', 'agency.api_key_create', 'trust.anchor_add', 'agency.api_key_create', 'agency.create'], 'every change in the audit trail')
})
