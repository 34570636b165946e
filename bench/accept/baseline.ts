/**
 * The baseline, measured in the same run on the same documents: bench/verify's bare xml-crypto
 * check (decode, xmldom parse, findSignatures, loadSignature, checkSignature against the pinned
 * G22 certificate; no policy, no HTTP, no database) in one worker thread per core, all running at
 * once for a fixed time. Their summed rate is what the machine's cores verify per second when they
 * do nothing else, the rate the hub is compared with.
 */
import { Worker } from 'node:worker_threads'
import type { BaselineWorkerData, BaselineWorkerResult } from './baseline-worker.js'

export interface BaselineResult {
  threads: number
  ops: number
  /** Sum over the threads of ops / elapsed. */
  opsPerSecond: number
  /** Mean wall milliseconds per verification within one thread (i.e. per core). */
  msPerOpPerThread: number
}

const WORKER = new URL('./baseline-worker.ts', import.meta.url)

export async function measureBaseline (paths: string[], options: { threads: number, warmupOps: number, durationMs: number }): Promise<BaselineResult> {
  const workers = Array.from({ length: options.threads }, (_, t) => {
    // Each thread starts at a different document; every thread sees all of them in turn.
    const rotated = [...paths.slice(t * Math.floor(paths.length / options.threads)), ...paths.slice(0, t * Math.floor(paths.length / options.threads))]
    return new Worker(WORKER, { workerData: { paths: rotated, warmupOps: options.warmupOps, durationMs: options.durationMs } satisfies BaselineWorkerData })
  })
  try {
    const failed = new Promise<never>((_resolve, reject) => {
      for (const w of workers) {
        w.once('error', reject)
        w.once('exit', (code) => { if (code !== 0) reject(new Error(`baseline worker exited with ${code}`)) })
      }
    })
    const message = async <T>(w: Worker): Promise<T> => await new Promise<T>((resolve) => w.once('message', resolve))
    // Everyone warmed up before anyone starts measuring.
    await Promise.race([Promise.all(workers.map(async (w) => await message<string>(w))), failed])
    const results = Promise.all(workers.map(async (w) => await message<BaselineWorkerResult>(w)))
    for (const w of workers) w.postMessage('go')
    const done = await Promise.race([results, failed])
    const ops = done.reduce((n, r) => n + r.ops, 0)
    const opsPerSecond = done.reduce((n, r) => n + r.ops / (r.elapsedMs / 1000), 0)
    const msPerOpPerThread = done.reduce((n, r) => n + r.elapsedMs / r.ops, 0) / done.length
    return { threads: options.threads, ops, opsPerSecond, msPerOpPerThread }
  } finally {
    await Promise.all(workers.map(async (w) => await w.terminate()))
  }
}
