/**
 * One thread of the bare-verification baseline (baseline.ts), as a piscina task: reads the
 * documents and warms up (first task on this thread only), waits at a barrier until every thread
 * of the pool is ready, then runs bench/verify's bare xml-crypto check over the documents in turn
 * until the time is up and says how many it verified in how long.
 */
import { readFileSync } from 'node:fs'
import { bareCheck } from '../verify/variants.js'

export interface BaselineTask {
  paths: string[]
  warmupOps: number
  durationMs: number
  /** Int32Array over a SharedArrayBuffer: [threads ready, threads expected]. */
  barrier: Int32Array
}

export interface BaselineWorkerResult {
  ops: number
  /** Wall time of the measured loop. */
  elapsedMs: number
  /** CPU time (user + system) of this thread during the loop; undefined without /proc. */
  cpuMs: number | undefined
}

/** This thread's utime + stime in milliseconds (Linux, 100 clock ticks per second). */
function threadCpuMs (): number | undefined {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return undefined
  }
}

const BARRIER_TIMEOUT_MS = 60_000
let loaded: { key: string, documents: Buffer[] } | undefined

export default function baselineTask (task: BaselineTask): BaselineWorkerResult {
  const key = task.paths.join('\n')
  if (loaded?.key !== key) {
    loaded = { key, documents: task.paths.map((p) => readFileSync(p)) }
    for (let i = 0; i < task.warmupOps; i++) bareCheck(loaded.documents[i % loaded.documents.length] as Buffer)
  }
  const documents = loaded.documents
  // Everyone starts together, or nobody measures (two tasks on one thread would never meet).
  const expected = Atomics.load(task.barrier, 1)
  if (Atomics.add(task.barrier, 0, 1) + 1 === expected) {
    Atomics.notify(task.barrier, 0)
  } else {
    const until = Date.now() + BARRIER_TIMEOUT_MS
    for (let ready = Atomics.load(task.barrier, 0); ready < expected; ready = Atomics.load(task.barrier, 0)) {
      if (Date.now() > until || Atomics.wait(task.barrier, 0, ready, until - Date.now()) === 'timed-out') {
        throw new Error(`baseline worker: only ${Atomics.load(task.barrier, 0)} of ${expected} threads ready`)
      }
    }
  }
  const cpuStart = threadCpuMs()
  const started = performance.now()
  const deadline = started + task.durationMs
  let ops = 0
  while (performance.now() < deadline) bareCheck(documents[ops++ % documents.length] as Buffer)
  const elapsedMs = performance.now() - started
  const cpuEnd = threadCpuMs()
  return { ops, elapsedMs, cpuMs: cpuStart != null && cpuEnd != null ? cpuEnd - cpuStart : undefined }
}
