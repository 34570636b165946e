/**
 * One thread of the bare-verification baseline (baseline.ts): reads its documents, warms up, waits
 * for "go", then runs bench/verify's bare xml-crypto check over them in turn until the deadline,
 * and posts back how many it verified in how long.
 */
import { readFileSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import { bareCheck } from '../verify/variants.js'

export interface BaselineWorkerData {
  paths: string[]
  warmupOps: number
  durationMs: number
}

export interface BaselineWorkerResult {
  ops: number
  /** Wall time of the measured loop. */
  elapsedMs: number
}

const data = workerData as BaselineWorkerData
const port = parentPort
if (port == null) throw new Error('baseline-worker.ts runs as a worker thread')
const documents = data.paths.map((p) => readFileSync(p))
const pick = (i: number): Buffer => documents[i % documents.length] as Buffer
for (let i = 0; i < data.warmupOps; i++) bareCheck(pick(i))
port.once('message', () => {
  const started = performance.now()
  const deadline = started + data.durationMs
  let ops = 0
  while (performance.now() < deadline) bareCheck(pick(ops++))
  port.postMessage({ ops, elapsedMs: performance.now() - started } satisfies BaselineWorkerResult)
})
port.postMessage('ready')
