/**
 * One clock for the whole bench: wall-clock milliseconds with sub-millisecond resolution
 * (performance.timeOrigin + performance.now()), comparable with the hub's Date.now() and with
 * PostgreSQL's now() on the same machine (to about a millisecond).
 */
export const now = (): number => performance.timeOrigin + performance.now()

export const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))

export interface Percentiles {
  count: number
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
}

/** Nearest-rank percentiles. */
export function percentiles (values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0
  return {
    count: sorted.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted.at(-1) ?? 0,
    mean: sorted.length === 0 ? 0 : sorted.reduce((a, b) => a + b, 0) / sorted.length
  }
}
