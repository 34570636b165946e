/** Spawns memory-worker.ts: one (variant, document) peak-memory measurement in a fresh process. */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ROOT } from '../../test/helpers/example-pki.js'
import type { Variant } from './variants.js'

export interface MemoryResult {
  variant: Variant
  documentBytes: number
  /** RSS after warm-up and GC, before the document is read (bytes). */
  baselineRss: number
  /** Highest RSS while reading and verifying the document (bytes). */
  peakRss: number
  /** How the peak was obtained. */
  peakSource: 'VmHWM reset at baseline' | 'maxRSS over the process lifetime'
}

const WORKER = fileURLToPath(new URL('./memory-worker.ts', import.meta.url))

export function measurePeakMemory (variant: Variant, documentPath: string, warmupPath: string): MemoryResult {
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', WORKER, variant, documentPath, warmupPath], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 1024 * 1024
  })
  if (run.status !== 0) throw new Error(`memory worker (${variant}, ${documentPath}) exited with ${run.status ?? run.signal}: ${run.stderr.trim()}`)
  const last = run.stdout.trim().split('\n').at(-1) ?? ''
  return JSON.parse(last) as MemoryResult
}
