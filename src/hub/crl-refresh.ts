/**
 * The revocation-data refresh job, run by workers (`lienthong worker`, and `lienthong start`): at
 * start and then every interval, fetch each configured CRL URL, verify what comes back against the
 * trust store, and store it when it is newer than the CRL held for its issuer. Gateways pick the
 * stored CRLs up from PostgreSQL (hub/revocation-sync.ts).
 *
 * With several workers, a lease row in PostgreSQL lets one of them do a round and the others skip
 * it. A failed URL is logged, recorded with the round (readiness shows it) and tried again next
 * round; the CRL already held stays in use until its nextUpdate, which is why readiness warns a
 * margin before that.
 */
import { startPeriodicTask } from '../background/periodic-task.js'
import { hostname } from 'node:os'
import type { Logger } from 'pino'
import type { Database } from '../db/database.js'
import { claimRefreshRound, recordRefreshRound, storeCrl, type RefreshFailure, type StoreOutcome } from '../store/crls.js'
import { CrlFetchError, DEFAULT_CRL_FETCH, fetchVerifiedCrl } from '../pki/crl-fetch.js'
import { TrustStore } from '../pki/trust-store.js'

export interface CrlRefreshOptions {
  db: Database
  urls: readonly string[]
  /** Loaded again every round, so CA changes in the directory count without a restart. */
  trustDir: string
  timeoutMs?: number
  maxBytes?: number
  /** Warn when a held CRL's nextUpdate is closer than this (the worker has no readiness endpoint). */
  freshnessMarginMs?: number
  now?: () => Date
  logger?: Logger
}

export interface CrlUrlResult {
  url: string
  outcome: StoreOutcome | 'failed'
  issuer?: string
  crlNumber?: string | null
  thisUpdate?: string
  nextUpdate?: string | null
  code?: string
  message?: string
}

/** One round over every URL (no lease: startCrlRefresh decides whether this process runs it). */
export async function refreshCrls (options: CrlRefreshOptions): Promise<CrlUrlResult[]> {
  const now = options.now ?? (() => new Date())
  const log = options.logger
  let store: TrustStore | undefined
  let storeError: Error | undefined
  try {
    store = await TrustStore.load(options.trustDir)
  } catch (err) {
    storeError = err as Error
  }
  const results = await Promise.all(options.urls.map(async (url): Promise<CrlUrlResult> => {
    try {
      if (store == null) throw Object.assign(new Error(`trust store unreadable, nothing to verify CRLs with: ${storeError?.message ?? ''}`), { code: 'TRUST_STORE_UNREADABLE' })
      const verified = await fetchVerifiedCrl(url, store, {
        timeoutMs: options.timeoutMs ?? DEFAULT_CRL_FETCH.timeoutMs,
        maxBytes: options.maxBytes ?? DEFAULT_CRL_FETCH.maxBytes,
        now: now()
      })
      const { outcome, held } = await storeCrl(options.db, verified)
      const result: CrlUrlResult = {
        url,
        outcome,
        issuer: verified.crl.issuer,
        crlNumber: verified.crl.crlNumber,
        thisUpdate: verified.crl.thisUpdate.toISOString(),
        nextUpdate: verified.crl.nextUpdate?.toISOString() ?? null
      }
      if (outcome === 'older') {
        // A CA never reissues an older CRL: this URL serves stale data (a lagging mirror, or a
        // replay). The newer one held stays in use.
        log?.warn({ ...result, heldCrlNumber: held.crlNumber, heldThisUpdate: held.thisUpdate.toISOString() }, 'CRL refresh: URL served a CRL older than the one held; ignored')
      } else {
        log?.info(result, outcome === 'stored' ? 'CRL refresh: stored a newer CRL' : 'CRL refresh: CRL unchanged')
      }
      const margin = options.freshnessMarginMs
      if (margin != null && held.nextUpdate != null && held.nextUpdate.getTime() - now().getTime() < margin) {
        log?.warn({ issuer: held.issuer, nextUpdate: held.nextUpdate.toISOString(), marginMs: margin }, 'CRL refresh: the newest CRL held goes stale within the freshness margin')
      }
      return result
    } catch (err) {
      const code = err instanceof CrlFetchError ? err.code : (err as { code?: string }).code ?? 'CRL_REFRESH_ERROR'
      const message = (err as Error).message
      log?.warn({ url, code, err: message }, 'CRL refresh: URL failed; the CRL held stays in use, retried next round')
      return { url, outcome: 'failed', code, message }
    }
  }))
  const failures: RefreshFailure[] = results.filter((r) => r.outcome === 'failed').map((r) => ({ url: r.url, code: r.code ?? '', message: r.message ?? '' }))
  await recordRefreshRound(options.db, failures)
  return results
}

export interface CrlRefreshJob {
  /** Runs a round now if the lease is free; null when another process holds it. */
  runNow: () => Promise<CrlUrlResult[] | null>
  /** Stops the schedule and waits for a round in progress. */
  close: () => Promise<void>
}

export interface CrlRefreshJobOptions extends CrlRefreshOptions {
  intervalMs: number
  /** Who holds the lease (logged, kept in crl_refresh.leased_by); default host:pid. */
  holder?: string
  /** After each round this process ran (e.g. `lienthong start` tells its own gateway at once). */
  onRound?: (results: CrlUrlResult[]) => void
}

/**
 * Starts the schedule: a round now, then one every `intervalMs`. The lease lasts 90% of the
 * interval, so the process that ran a round is the one free to run the next (no flapping between
 * workers), and if it dies another takes over within about two intervals.
 */
export function startCrlRefresh (options: CrlRefreshJobOptions): CrlRefreshJob {
  const holder = options.holder ?? `${hostname()}:${process.pid}`
  const task = startPeriodicTask({
    name: 'crl-refresh',
    intervalMs: options.intervalMs,
    firstDelayMs: 0,
    lease: { claim: async (leaseMs) => await claimRefreshRound(options.db, holder, leaseMs) },
    run: async () => {
      const results = await refreshCrls(options)
      options.onRound?.(results)
      return results
    },
    onError: (err) => options.logger?.warn({ err }, 'CRL refresh: round failed (database unreachable?); retried next round')
  })
  return { runNow: task.runNow, close: task.close }
}
