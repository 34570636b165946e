import t from 'tap'
import { join } from 'node:path'
import {
  certificateExpiry, certificatesExpiry, hubReadinessChecks, readCertificateDates, refreshSummary, revocationFreshness,
  type CertificateDates
} from '../../src/hub/readiness-checks.js'
import type { CrlFreshness } from '../../src/pki/trust-store.js'
import { TrustStore } from '../../src/pki/trust-store.js'
import { PKI } from '../helpers/example-pki.js'
import { testHub } from '../helpers/hub.js'

const DAY = 24 * 3600 * 1000
const HOUR = 3600 * 1000
const NOW = new Date('2030-06-01T00:00:00Z')
const at = (ms: number): Date => new Date(NOW.getTime() + ms)
const cert = (notAfterInMs: number, notBeforeInMs = -365 * DAY): CertificateDates => ({ label: 'hub signing certificate', notBefore: at(notBeforeInMs), notAfter: at(notAfterInMs) })

t.test('certificate expiry against the margin', async (t) => {
  const cases: Array<{ name: string, cert: CertificateDates, marginDays: number, ok: boolean, detail: RegExp }> = [
    { name: 'far from expiry', cert: cert(100 * DAY), marginDays: 30, ok: true, detail: /expires 2030-09-09T00:00:00\.000Z \(100 days left\)/ },
    { name: 'one day inside the margin', cert: cert(29 * DAY), marginDays: 30, ok: false, detail: /expires 2030-06-30T00:00:00\.000Z \(29 days left, within the 30-day margin\): renew it/ },
    { name: 'one second inside the margin', cert: cert(30 * DAY - 1000), marginDays: 30, ok: false, detail: /within the 30-day margin/ },
    { name: 'exactly the margin left', cert: cert(30 * DAY), marginDays: 30, ok: true, detail: /30 days left/ },
    { name: 'margin 0, an hour left', cert: cert(HOUR), marginDays: 0, ok: true, detail: /0 days left/ },
    { name: 'expired', cert: cert(-DAY), marginDays: 30, ok: false, detail: /expired 2030-05-31T00:00:00\.000Z/ },
    { name: 'expired, margin 0', cert: cert(0), marginDays: 0, ok: false, detail: /expired/ },
    { name: 'not yet valid', cert: cert(400 * DAY, DAY), marginDays: 30, ok: false, detail: /not valid before 2030-06-02T00:00:00\.000Z/ }
  ]
  for (const c of cases) {
    const outcome = certificateExpiry(c.cert, c.marginDays, NOW)
    t.equal(outcome.ok, c.ok, c.name)
    t.match(outcome.detail, c.detail, `${c.name}: detail`)
    t.match(outcome.detail, /^hub signing certificate /, `${c.name}: says which certificate`)
  }
})

t.test('several certificates: one within the margin fails the check, the detail names each', async (t) => {
  const tls = { ...cert(10 * DAY), label: 'gateway TLS certificate' }
  const push = { ...cert(300 * DAY), label: 'push client certificate' }
  const outcome = certificatesExpiry([tls, push], 30, NOW)
  t.equal(outcome.ok, false)
  t.match(outcome.detail, /^gateway TLS certificate expires \S+ \(10 days left, within the 30-day margin\): renew it; push client certificate expires \S+ \(300 days left\)$/)
  t.equal(certificatesExpiry([push], 30, NOW).ok, true)
})

t.test('the demo hub certificate, read from its file, against `now` moved near its notAfter', async (t) => {
  const dates = await readCertificateDates(join(PKI, 'hub', 'signing-cert.pem'), 'hub signing certificate')
  const before = (ms: number): Date => new Date(dates.notAfter.getTime() - ms)
  t.equal(certificateExpiry(dates, 30, before(31 * DAY)).ok, true)
  t.equal(certificateExpiry(dates, 30, before(29 * DAY)).ok, false)
  t.equal(certificateExpiry(dates, 0, before(29 * DAY)).ok, true, 'margin 0 only fails once expired')
})

t.test('CRL freshness against the margin', async (t) => {
  const crl = (issuer: string, nextInMs: number | null, fresh = true): CrlFreshness => ({
    issuer, file: `${issuer}.crl`, crlNumber: '1', thisUpdate: at(-DAY).toISOString(), nextUpdate: nextInMs == null ? null : at(nextInMs).toISOString(), fresh
  })
  const options = { marginMs: 6 * HOUR, requireRevocation: true }
  const cases: Array<{ name: string, report: CrlFreshness[], requireRevocation?: boolean, ok: boolean, detail: RegExp }> = [
    { name: 'all fresh beyond the margin', report: [crl('CN=A', 7 * DAY), crl('CN=B', 2 * DAY)], ok: true, detail: /^2 CRLs fresh; earliest nextUpdate 2030-06-03T00:00:00\.000Z \(CN=B\)$/ },
    { name: 'one within the margin', report: [crl('CN=A', 7 * DAY), crl('CN=B', 5 * HOUR)], ok: false, detail: /^CRL of CN=B goes stale at 2030-06-01T05:00:00\.000Z, within the 6-hour margin$/ },
    { name: 'exactly the margin left', report: [crl('CN=A', 6 * HOUR)], ok: true, detail: /1 CRLs fresh/ },
    { name: 'stale', report: [crl('CN=A', -HOUR, false)], ok: false, detail: /^CRL of CN=A is stale \(thisUpdate \S+, nextUpdate 2030-05-31T23:00:00\.000Z\)$/ },
    { name: 'no nextUpdate: never stale', report: [crl('CN=A', null)], ok: true, detail: /earliest nextUpdate none/ },
    { name: 'no CRL, revocation required', report: [], ok: false, detail: /no CRL loaded: with LIENTHONG_REVOCATION=require every document fails closed/ },
    { name: 'no CRL, best effort', report: [], requireRevocation: false, ok: true, detail: /best-effort/ }
  ]
  for (const c of cases) {
    const outcome = revocationFreshness(c.report, { ...options, requireRevocation: c.requireRevocation ?? true }, NOW)
    t.equal(outcome.ok, c.ok, c.name)
    t.match(outcome.detail, c.detail, `${c.name}: detail`)
  }
})

t.test('the last refresh round in the revocation detail', async (t) => {
  t.equal(refreshSummary({ lastRoundAt: null, leasedBy: null, failures: [] }), 'no CRL refresh round yet')
  t.equal(refreshSummary({ lastRoundAt: NOW, leasedBy: 'w1', failures: [] }), 'last refresh 2030-06-01T00:00:00.000Z ok')
  t.equal(refreshSummary({ lastRoundAt: NOW, leasedBy: 'w1', failures: [{ url: 'http://x/a.crl', code: 'CRL_TIMEOUT', message: '' }] }),
    'last refresh 2030-06-01T00:00:00.000Z: http://x/a.crl CRL_TIMEOUT')
})

t.test('the checks with an injected clock; tlsCertificate only when there is a certificate to check', async (t) => {
  const store = await TrustStore.load(join(PKI, 'trust'))
  const base = { trustStore: () => store, revocation: { marginMs: 6 * HOUR, requireRevocation: true }, certExpiryMarginDays: 30 }
  const none = hubReadinessChecks({ ...base, hubCertificate: cert(100 * DAY), tlsCertificates: [], now: () => NOW })
  t.same(Object.keys(none), ['revocationData', 'hubCertificate'])
  const checks = hubReadinessChecks({ ...base, hubCertificate: cert(10 * DAY), tlsCertificates: [{ ...cert(100 * DAY), label: 'gateway TLS certificate' }], now: () => NOW })
  t.same(Object.keys(checks), ['revocationData', 'hubCertificate', 'tlsCertificate'])
  t.equal((await checks.hubCertificate?.())?.ok, false, 'hub certificate within the margin')
  t.equal((await checks.tlsCertificate?.())?.ok, true)
  // NOW is 2030: the demo CRLs (nextUpdate 2036) are fresh then; moved past it they are stale.
  t.equal((await checks.revocationData?.())?.ok, true)
  const later = hubReadinessChecks({ ...base, hubCertificate: cert(100 * DAY), tlsCertificates: [], now: () => new Date('2036-12-07T00:00:00Z') })
  const near = await later.revocationData?.()
  t.equal(near?.ok, false, 'within 6 h of the demo CRLs\' nextUpdate')
  t.match(near?.detail, /CRL of .*Issuing CA goes stale at 2036-12-07T03:09:03\.000Z/)
})

t.test('/health/ready: the hub\'s checks override the default, each with status, time and checkedAt', async (t) => {
  const hub = await testHub(t, {
    redisUrl: null,
    readiness: hubReadinessChecks({
      trustStore: () => { throw new Error('trust store unavailable') },
      revocation: { marginMs: 0, requireRevocation: true },
      hubCertificate: { label: 'hub signing certificate', notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 5 * DAY) },
      tlsCertificates: [],
      certExpiryMarginDays: 30
    }),
    metricsToken: 'operator'
  })
  // As the operator (the details are shown only to the token; test/gateway/disclosure.test.ts).
  const res = await hub.app.inject({ method: 'GET', url: '/health/ready', headers: { authorization: 'Bearer operator' } })
  t.equal(res.statusCode, 503)
  const body = res.json() as { status: string, checks: Record<string, { status: string, detail?: string, durationMs: number, checkedAt: string }> }
  t.equal(body.status, 'not-ready')
  t.equal(body.checks.database?.status, 'ok')
  t.equal(body.checks.hubCertificate?.status, 'fail')
  t.match(body.checks.hubCertificate?.detail, /\(\d days left, within the 30-day margin\): renew it/)
  t.match(body.checks.revocationData, { status: 'fail', detail: 'trust store unavailable', durationMs: Number, checkedAt: String })
  for (const [name, check] of Object.entries(body.checks)) {
    t.ok(Number.isInteger(check.durationMs), `${name}: durationMs`)
    t.ok(!Number.isNaN(Date.parse(check.checkedAt)) && check.checkedAt.endsWith('Z'), `${name}: checkedAt ${check.checkedAt}`)
  }
})
