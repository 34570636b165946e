/**
 * The baseline, measured in the same run on the same documents: bench/verify's bare xml-crypto
 * check (decode, xmldom parse, findSignatures, loadSignature, checkSignature against the pinned
 * G22 certificate; no policy, no HTTP, no database) in one worker thread per core, all running at
 * once for a fixed time. Their summed rate is what the machine's cores verify per second when they
 * do nothing else: the rate the hub is compared with. The threads are a piscina pool like the
 * hub's (piscina loads the TypeScript module through tsx's require hook; a plain worker thread on
 * Node 20 does not get tsx's ESM hooks).
 */
import { fileURLToPath } from 'node:url'
import { Piscina } from 'piscina'
import type { BaselineTask, BaselineWorkerResult } from './baseline-worker.js'

export interface BaselineResult {
  threads: number
  ops: number
  /** Sum over the threads of ops / elapsed. */
  opsPerSecond: number
  /** Mean wall milliseconds per verification within one thread (i.e. per core). */
  msPerOpPerThread: number
  /** CPU milliseconds per verification (all threads' CPU time / all operations); undefined without /proc. */
  cpuMsPerOp: number | undefined
}

const WORKER = fileURLToPath(new URL('./baseline-worker.ts', import.meta.url))

export async function measureBaseline (paths: string[], options: { threads: number, warmupOps: number, durationMs: number }): Promise<BaselineResult> {
  const pool = new Piscina<BaselineTask, BaselineWorkerResult>({ filename: WORKER, minThreads: options.threads, maxThreads: options.threads })
  try {
    const barrier = new Int32Array(new SharedArrayBuffer(8))
    barrier[1] = options.threads
    const step = Math.max(1, Math.floor(paths.length / options.threads))
    const done = await Promise.all(Array.from({ length: options.threads }, async (_, t) => await pool.run({
      // Each thread starts at a different document; every thread sees all of them in turn.
      paths: [...paths.slice(t * step), ...paths.slice(0, t * step)],
      warmupOps: options.warmupOps,
      durationMs: options.durationMs,
      barrier
    })))
    const ops = done.reduce((n, r) => n + r.ops, 0)
    const opsPerSecond = done.reduce((n, r) => n + r.ops / (r.elapsedMs / 1000), 0)
    const msPerOpPerThread = done.reduce((n, r) => n + r.elapsedMs / r.ops, 0) / done.length
    const cpuMsPerOp = done.every((r) => r.cpuMs != null) ? done.reduce((n, r) => n + (r.cpuMs ?? 0), 0) / ops : undefined
    return { threads: options.threads, ops, opsPerSecond, msPerOpPerThread, cpuMsPerOp }
  } finally {
    await pool.destroy()
  }
}
