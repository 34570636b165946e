/**
 * The hub's own readiness checks (the health route adds database and Redis): revocation data
 * fresh for longer than a margin, and the certificates the hub presents not expiring within a
 * margin. They fail early on purpose: a load balancer or an operator's alert sees "not ready"
 * while there is still time to act, not when every document starts failing closed.
 * Pure evaluation functions (with `now`) are exported for tests; the checks read the clock.
 */
import { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { Logger } from 'pino'
import type { HubConfig } from '../config/config.js'
import type { Queryable } from '../db/database.js'
import type { HubIdentity } from '../evidence/hub-identity.js'
import type { CrlFreshness, TrustStore } from '../pki/trust-store.js'
import { readPemBlocks } from '../pki/pem.js'
import { refreshStatus, type RefreshStatus } from '../store/crls.js'

export interface CheckOutcome { ok: boolean, detail?: string }
export type ReadinessCheck = () => Promise<CheckOutcome>

const DAY_MS = 24 * 3600 * 1000
const HOUR_MS = 3600 * 1000

export interface CertificateDates {
  /** What the certificate is, for the detail ("hub signing certificate"). */
  label: string
  notBefore: Date
  notAfter: Date
}

/** One certificate against the expiry margin: fails when not yet valid, expired, or within the margin. */
export function certificateExpiry (cert: CertificateDates, marginDays: number, now: Date): CheckOutcome {
  const expires = cert.notAfter.toISOString()
  const leftMs = cert.notAfter.getTime() - now.getTime()
  if (cert.notBefore.getTime() > now.getTime()) return { ok: false, detail: `${cert.label} not valid before ${cert.notBefore.toISOString()}` }
  if (leftMs <= 0) return { ok: false, detail: `${cert.label} expired ${expires}` }
  const days = Math.floor(leftMs / DAY_MS)
  if (leftMs < marginDays * DAY_MS) return { ok: false, detail: `${cert.label} expires ${expires} (${days} days left, within the ${marginDays}-day margin): renew it` }
  return { ok: true, detail: `${cert.label} expires ${expires} (${days} days left)` }
}

/** Several certificates: ok when all are; the detail lists each. */
export function certificatesExpiry (certs: readonly CertificateDates[], marginDays: number, now: Date): CheckOutcome {
  const outcomes = certs.map((c) => certificateExpiry(c, marginDays, now))
  return { ok: outcomes.every((o) => o.ok), detail: outcomes.map((o) => o.detail).join('; ') }
}

export interface RevocationOptions {
  /** Fail when a CRL's nextUpdate is closer than this. */
  marginMs: number
  /** LIENTHONG_REVOCATION=require: no CRL at all means every document fails closed. */
  requireRevocation: boolean
}

/** The freshness report of the CRLs in use against the margin. */
export function revocationFreshness (report: readonly CrlFreshness[], options: RevocationOptions, now: Date): CheckOutcome {
  if (report.length === 0) {
    return options.requireRevocation
      ? { ok: false, detail: 'no CRL loaded: with LIENTHONG_REVOCATION=require every document fails closed' }
      : { ok: true, detail: 'no CRL loaded (LIENTHONG_REVOCATION=best-effort)' }
  }
  const problems: string[] = []
  for (const c of report) {
    if (!c.fresh) {
      problems.push(`CRL of ${c.issuer} is stale (thisUpdate ${c.thisUpdate}, nextUpdate ${c.nextUpdate ?? 'none'})`)
    } else if (c.nextUpdate != null && Date.parse(c.nextUpdate) - now.getTime() < options.marginMs) {
      problems.push(`CRL of ${c.issuer} goes stale at ${c.nextUpdate}, within the ${formatDuration(options.marginMs)} margin`)
    }
  }
  if (problems.length > 0) return { ok: false, detail: problems.join('; ') }
  const earliest = report.filter((c) => c.nextUpdate != null).sort((a, b) => (a.nextUpdate as string).localeCompare(b.nextUpdate as string))[0]
  return { ok: true, detail: `${report.length} CRLs fresh; earliest nextUpdate ${earliest == null ? 'none' : `${earliest.nextUpdate ?? ''} (${earliest.issuer})`}` }
}

/** The last refresh round, appended to the revocation detail (it does not decide the status: the margin does). */
export function refreshSummary (status: RefreshStatus): string {
  if (status.lastRoundAt == null) return 'no CRL refresh round yet'
  const at = status.lastRoundAt.toISOString()
  if (status.failures.length === 0) return `last refresh ${at} ok`
  return `last refresh ${at}: ${status.failures.map((f) => `${f.url} ${f.code}`).join(', ')}`
}

function formatDuration (ms: number): string {
  if (ms % DAY_MS === 0) return `${ms / DAY_MS}-day`
  if (ms % HOUR_MS === 0) return `${ms / HOUR_MS}-hour`
  return `${Math.round(ms / 1000)}-second`
}

/** notBefore/notAfter of the first certificate in a PEM file. */
export async function readCertificateDates (file: string, label: string): Promise<CertificateDates> {
  const block = readPemBlocks(await readFile(file, 'latin1')).find((b) => b.label === 'CERTIFICATE')
  if (block == null) throw new Error(`${file}: no certificate`)
  return certificateDates(new X509Certificate(block.der), label)
}

export function certificateDates (cert: X509Certificate, label: string): CertificateDates {
  return { label, notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo) }
}

export interface HubReadinessOptions {
  trustStore: () => TrustStore
  revocation: RevocationOptions
  /** Present when CRL URLs are configured: the last round's outcome goes into the detail. */
  refreshStatus?: () => Promise<RefreshStatus>
  hubCertificate: CertificateDates
  /** The gateway's TLS certificate and the push client certificate, when there are any. */
  tlsCertificates: readonly CertificateDates[]
  certExpiryMarginDays: number
  now?: () => Date
}

export function hubReadinessChecks (options: HubReadinessOptions): Record<string, ReadinessCheck> {
  const now = options.now ?? (() => new Date())
  const checks: Record<string, ReadinessCheck> = {
    // Revocation data must be fresh, or every document fails closed: say so before it happens.
    revocationData: async () => {
      const outcome = revocationFreshness(options.trustStore().crlFreshness(now()), options.revocation, now())
      if (options.refreshStatus == null) return outcome
      let summary: string
      try {
        summary = refreshSummary(await options.refreshStatus())
      } catch (err) {
        summary = `refresh status unavailable: ${(err as Error).message}`
      }
      return { ok: outcome.ok, detail: `${outcome.detail ?? ''}; ${summary}` }
    },
    hubCertificate: async () => certificateExpiry(options.hubCertificate, options.certExpiryMarginDays, now())
  }
  if (options.tlsCertificates.length > 0) {
    checks.tlsCertificate = async () => certificatesExpiry(options.tlsCertificates, options.certExpiryMarginDays, now())
  }
  return checks
}

/**
 * The checks with the hub's configuration. The certificates are read once here: the ones checked
 * are the ones this process loaded at start (a renewed file on disk counts after a restart, as it
 * does for the TLS server). Each process checks the certificates it uses: the push client
 * certificate only where deliveries run (`start`); a `serve` gateway must not leave the load
 * balancer over a certificate only workers present (they log it: warnExpiringCertificates).
 */
export async function configuredReadinessChecks (config: HubConfig, hub: HubIdentity, trustStore: () => TrustStore, db: Queryable, role: 'start' | 'serve'): Promise<Record<string, ReadinessCheck>> {
  const tlsCertificates: CertificateDates[] = []
  if (config.tls != null) tlsCertificates.push(await readCertificateDates(config.tls.certFile, `gateway TLS certificate ${config.tls.certFile}`))
  if (role === 'start') tlsCertificates.push(await pushCertificateDates(config))
  return hubReadinessChecks({
    trustStore,
    revocation: { marginMs: config.crl.freshnessMarginMs, requireRevocation: config.requireRevocation },
    ...(config.crl.urls.length > 0 ? { refreshStatus: async () => await refreshStatus(db) } : {}),
    hubCertificate: certificateDates(hub.certificate, 'hub signing certificate'),
    tlsCertificates,
    certExpiryMarginDays: config.certExpiryMarginDays
  })
}

async function pushCertificateDates (config: HubConfig): Promise<CertificateDates> {
  return await readCertificateDates(config.delivery.clientCertFile, `push client certificate ${config.delivery.clientCertFile}`)
}

/**
 * A worker has no readiness endpoint: it logs a warning, at start and then daily, while the
 * certificates it presents (hub signing: receipts; push client: mTLS to recipients) expire within
 * the margin.
 */
export async function warnExpiringCertificates (config: HubConfig, hub: HubIdentity, logger: Logger): Promise<void> {
  const certs = [certificateDates(hub.certificate, 'hub signing certificate'), await pushCertificateDates(config)]
  const check = (): void => {
    for (const cert of certs) {
      const outcome = certificateExpiry(cert, config.certExpiryMarginDays, new Date())
      if (!outcome.ok) logger.warn({ certificate: cert.label, notAfter: cert.notAfter.toISOString() }, outcome.detail ?? '')
    }
  }
  check()
  setInterval(check, DAY_MS).unref()
}
