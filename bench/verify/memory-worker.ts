/**
 * One peak-memory measurement in a fresh process (spawned by run.ts):
 *   node --expose-gc --import tsx bench/verify/memory-worker.ts <bare|full> <document> <warm-up document>
 * Loads everything, warms the code up on the small document (this also fills the path-validation
 * cache, as in a running hub), collects garbage, records the baseline RSS, then reads the document
 * and verifies it once. The peak is the kernel's high-water mark (VmHWM) after resetting it at the
 * baseline (/proc/self/clear_refs), so neither the node/tsx start-up nor the warm-up counts; where
 * that reset is unavailable the lifetime maxRSS is the fallback. The delta therefore includes
 * holding the input bytes themselves (1x the document size). Prints one JSON line.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import type { MemoryResult } from './memory.js'
import { isVariant, loadVariants } from './variants.js'

/** VmRSS / VmHWM from /proc/self/status, in bytes; undefined where there is no procfs. */
function statusBytes (field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))
    return match?.[1] != null ? Number(match[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

function resetPeakRss (): boolean {
  try {
    // "5" resets the peak RSS high-water mark to the current RSS (Linux >= 4.0).
    writeFileSync('/proc/self/clear_refs', '5')
    return statusBytes('VmHWM') != null
  } catch {
    return false
  }
}

const collect = (): void => {
  const gc = globalThis.gc
  if (gc == null) return
  gc()
  gc()
}

async function main (): Promise<void> {
  const [variant, documentPath, warmupPath] = process.argv.slice(2)
  if (!isVariant(variant) || documentPath == null || warmupPath == null) {
    throw new Error('usage: memory-worker.ts <bare|full> <document> <warm-up document>')
  }
  const verify = (await loadVariants())[variant]
  const warmup = readFileSync(warmupPath)
  for (let i = 0; i < 20; i++) await verify(warmup)

  collect()
  // Let concurrent sweeping hand pages back before the baseline is taken.
  await new Promise((resolve) => setTimeout(resolve, 200))
  const reset = resetPeakRss()
  // Right after the reset the high-water mark equals the current RSS: that is the baseline.
  const baselineRss = (reset ? statusBytes('VmHWM') : undefined) ?? process.memoryUsage.rss()
  const bytes = readFileSync(documentPath)
  await verify(bytes)
  const peakRss = Math.max(reset ? (statusBytes('VmHWM') ?? 0) : process.resourceUsage().maxRSS * 1024, baselineRss)

  const result: MemoryResult = {
    variant,
    documentBytes: bytes.length,
    baselineRss,
    peakRss,
    peakSource: reset ? 'VmHWM reset at baseline' : 'maxRSS over the process lifetime'
  }
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

await main()
