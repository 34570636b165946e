/**
 * The gateway's side of the CRL refresh: the worker stores fetched CRLs in PostgreSQL, gateways
 * (on other machines, maybe) poll a cheap version of that table and, when it changed, reload their
 * verification workers with the stored CRLs merged over the trust directory's. The main thread
 * keeps the same merged view for the readiness check, so readiness reports the CRLs documents are
 * actually verified with.
 *
 * The same poll carries the registry held in the database (migration 023): the trust CAs an admin
 * added (merged over the directory's before the CRLs, so their CRLs verify) and, with
 * `registryFile`, the agencies' rows (over the file's peer agencies and routing). Its version
 * number moves with every change, so every process sees an admin's change within one poll
 * (REGISTRY_POLL_MS in the hub processes).
 */
import type { Logger } from 'pino'
import type { Queryable } from '../db/database.js'
import { mergeCrls, type ExtraCrl } from '../pki/crl-verify.js'
import { caSources, storedCas } from '../pki/stored-cas.js'
import { TrustStore } from '../pki/trust-store.js'
import { AgencyRegistry } from '../registry/agency-registry.js'
import { registryVersion, storedAgencyEntries } from '../registry/registry-db.js'
import type { AgencyEntry } from '../registry/registry-format.js'
import { storedCrls, storedCrlsVersion } from '../store/crls.js'
import type { VerificationPool } from '../verification/verification-pool.js'

/** How often the hub processes look for a change of the registry, trust CAs or CRLs in the database. */
export const REGISTRY_POLL_MS = 2000

/** What a verification pool is (re)started with: ReloadOptions of verification-pool.ts. */
export interface WorkerInputs {
  extraCrls: ExtraCrl[]
  extraCas: Array<{ der: Uint8Array, source: string }>
  /** The agencies' rows; undefined without `registryFile` (the threads read the file's). */
  agencies?: AgencyEntry[]
}

export interface RevocationSync {
  /** The merged trust store (directory + stored CAs + stored CRLs) the verification workers use. */
  trustStore: () => TrustStore
  /** The registry the verification workers use: the file's peer agencies and routing, the database's agencies. */
  registry: () => AgencyRegistry | undefined
  /** The stored CRLs, to start a verification pool with. */
  extraCrls: () => ExtraCrl[]
  /** Everything a verification pool is started with. */
  workerInputs: () => WorkerInputs
  /** Starts polling; from then on a change reloads `pool`. */
  attach: (pool: Pick<VerificationPool, 'reload'>) => void
  /** Polls once now; true when the stored CRLs had changed and the pool was reloaded. */
  check: () => Promise<boolean>
  /** SIGHUP: the trust directory and registry file again, with the database's CAs, CRLs and agencies, into the pool. */
  reload: () => Promise<void>
  close: () => void
}

export interface RevocationSyncOptions {
  db: Queryable
  trustDir: string
  /** The registry file (peer agencies, routing); without it only trust CAs and CRLs are synced. */
  registryFile?: string
  pollMs: number
  logger?: Logger
}

interface State {
  version: string
  extras: ExtraCrl[]
  dirStore: TrustStore
  fileRegistry: AgencyRegistry | undefined
  cas: WorkerInputs['extraCas']
  agencies: AgencyEntry[] | undefined
  registry: AgencyRegistry | undefined
  merged: TrustStore
}

export async function openRevocationSync (options: RevocationSyncOptions): Promise<RevocationSync> {
  const { db, logger } = options
  const loadFile = async (): Promise<AgencyRegistry | undefined> => options.registryFile != null ? await AgencyRegistry.load(options.registryFile) : undefined
  let state = await readState(await TrustStore.load(options.trustDir), await loadFile())
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

  async function currentVersion (): Promise<string> {
    return `${await registryVersion(db)}|${await storedCrlsVersion(db)}`
  }

  async function readState (dirStore: TrustStore, fileRegistry: AgencyRegistry | undefined): Promise<State> {
    // The version first: a change after it is read shows up as a new version at the next poll.
    const version = await currentVersion()
    const extras = (await storedCrls(db)).map((c) => ({ der: c.der, source: c.sourceUrl }))
    const cas = caSources(await storedCas(db))
    const agencies = fileRegistry != null ? await storedAgencyEntries(db) : undefined
    // Checked here, on the main thread, before any pool reload: rows that do not load never reach the threads.
    const registry = fileRegistry != null && agencies != null ? fileRegistry.withLocalAgencies(agencies) : undefined
    const { store: merged, rejected } = await mergeCrls(dirStore.withCertificates(cas), extras)
    for (const r of rejected) logger?.error({ source: r.source, code: r.code, reason: r.message }, 'stored CRL refused (not verified against the trust store); the directory\'s CRL stays in use for its issuer')
    return { version, extras, dirStore, fileRegistry, cas, agencies, registry, merged }
  }

  const inputsOf = (s: State): WorkerInputs => ({ extraCrls: s.extras, extraCas: s.cas, ...(s.agencies != null ? { agencies: s.agencies } : {}) })

  async function apply (next: State, why: string): Promise<void> {
    await pool?.reload(inputsOf(next))
    state = next
    logger?.info({ why, crls: next.merged.crls.map((c) => ({ issuer: c.issuer, crlNumber: c.crlNumber, nextUpdate: c.nextUpdate?.toISOString() ?? null, source: c.file })) },
      'verification workers reloaded with the current CRLs')
  }

  const check = (): Promise<boolean> => serial(async () => {
    if (await currentVersion() === state.version) return false
    await apply(await readState(state.dirStore, state.fileRegistry), 'registry, trust CAs or stored CRLs changed')
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
    registry: () => state.registry,
    extraCrls: () => state.extras,
    workerInputs: () => inputsOf(state),
    attach: (p) => {
      pool = p
      clearTimeout(timer)
      poll()
    },
    check,
    reload: () => serial(async () => { await apply(await readState(await TrustStore.load(options.trustDir), await loadFile()), 'reload') }),
    close: () => {
      closed = true
      clearTimeout(timer)
    }
  }
}
