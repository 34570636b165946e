/**
 * Verification off the event loop (architecture.md, accept path step 2): documents are verified in
 * a pool of worker threads sized to the cores, behind a bounded waiting line. When the line is full
 * `verify` rejects with PoolSaturatedError at once (the gateway answers 503 + Retry-After); memory
 * never grows with the offered load.
 *
 * Each worker loads the trust store and the registry once (verification-worker.ts). `reload()`
 * starts a new generation of workers on the current files, checks that every one of them loaded,
 * swaps it in, and lets the old generation finish what it is running before its threads end. A
 * generation that fails to load is thrown away and the old one keeps serving.
 */
import { availableParallelism } from 'node:os'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Piscina } from 'piscina'
import type { ExtraCrl } from '../pki/crl-verify.js'
import type { AgencyEntry } from '../registry/registry-format.js'
import { DEFAULT_PARSE_LIMITS } from '../xmldsig/parse.js'
import type { Verdict } from '../domain/verdict.js'
import type { WorkerConfig, WorkerErrorInfo, WorkerReply, WorkerTask } from './verification-worker.js'

/**
 * The worker module next to this one, with this module's own extension: `.ts` when running from
 * src/ under tsx (worker threads inherit the parent's `--import tsx` through execArgv), `.js` from
 * the compiled dist/.
 */
export const VERIFICATION_WORKER_FILE = fileURLToPath(new URL(`./verification-worker${extname(fileURLToPath(import.meta.url)) || '.js'}`, import.meta.url))

export interface VerificationPoolOptions {
  trustDir: string
  registryFile: string
  /** Worker threads; default: the cores available to this process. */
  threads?: number
  /** Documents allowed to wait while all threads are busy; default: threads * 4. */
  maxQueue?: number
  maxBytes: number
  maxDepth?: number
  requireRevocation: boolean
  /**
   * CRLs from outside the trust directory (fetched by the refresh job, read from the database):
   * each worker verifies them against its trust store and keeps the newest CRL per issuer.
   */
  extraCrls?: readonly ExtraCrl[]
  /** Trust CAs of the database, over the directory's (hub/revocation-sync.ts). */
  extraCas?: ReadonlyArray<{ der: Uint8Array, source: string }>
  /** The agencies of the database; they replace the registry file's /agencies in every thread. */
  agencies?: readonly AgencyEntry[]
  /** A worker failed outside any task (piscina's 'error' event); default: process warning. */
  onWorkerError?: (err: Error) => void
}

export interface VerifyOptions {
  /** The authenticated agency: compared with From/OrganId before any signature work (F02). */
  expectedSender?: string
  /** VDXP submissions: see VerifyDocumentOptions.unsignedAllowed. */
  unsignedAllowed?: boolean
  /** Forwarded by a peer hub: see VerifyDocumentOptions.forwarded (the signer comes back unbound). */
  forwarded?: boolean
  /**
   * Hand the Buffer's memory over to the worker instead of copying it. Only honoured when the
   * Buffer owns its whole ArrayBuffer (not a slice of Node's small-buffer pool); the caller's
   * Buffer is then detached (length 0) and must not be used again. Default: copy, the caller
   * keeps its bytes (the accept path still has to store them).
   */
  transfer?: boolean
}

export interface VerificationPoolStats {
  /** Live worker threads (briefly both generations during a reload; 0 once closed). */
  threads: number
  /** Accepted documents waiting for a thread. */
  queued: number
  /** Documents being verified now. */
  running: number
  /** Tasks finished since the pool was created (verdicts and errors alike). */
  completed: number
}

export interface VerificationPool {
  /** Resolves with the verdict; rejects with PoolSaturatedError, PoolClosedError or a worker Error. */
  verify (bytes: Buffer, options?: VerifyOptions): Promise<Verdict>
  /**
   * New workers on the current trust store and registry files; rejects (old workers stay) if they
   * fail to load. `extraCrls` replaces the extra CRL set (kept for later reloads); omitted, the
   * last one given stays.
   */
  reload (options?: ReloadOptions): Promise<void>
  /** Stops taking documents, lets the accepted ones finish, ends every thread. `force` ends them now. */
  close (options?: { force?: boolean }): Promise<void>
  stats (): VerificationPoolStats
}

export interface ReloadOptions {
  extraCrls?: readonly ExtraCrl[]
  /** Replaces the database's trust CAs (kept for later reloads); omitted, the last ones stay. */
  extraCas?: ReadonlyArray<{ der: Uint8Array, source: string }>
  /** Replaces the database's agencies (kept for later reloads); omitted, the last ones stay. */
  agencies?: readonly AgencyEntry[]
}

/** The waiting line is full: answer 503 with `Retry-After: retryAfterSeconds`. */
export class PoolSaturatedError extends Error {
  readonly code = 'POOL_SATURATED'
  constructor (readonly retryAfterSeconds: number, readonly inFlight: number, readonly capacity: number) {
    super(`the verification pool is saturated (${inFlight} documents in flight, capacity ${capacity}); retry after ${retryAfterSeconds} s`)
    this.name = 'PoolSaturatedError'
  }
}

export class PoolClosedError extends Error {
  readonly code = 'POOL_CLOSED'
  constructor () {
    super('the verification pool is closed')
    this.name = 'PoolClosedError'
  }
}

/** An exception inside a worker (a bug, or files that would not load), with what the worker knew of it. */
export class VerificationWorkerError extends Error {
  readonly remoteName: string
  readonly remoteCode: string | undefined
  readonly remoteStack: string | undefined
  constructor (info: WorkerErrorInfo) {
    super(`${info.name} in verification worker: ${info.message}`)
    this.name = 'VerificationWorkerError'
    this.remoteName = info.name
    this.remoteCode = info.code
    this.remoteStack = info.stack
  }
}

const MAX_RETRY_AFTER_SECONDS = 60
/** Weight of the newest sample in the moving average of verification time. */
const EWMA_WEIGHT = 0.2

interface Generation {
  piscina: Piscina<WorkerTask, WorkerReply>
  inFlight: number
  retired: boolean
  destroyed?: Promise<void>
}

export async function createVerificationPool (options: VerificationPoolOptions): Promise<VerificationPool> {
  const threads = options.threads ?? availableParallelism()
  const maxQueue = options.maxQueue ?? threads * 4
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`)
  if (!Number.isInteger(maxQueue) || maxQueue < 0) throw new RangeError(`maxQueue must be a non-negative integer, got ${maxQueue}`)
  let config: WorkerConfig = {
    trustDir: options.trustDir,
    registryFile: options.registryFile,
    maxBytes: options.maxBytes,
    maxDepth: options.maxDepth ?? DEFAULT_PARSE_LIMITS.maxDepth,
    requireRevocation: options.requireRevocation,
    extraCrls: workerCrls(options.extraCrls),
    extraCas: workerCas(options.extraCas),
    ...(options.agencies != null ? { agencies: structuredClone([...options.agencies]) } : {})
  }
  const onWorkerError = options.onWorkerError ?? ((err: Error) => process.emitWarning(err))
  const capacity = threads + maxQueue

  let current = await startGeneration(config)
  const retired = new Set<Generation>()
  const inFlightTasks = new Set<Promise<unknown>>()
  let inFlight = 0
  let completed = 0
  let meanElapsedMs: number | undefined
  let closed = false
  let reloading: Promise<void> = Promise.resolve()

  /** Every thread of a new generation answers a probe once its files are loaded, or the generation is discarded. */
  async function startGeneration (workerConfig: WorkerConfig): Promise<Generation> {
    const piscina = new Piscina<WorkerTask, WorkerReply>({
      filename: VERIFICATION_WORKER_FILE,
      minThreads: threads,
      maxThreads: threads,
      // A backstop only: our own count (capacity) rejects first, over all generations.
      maxQueue: capacity,
      workerData: workerConfig
    })
    piscina.on('error', onWorkerError)
    try {
      // The threads start idle and the balancer gives an idle thread each task: one probe per thread.
      const replies = await Promise.all(Array.from({ length: threads }, () => piscina.run({ kind: 'probe' })))
      for (const reply of replies) {
        if (reply.kind === 'error') throw new VerificationWorkerError(reply.error)
        if (reply.kind !== 'ready') throw new Error(`unexpected reply to a probe: ${reply.kind}`)
      }
    } catch (err) {
      await piscina.destroy()
      throw err
    }
    return { piscina, inFlight: 0, retired: false }
  }

  function retire (generation: Generation): void {
    generation.retired = true
    retired.add(generation)
    maybeDestroy(generation)
  }

  function maybeDestroy (generation: Generation): void {
    if (!generation.retired || generation.inFlight > 0 || generation.destroyed != null) return
    generation.destroyed = generation.piscina.destroy().finally(() => retired.delete(generation))
  }

  function retryAfterSeconds (): number {
    // Time until a place frees up, roughly: the documents ahead, spread over the threads.
    const perDocumentMs = meanElapsedMs ?? 1000
    const seconds = Math.ceil(perDocumentMs * Math.max(1, inFlight - threads + 1) / threads / 1000)
    return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, seconds))
  }

  async function verify (bytes: Buffer, verifyOptions: VerifyOptions = {}): Promise<Verdict> {
    // Decided synchronously, before anything is copied or submitted.
    if (closed) throw new PoolClosedError()
    if (inFlight >= capacity) throw new PoolSaturatedError(retryAfterSeconds(), inFlight, capacity)
    const data = transferable(bytes, verifyOptions.transfer === true)
    // Shared memory (the gateway's request bodies, see raw-body.ts) is read by the thread in
    // place; anything else is copied or transferred.
    const shared = data.buffer instanceof SharedArrayBuffer
    const generation = current
    inFlight++
    generation.inFlight++
    const task = generation.piscina.run({ kind: 'verify', bytes: data, ...(verifyOptions.expectedSender != null ? { expectedSender: verifyOptions.expectedSender } : {}), ...(verifyOptions.unsignedAllowed === true ? { unsignedAllowed: true } : {}), ...(verifyOptions.forwarded === true ? { forwarded: true } : {}) }, { transferList: shared ? [] : [data.buffer as ArrayBuffer] })
    inFlightTasks.add(task)
    try {
      const reply = await task
      if (reply.kind === 'error') throw new VerificationWorkerError(reply.error)
      if (reply.kind !== 'verdict') throw new Error(`unexpected reply to a verification: ${reply.kind}`)
      meanElapsedMs = meanElapsedMs == null ? reply.elapsedMs : meanElapsedMs + EWMA_WEIGHT * (reply.elapsedMs - meanElapsedMs)
      return reply.verdict
    } finally {
      inFlightTasks.delete(task)
      inFlight--
      generation.inFlight--
      completed++
      maybeDestroy(generation)
    }
  }

  async function doReload (reloadOptions: ReloadOptions): Promise<void> {
    if (closed) throw new PoolClosedError()
    const nextConfig: WorkerConfig = {
      ...config,
      ...(reloadOptions.extraCrls != null ? { extraCrls: workerCrls(reloadOptions.extraCrls) } : {}),
      ...(reloadOptions.extraCas != null ? { extraCas: workerCas(reloadOptions.extraCas) } : {}),
      ...(reloadOptions.agencies != null ? { agencies: structuredClone([...reloadOptions.agencies]) } : {})
    }
    const next = await startGeneration(nextConfig)
    if (closed) {
      await next.piscina.destroy()
      throw new PoolClosedError()
    }
    const old = current
    current = next
    // Only a generation that loaded makes its CRLs, CAs and agencies the ones later reloads start from.
    config = nextConfig
    retire(old)
  }

  function reload (reloadOptions: ReloadOptions = {}): Promise<void> {
    // One reload at a time; a second one starts after the first, on the files as they are then.
    const run = reloading.then(async () => await doReload(reloadOptions))
    // The caller gets the failure through `run`; the chain only orders the next reload after it.
    reloading = run.catch(() => {})
    return run
  }

  async function close ({ force = false }: { force?: boolean } = {}): Promise<void> {
    closed = true
    await reloading
    if (!force) await Promise.allSettled([...inFlightTasks])
    for (const generation of [current, ...retired]) generation.destroyed ??= generation.piscina.destroy()
    await Promise.all([current, ...retired].map((g) => g.destroyed))
  }

  function stats (): VerificationPoolStats {
    const generations = [current, ...retired].filter((g) => g.destroyed == null)
    const threadCount = generations.reduce((n, g) => n + g.piscina.threads.length, 0)
    const queued = generations.reduce((n, g) => n + g.piscina.queueSize, 0)
    return { threads: threadCount, queued, running: Math.max(0, inFlight - queued), completed }
  }

  return { verify, reload, close, stats }
}

/** Plain copies for workerData (structured clone copies them once per thread anyway). */
function workerCrls (crls: readonly ExtraCrl[] | undefined): ExtraCrl[] {
  return (crls ?? []).map((c) => ({ der: new Uint8Array(c.der), source: c.source }))
}

function workerCas (cas: ReadonlyArray<{ der: Uint8Array, source: string }> | undefined): Array<{ der: Uint8Array, source: string }> {
  return (cas ?? []).map((c) => ({ der: new Uint8Array(c.der), source: c.source }))
}

/**
 * Bytes whose ArrayBuffer can be moved to the worker: transferring avoids a second copy during
 * structured cloning. Slices of Node's Buffer pool share their ArrayBuffer with unrelated Buffers
 * (and cannot be transferred), and moving the caller's own memory would detach its Buffer, so
 * unless asked to transfer this copies into fresh memory that belongs to nobody else.
 */
function transferable (bytes: Buffer, transfer: boolean): Uint8Array<ArrayBufferLike> {
  if (bytes.buffer instanceof SharedArrayBuffer) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const own = bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
  if (transfer && own) return new Uint8Array(bytes.buffer as ArrayBuffer)
  const copy = Buffer.allocUnsafeSlow(bytes.byteLength)
  bytes.copy(copy)
  return new Uint8Array(copy.buffer as ArrayBuffer, copy.byteOffset, copy.byteLength)
}
