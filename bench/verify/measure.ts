/**
 * Throughput of the two variants on one document, measured alternately in the same process so
 * that machine noise (other load, CPU frequency, GC state) hits both alike: after a warm-up, the
 * variants take turns running blocks of operations (the order flips every round) until each has
 * run for the time budget and the minimum number of operations.
 *
 * No forced GC between blocks: a forced full GC shrinks V8's young generation, and the ops that
 * follow ran about 3x slower in a trial (10 KB), which measures the GC setting rather than the code.
 */
import { VARIANTS, type Variant, type Verify } from './variants.js'

export interface ThroughputOptions {
  warmupOps: number
  /** Minimum measured time per variant. */
  minMs: number
  /** Minimum measured operations per variant. */
  minOps: number
  /** Target length of one block of consecutive operations of one variant. */
  blockMs: number
}

export interface Throughput {
  ops: number
  totalMs: number
  opsPerSecond: number
  meanMs: number
  medianMs: number
}

export async function measureThroughput (
  variants: Record<Variant, Verify>,
  bytes: Buffer,
  options: ThroughputOptions
): Promise<Record<Variant, Throughput>> {
  const samples: Record<Variant, number[]> = { bare: [], full: [] }
  const estimate: Record<Variant, number> = { bare: 0, full: 0 }
  for (let i = 0; i < options.warmupOps; i++) {
    for (const variant of VARIANTS) estimate[variant] = await timeOne(variants[variant], bytes)
  }
  const blockOps = (variant: Variant): number => Math.max(1, Math.round(options.blockMs / Math.max(estimate[variant], 0.001)))
  const done = (variant: Variant): boolean => samples[variant].length >= options.minOps && sum(samples[variant]) >= options.minMs
  for (let round = 0; !VARIANTS.every(done); round++) {
    const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()
    for (const variant of order) {
      const n = blockOps(variant)
      for (let i = 0; i < n; i++) samples[variant].push(await timeOne(variants[variant], bytes))
    }
  }
  return { bare: summarize(samples.bare), full: summarize(samples.full) }
}

async function timeOne (verify: Verify, bytes: Buffer): Promise<number> {
  const start = process.hrtime.bigint()
  await verify(bytes)
  return Number(process.hrtime.bigint() - start) / 1e6
}

function summarize (ms: number[]): Throughput {
  const totalMs = sum(ms)
  return { ops: ms.length, totalMs, opsPerSecond: ms.length / (totalMs / 1000), meanMs: totalMs / ms.length, medianMs: median(ms) }
}

export function sum (values: number[]): number {
  return values.reduce((a, b) => a + b, 0)
}

export function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}
