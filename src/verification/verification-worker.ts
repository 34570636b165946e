/**
 * The body of one verification worker thread (see verification-pool.ts). Loads the trust store and
 * the agency registry named in `workerData` once, when the thread starts, keeps them for its whole
 * life, and runs `verifyDocument` for every task. A reload is a new pool with new threads, never a
 * change to the state of a running one.
 *
 * Nothing here throws across the thread boundary: an exception (a bug, or files that would not
 * load) comes back as an `error` reply, because structured cloning keeps only the message of an
 * Error (its class, `name` and `code` are lost). A thread that dies anyway (out of memory) is
 * replaced by piscina and its task rejects in the caller.
 */
import { performance } from 'node:perf_hooks'
import { threadId, workerData } from 'node:worker_threads'
import { mergeCrls, type ExtraCrl } from '../pki/crl-verify.js'
import { TrustStore } from '../pki/trust-store.js'
import { AgencyRegistry } from '../registry/agency-registry.js'
import type { AgencyEntry } from '../registry/registry-format.js'
import type { VerificationPolicy } from './verification-policy.js'
import type { Verdict } from '../domain/verdict.js'
import { verifyDocument } from './verify-document.js'

/** What every thread of one pool generation is started with (`workerData`). */
export interface WorkerConfig {
  trustDir: string
  registryFile: string
  maxBytes: number
  maxDepth: number
  requireRevocation: boolean
  /** CRLs from the database, merged over the directory's (newest per issuer, each verified). */
  extraCrls?: ExtraCrl[]
  /** Trust anchors and intermediates an admin added (database), over the directory's. */
  extraCas?: Array<{ der: Uint8Array, source: string }>
  /** The agencies as the database holds them: they replace the file's /agencies (peer agencies stay the file's). */
  agencies?: AgencyEntry[]
}

export type WorkerTask =
  /** `bytes` arrives transferred, not copied: its ArrayBuffer now belongs to this thread. */
  | { kind: 'verify', bytes: Uint8Array, expectedSender?: string, unsignedAllowed?: boolean, forwarded?: boolean }
  /** Answers once this thread's trust store and registry are loaded (or failed to load). */
  | { kind: 'probe' }

export interface CrlSummary {
  issuer: string
  crlNumber: string | null
}

export interface WorkerErrorInfo {
  name: string
  message: string
  stack?: string
  code?: string
}

export type WorkerReply =
  | { kind: 'verdict', verdict: Verdict, elapsedMs: number }
  | { kind: 'ready', threadId: number, trustAnchors: number, agencies: number, crls: CrlSummary[] }
  | { kind: 'error', error: WorkerErrorInfo }

interface Loaded {
  policy: VerificationPolicy
  trustStore: TrustStore
  registry: AgencyRegistry
}

// Started when the module is evaluated, i.e. when piscina boots the thread; every task awaits the
// same promise. A failed load is not an unhandled rejection: it is reported to each task instead.
const loading: Promise<Loaded> = load(workerData as WorkerConfig)
loading.catch(() => {})

async function load (config: WorkerConfig): Promise<Loaded> {
  const [fileStore, fileRegistry] = await Promise.all([TrustStore.load(config.trustDir), AgencyRegistry.load(config.registryFile)])
  const registry = config.agencies != null ? fileRegistry.withLocalAgencies(config.agencies) : fileRegistry
  const dirStore = fileStore.withCertificates(config.extraCas ?? [])
  // A CRL that does not verify is left out here; the main thread logs it (hub/revocation-sync.ts).
  const trustStore = config.extraCrls == null || config.extraCrls.length === 0 ? dirStore : (await mergeCrls(dirStore, config.extraCrls)).store
  const policy: VerificationPolicy = {
    trustStore,
    registry,
    maxBytes: config.maxBytes,
    maxDepth: config.maxDepth,
    requireRevocation: config.requireRevocation
  }
  return { policy, trustStore, registry }
}

export default async function handleTask (task: WorkerTask): Promise<WorkerReply> {
  try {
    const loaded = await loading
    switch (task.kind) {
      case 'verify': {
        if (!(task.bytes instanceof Uint8Array)) throw new TypeError('a verify task carries its bytes as a Uint8Array')
        const started = performance.now()
        // A view over the transferred memory, no copy.
        const bytes = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength)
        const verdict = await verifyDocument(bytes, loaded.policy, {
          ...(task.expectedSender != null ? { expectedSender: task.expectedSender } : {}),
          ...(task.unsignedAllowed === true ? { unsignedAllowed: true } : {}),
          ...(task.forwarded === true ? { forwarded: true } : {})
        })
        return { kind: 'verdict', verdict, elapsedMs: performance.now() - started }
      }
      case 'probe':
        return {
          kind: 'ready',
          threadId,
          trustAnchors: loaded.trustStore.anchors.length,
          agencies: loaded.registry.all().length,
          crls: loaded.trustStore.crls.map((c) => ({ issuer: c.issuer, crlNumber: c.crlNumber }))
        }
      default:
        throw new TypeError(`unknown verification task ${JSON.stringify((task as { kind?: unknown }).kind)}`)
    }
  } catch (err) {
    return { kind: 'error', error: describeError(err) }
  }
}

function describeError (err: unknown): WorkerErrorInfo {
  if (!(err instanceof Error)) return { name: 'Error', message: `non-Error thrown: ${String(err)}` }
  const info: WorkerErrorInfo = { name: err.name, message: err.message }
  if (err.stack != null) info.stack = err.stack
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string') info.code = code
  return info
}
