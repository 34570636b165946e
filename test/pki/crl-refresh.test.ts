import t from 'tap'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildExamplePki } from '../../src/pki/example-pki/build.js'
import { examplePkiFiles } from '../../src/pki/example-pki/files.js'
import { issueCrl, CrlReason, type CrlSpec, type Issued } from '../../src/pki/example-pki/issue.js'
import { certificatePem, crlPem, privateKeyPem } from '../../src/pki/example-pki/keys.js'
import { writeExamplePkiFiles } from '../../src/pki/example-pki/write.js'
import { refreshCrls, startCrlRefresh, type CrlUrlResult } from '../../src/hub/crl-refresh.js'
import { openRevocationSync } from '../../src/hub/revocation-sync.js'
import { hubReadinessChecks } from '../../src/hub/readiness-checks.js'
import { signEdxml } from '../../src/signing/sign-document.js'
import { claimRefreshRound, refreshStatus, storedCrls, storedCrlsVersion } from '../../src/store/crls.js'
import { createVerificationPool } from '../../src/verification/verification-pool.js'
import { DEFAULT_MAX_BYTES } from '../../src/verification/verification-policy.js'
import type { Verdict } from '../../src/domain/verdict.js'
import { testDatabase, testPglite } from '../helpers/database.js'
import { FIXTURES } from '../helpers/example-pki.js'
import { testRsaKeyPair } from '../helpers/test-keys.js'

// The revocation-data refresh end to end: a fresh example PKI (so the test holds the CA keys and
// can issue CRLs), a real HTTP server publishing them, real PostgreSQL, the real verification pool.

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const ISSUING_DN = 'C=VN, O=Example PKI (NOT FOR PRODUCTION), CN=Example Government Issuing CA'
const ROOT_DN = 'C=VN, O=Example PKI (NOT FOR PRODUCTION), CN=Vietnam Example National Root CA'

const started = new Date()
const pki = await buildExamplePki(started, testRsaKeyPair)
const dir = t.testdir()
await writeExamplePkiFiles(dir, await examplePkiFiles(pki), true)
const trustDir = join(dir, 'trust')
const registryFile = join(dir, 'registry.json')
const g22 = pki.agencies.get('000.00.00.G22') as Issued

/** A CRL of the issuing CA (or of `spec.issuer`), signed with its key, dates relative to now. */
async function crl (spec: Partial<CrlSpec> & { crlNumber: number, nextInMs?: number, thisAgoMs?: number }): Promise<Buffer> {
  const now = Date.now()
  return Buffer.from(await issueCrl({
    issuer: spec.issuer ?? pki.issuing,
    thisUpdate: new Date(now - (spec.thisAgoMs ?? MINUTE)),
    nextUpdate: new Date(now + (spec.nextInMs ?? 7 * DAY)),
    crlNumber: spec.crlNumber,
    ...(spec.revoked != null ? { revoked: spec.revoked } : {})
  }))
}
const revokedEntry = (cert: Issued): NonNullable<CrlSpec['revoked']>[number] => ({ cert: cert.cert, date: new Date(Date.now() - MINUTE), reason: CrlReason.keyCompromise })
// The issuing CA's name and key identifier, but another key: what a forger can produce.
const forger: Issued = { ...pki.issuing, keys: await testRsaKeyPair() }

// The CRL publisher: path -> what it answers. '/hang' never answers.
const published = new Map<string, { status: number, body: Buffer | string }>()
const hanging = new Set<ServerResponse>()
const server = createServer((req, res) => {
  if (req.url === '/hang') { hanging.add(res); return }
  const page = published.get(req.url ?? '')
  if (page == null) { res.writeHead(404).end('not found'); return }
  res.writeHead(page.status, { 'content-type': 'application/pkix-crl' }).end(page.body)
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
t.teardown(() => { for (const res of hanging) res.destroy(); server.close() })
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
const url = (path: string): string => base + path

const db = await testDatabase(t)
const refresh = async (paths: string[], extra: { timeoutMs?: number, maxBytes?: number } = {}): Promise<CrlUrlResult[]> =>
  await refreshCrls({ db, urls: paths.map(url), trustDir, timeoutMs: extra.timeoutMs ?? 5000, ...(extra.maxBytes != null ? { maxBytes: extra.maxBytes } : {}) })
const held = async (): Promise<Record<string, string | null>> =>
  Object.fromEntries((await storedCrls(db)).map((c) => [c.issuer, c.crlNumber]))

t.test('a CRL signed by its CA is fetched (DER or PEM), verified and stored; the same again is unchanged', async (t) => {
  published.set('/issuing.crl', { status: 200, body: await crl({ crlNumber: 2, revoked: [revokedEntry(pki.special.revoked)] }) })
  published.set('/root.crl.pem', { status: 200, body: crlPem(new Uint8Array(await crl({ issuer: pki.root, crlNumber: 2 })).buffer) })
  const first = await refresh(['/issuing.crl', '/root.crl.pem'])
  t.same(first.map((r) => [r.outcome, r.issuer, r.crlNumber]), [['stored', ISSUING_DN, '2'], ['stored', ROOT_DN, '2']])
  t.same(await held(), { [ISSUING_DN]: '2', [ROOT_DN]: '2' })
  const row = (await storedCrls(db)).find((c) => c.issuer === ISSUING_DN)
  t.equal(row?.sourceUrl, url('/issuing.crl'))
  t.match(row?.sha256, /^[0-9a-f]{64}$/)
  t.ok((row?.nextUpdate?.getTime() ?? 0) > Date.now() + 6 * DAY, 'nextUpdate kept')

  const again = await refresh(['/issuing.crl'])
  t.equal(again[0]?.outcome, 'unchanged')
  t.same((await refreshStatus(db)).failures, [], 'the round is recorded, no failures')
})

t.test('forged, foreign, malformed, stale and rolled-back CRLs are refused and never stored', async (t) => {
  const before = await storedCrls(db)
  const cases: Array<{ name: string, body: () => Promise<Buffer | string>, outcome: string, code?: string }> = [
    // Would revoke G22 if it were believed.
    { name: 'signed by another key under the issuing CA name', body: async () => await crl({ issuer: forger, crlNumber: 9, revoked: [revokedEntry(g22)] }), outcome: 'failed', code: 'CRL_SIGNATURE_INVALID' },
    { name: 'issued by a CA outside the trust store', body: async () => await crl({ issuer: pki.special.untrustedRoot, crlNumber: 9 }), outcome: 'failed', code: 'CRL_ISSUER_UNKNOWN' },
    { name: 'not a CRL', body: async () => 'hello, I am not DER', outcome: 'failed', code: 'CRL_MALFORMED' },
    { name: 'genuine but past its nextUpdate', body: async () => await crl({ crlNumber: 9, thisAgoMs: 2 * DAY, nextInMs: -DAY }), outcome: 'failed', code: 'CRL_STALE' },
    // Genuine, current, but older than the one held: serving it again would un-revoke certificates.
    { name: 'genuine but older than the one held (rollback)', body: async () => await crl({ crlNumber: 1, thisAgoMs: HOUR }), outcome: 'older' },
    { name: 'genuine, later thisUpdate, but a lower CRL number', body: async () => await crl({ crlNumber: 1, thisAgoMs: 0 }), outcome: 'older' }
  ]
  for (const c of cases) {
    published.set('/bad.crl', { status: 200, body: await c.body() })
    const [result] = await refresh(['/bad.crl'])
    t.equal(result?.outcome, c.outcome, c.name)
    if (c.code != null) t.equal(result?.code, c.code, `${c.name}: code`)
  }
  t.same(await storedCrls(db), before, 'the stored CRLs did not change')
})

t.test('an unreachable URL (404, timeout, too large) is reported and the CRL held stays', async (t) => {
  const before = await storedCrls(db)
  published.set('/big.crl', { status: 200, body: Buffer.alloc(4096, 0x30) })
  const results = await refresh(['/missing.crl', '/hang', '/big.crl', '/issuing.crl'], { timeoutMs: 300, maxBytes: 2048 })
  t.same(results.map((r) => [r.outcome, r.code]), [['failed', 'CRL_HTTP_STATUS'], ['failed', 'CRL_TIMEOUT'], ['failed', 'CRL_TOO_LARGE'], ['unchanged', undefined]])
  const status = await refreshStatus(db)
  t.same(status.failures.map((f) => [f.url, f.code]), [[url('/missing.crl'), 'CRL_HTTP_STATUS'], [url('/hang'), 'CRL_TIMEOUT'], [url('/big.crl'), 'CRL_TOO_LARGE']], 'kept for readiness')
  t.ok(status.lastRoundAt != null)
  t.same((await storedCrls(db)).map((c) => c.sha256), before.map((c) => c.sha256), 'same CRLs held')
})

t.test('end to end: a certificate newly listed in a fetched CRL fails verification with CERT_REVOKED', async (t) => {
  const template = readFileSync(join(FIXTURES, 'templates', 'document-one-recipient.edxml'), 'utf8')
  const signed = Buffer.from(signEdxml(template, { privateKeyPem: await privateKeyPem(g22.keys), certificatePem: certificatePem(g22.der) + certificatePem(pki.issuing.der) }))

  // The gateway side: stored CRLs merged over the trust directory, polled by hand here.
  const sync = await openRevocationSync({ db, trustDir, pollMs: HOUR })
  t.teardown(() => sync.close())
  const pool = await createVerificationPool({ trustDir, registryFile, maxBytes: DEFAULT_MAX_BYTES, requireRevocation: true, threads: 1, extraCrls: sync.extraCrls() })
  t.teardown(() => pool.close())
  sync.attach(pool)
  const codeOf = (v: Verdict): string => v.verdict === 'accepted' ? 'accepted' : v.code
  t.equal(codeOf(await pool.verify(signed)), 'accepted', 'G22 signs, not revoked yet')
  t.equal(await sync.check(), false, 'nothing changed in the database')

  // The CA revokes G22's certificate and publishes CRL 3; the worker's round stores it.
  published.set('/issuing.crl', { status: 200, body: await crl({ crlNumber: 3, revoked: [revokedEntry(pki.special.revoked), revokedEntry(g22)] }) })
  t.equal((await refresh(['/issuing.crl']))[0]?.outcome, 'stored')
  t.equal(codeOf(await pool.verify(signed)), 'accepted', 'until the gateway polls, its workers still hold CRL 2')
  t.equal(await sync.check(), true, 'the poll sees the new CRL and reloads the workers')
  const verdict = await pool.verify(signed)
  t.equal(codeOf(verdict), 'CERT_REVOKED', JSON.stringify(verdict).slice(0, 300))
  t.equal(sync.trustStore().crls.find((c) => c.issuer === ISSUING_DN)?.crlNumber, '3', 'the main thread holds the same CRL')

  // SIGHUP keeps the stored CRLs (the directory alone still has CRL 1, without G22).
  await sync.reload()
  t.equal(codeOf(await pool.verify(signed)), 'CERT_REVOKED', 'after a reload too')
})

t.test('readiness fails when the CRL in use nears its nextUpdate, and is ok again when a fresh one arrives', async (t) => {
  const sync = await openRevocationSync({ db, trustDir, pollMs: HOUR })
  t.teardown(() => sync.close())
  const hubCert = { label: 'hub', notBefore: new Date(0), notAfter: new Date(Date.now() + 365 * DAY) }
  const checks = hubReadinessChecks({
    trustStore: sync.trustStore,
    revocation: { marginMs: 6 * HOUR, requireRevocation: true },
    refreshStatus: async () => await refreshStatus(db),
    hubCertificate: hubCert,
    tlsCertificates: [],
    certExpiryMarginDays: 30
  })
  const revocationData = checks.revocationData as () => Promise<{ ok: boolean, detail?: string }>
  t.equal((await revocationData()).ok, true, 'CRL 3 is good for a week')

  const soon = new Date(Date.now() + 2 * HOUR)
  published.set('/issuing.crl', { status: 200, body: await crl({ crlNumber: 4, nextInMs: 2 * HOUR, revoked: [revokedEntry(g22)] }) })
  await refresh(['/issuing.crl', '/missing.crl'])
  t.equal(await sync.check(), true)
  const near = await revocationData()
  t.equal(near.ok, false, 'nextUpdate in 2 h, margin 6 h')
  t.match(near.detail, `CRL of ${ISSUING_DN} goes stale at ${soon.toISOString().slice(0, 13)}`)
  t.match(near.detail, /within the 6-hour margin/)
  t.match(near.detail, `${url('/missing.crl')} CRL_HTTP_STATUS`, 'the last round\'s failure is in the detail')

  published.set('/issuing.crl', { status: 200, body: await crl({ crlNumber: 5, revoked: [revokedEntry(g22)] }) })
  await refresh(['/issuing.crl'])
  t.equal(await sync.check(), true)
  const fresh = await revocationData()
  t.equal(fresh.ok, true, fresh.detail ?? '')
  t.match(fresh.detail, /2 CRLs fresh/)
  t.match(fresh.detail, /ok$/, 'last round ok')
})

t.test('with several workers one of them fetches per round (lease in PostgreSQL)', async (t) => {
  const rounds: string[] = []
  const job = (holder: string): ReturnType<typeof startCrlRefresh> => startCrlRefresh({
    db, urls: [url('/issuing.crl')], trustDir, intervalMs: HOUR, holder, onRound: () => rounds.push(holder)
  })
  const a = job('worker-a')
  const b = job('worker-b')
  t.teardown(async () => { await a.close(); await b.close() })
  // Each job starts a round at once; then each is asked for one more.
  await new Promise((resolve) => setTimeout(resolve, 50))
  const more = await Promise.all([a.runNow(), b.runNow(), a.runNow(), b.runNow()])
  t.equal(rounds.length, 1, `exactly one round ran (${rounds.join(', ')})`)
  t.ok(more.some((r) => r === null), 'the others found the lease taken')
  const { rows } = await db.query<{ leased_by: string }>('SELECT leased_by FROM crl_refresh')
  t.equal(rows[0]?.leased_by, rounds[0])
})

t.test('the same store and lease on PGlite (the embedded database of `lienthong start`)', async (t) => {
  const lite = await testPglite(t)
  t.equal(await storedCrlsVersion(lite), '', 'nothing stored yet')
  t.equal(await claimRefreshRound(lite, 'start', HOUR), true)
  t.equal(await claimRefreshRound(lite, 'other', HOUR), false, 'lease taken')
  const results = await refreshCrls({ db: lite, urls: [url('/issuing.crl'), url('/missing.crl')], trustDir })
  t.same(results.map((r) => r.outcome), ['stored', 'failed'])
  const [row] = await storedCrls(lite)
  t.equal(row?.issuer, ISSUING_DN)
  t.equal(row?.der instanceof Uint8Array && row.der.byteLength > 100, true, 'DER read back')
  t.equal(await storedCrlsVersion(lite), row?.sha256)
  t.same((await refreshStatus(lite)).failures.map((f) => f.code), ['CRL_HTTP_STATUS'])
})
