/**
 * The gateway's side of the CRL refresh: the worker stores fetched CRLs in PostgreSQL, gateways
 * (on other machines, maybe) poll a cheap version of that table and, when it changed, reload their
 * verification workers with the stored CRLs merged over the trust directory's. The main thread
 * keeps the same merged view for the readiness check, so readiness reports the CRLs documents are
 * actually verified with.
 */
import type { Logger } from 'pino'
import type { Queryable } from '../db/database.js'
import { mergeCrls, type ExtraCrl } from '../pki/crl-verify.js'
import { TrustStore } from '../pki/trust-store.js'
import { storedCrls, storedCrlsVersion } from '../store/crls.js'
import type { VerificationPool } from '../verification/verification-pool.js'

export interface RevocationSync {
  /** The merged trust store (directory + stored CRLs) the verification workers use. */
  trustStore: () => TrustStore
  /** The stored CRLs, to start a verification pool with. */
  extraCrls: () => ExtraCrl[]
  /** Starts polling; from then on a change reloads `pool`. */
  attach: (pool: Pick<VerificationPool, 'reload'>) => void
  /** Polls once now; true when the stored CRLs had changed and the pool was reloaded. */
  check: () => Promise<boolean>
  /** SIGHUP: the trust directory again, with the stored CRLs, into the pool. */
  reload: () => Promise<void>
  close: () => void
}

export interface RevocationSyncOptions {
  db: Queryable
  trustDir: string
  pollMs: number
  logger?: Logger
}

interface State {
  version: string
  extras: ExtraCrl[]
  dirStore: TrustStore
  merged: TrustStore
}

export async function openRevocationSync (options: RevocationSyncOptions): Promise<RevocationSync> {
  const { db, logger } = options
  let state = await readState(await TrustStore.load(options.trustDir))
  let pool: Pick<VerificationPool, 'reload'> | undefined
  let timer: NodeJS.Timeout | undefined
  let closed = false
  // Polls and reloads one at a time, in order.
  let queue: Promise<unknown> = Promise.resolve()
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn)
    // The caller gets the failure through `run`; the chain only orders the next one after it.
    queue = run.catch(() => {})
    return run
  }

  async function readState (dirStore: TrustStore): Promise<State> {
    // The version first: a change after it is read shows up as a new version at the next poll.
    const version = await storedCrlsVersion(db)
    const extras = (await storedCrls(db)).map((c) => ({ der: c.der, source: c.sourceUrl }))
    const { store: merged, rejected } = await mergeCrls(dirStore, extras)
    for (const r of rejected) logger?.error({ source: r.source, code: r.code, reason: r.message }, 'stored CRL refused (not verified against the trust store); the directory\'s CRL stays in use for its issuer')
    return { version, extras, dirStore, merged }
  }

  async function apply (next: State, why: string): Promise<void> {
    await pool?.reload({ extraCrls: next.extras })
    state = next
    logger?.info({ why, crls: next.merged.crls.map((c) => ({ issuer: c.issuer, crlNumber: c.crlNumber, nextUpdate: c.nextUpdate?.toISOString() ?? null, source: c.file })) },
      'verification workers reloaded with the current CRLs')
  }

  const check = (): Promise<boolean> => serial(async () => {
    if (await storedCrlsVersion(db) === state.version) return false
    await apply(await readState(state.dirStore), 'stored CRLs changed')
    return true
  })

  function poll (): void {
    if (closed) return
    timer = setTimeout(() => {
      check()
        .catch((err: unknown) => logger?.warn({ err }, 'stored CRL poll failed; tried again next poll'))
        .finally(poll)
    }, options.pollMs)
    timer.unref()
  }

  return {
    trustStore: () => state.merged,
    extraCrls: () => state.extras,
    attach: (p) => {
      pool = p
      clearTimeout(timer)
      poll()
    },
    check,
    reload: () => serial(async () => { await apply(await readState(await TrustStore.load(options.trustDir)), 'reload') }),
    close: () => {
      closed = true
      clearTimeout(timer)
    }
  }
}
