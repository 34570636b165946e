/**
 * Verification benchmark: `npm run bench` (node --import tsx bench/verify/run.ts).
 *
 * For 10 KB, 1 MB and 20 MB signed documents generated into a temporary directory: throughput of
 * the full policy (verifyDocument) against a bare xml-crypto check of the same bytes in the same
 * process, peak memory of one verification per variant in a fresh process, a per-step time
 * breakdown, and `xmlsec1 --verify` on the largest document. Prints the markdown report to stdout
 * (progress goes to stderr) and rewrites the "Verification (bench/verify)" section of
 * docs/benchmarks.md.
 *
 * Then runs streaming-targets.ts (the streaming verifier's targets, its own section).
 *
 * Options: --quick  short budgets for a smoke run; does not touch docs/benchmarks.md
 *          --no-write  run fully but do not touch docs/benchmarks.md
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { examplePolicy, ROOT } from '../../test/helpers/example-pki.js'
import { breakdown } from './breakdown.js'
import { describeMachine } from './machine.js'
import { makeDocuments } from './make-documents.js'
import { measureThroughput, type ThroughputOptions } from './measure.js'
import { measurePeakMemory } from './memory.js'
import { memoryDelta, renderSection, targetVerdicts, writeSection, type Results, type SizeResult } from './report.js'
import { loadVariants, VARIANTS, type Variant } from './variants.js'
import { measureXmlsec } from './xmlsec.js'
import { measureTokenizers } from './tokenizers.js'

const quick = process.argv.includes('--quick')
const write = !quick && !process.argv.includes('--no-write')
const DOC_PATH = join(ROOT, 'docs', 'benchmarks.md')

/** Budgets per document size, in SIZES order; chosen to keep the whole run under ~3 minutes. */
interface Budget { throughput: ThroughputOptions, breakdownIterations: number, breakdownWarmup: number, breakdownFullIterations: number }
const BUDGETS: Budget[] = quick
  ? [
      { throughput: { warmupOps: 10, minMs: 300, minOps: 20, blockMs: 50 }, breakdownIterations: 5, breakdownWarmup: 1, breakdownFullIterations: 100 },
      { throughput: { warmupOps: 1, minMs: 300, minOps: 2, blockMs: 50 }, breakdownIterations: 1, breakdownWarmup: 0, breakdownFullIterations: 2 },
      { throughput: { warmupOps: 0, minMs: 0, minOps: 1, blockMs: 0 }, breakdownIterations: 1, breakdownWarmup: 0, breakdownFullIterations: 1 }
    ]
  : [
      { throughput: { warmupOps: 100, minMs: 3000, minOps: 200, blockMs: 250 }, breakdownIterations: 50, breakdownWarmup: 5, breakdownFullIterations: 2000 },
      { throughput: { warmupOps: 3, minMs: 3000, minOps: 10, blockMs: 250 }, breakdownIterations: 5, breakdownWarmup: 0, breakdownFullIterations: 50 },
      { throughput: { warmupOps: 1, minMs: 5000, minOps: 4, blockMs: 0 }, breakdownIterations: 2, breakdownWarmup: 0, breakdownFullIterations: 3 }
    ]

const XMLSEC_RUNS = quick ? 1 : 5
/** Peak memory varies with GC timing: each (variant, document) runs this often and the highest delta is reported. */
const MEMORY_RUNS = quick ? 1 : 2

const log = (message: string): void => { process.stderr.write(`[bench/verify] ${message}\n`) }

async function main (): Promise<void> {
  const started = Date.now()
  const machine = describeMachine()
  const dir = mkdtempSync(join(tmpdir(), 'lienthong-bench-'))
  try {
    log(`signing the benchmark documents into ${dir}`)
    const documents = makeDocuments(dir)
    const smallest = documents[0]
    if (smallest == null) throw new Error('no documents')
    const variants = await loadVariants()
    const policy = await examplePolicy()

    const sizes: SizeResult[] = []
    for (const [index, document] of documents.entries()) {
      const budget = BUDGETS[index] ?? BUDGETS.at(-1) as Budget
      const bytes = readFileSync(document.path)
      // Fails loudly before any timing if either variant does not accept the document.
      for (const variant of VARIANTS) await variants[variant](bytes)

      log(`${document.label}: throughput`)
      const throughput = await measureThroughput(variants, bytes, budget.throughput)
      log(`${document.label}: bare ${throughput.bare.meanMs.toFixed(2)} ms, full ${throughput.full.meanMs.toFixed(2)} ms (${(throughput.full.meanMs / throughput.bare.meanMs).toFixed(2)}x)`)

      log(`${document.label}: time per step`)
      const steps = await breakdown(bytes, policy, budget.breakdownIterations, budget.breakdownWarmup, budget.breakdownFullIterations)

      log(`${document.label}: peak memory (one process per variant)`)
      const memory = {} as SizeResult['memory']
      for (const variant of VARIANTS as readonly Variant[]) {
        const runs = Array.from({ length: MEMORY_RUNS }, () => measurePeakMemory(variant, document.path, smallest.path))
        memory[variant] = runs.reduce((worst, m) => memoryDelta(m) > memoryDelta(worst) ? m : worst)
      }

      sizes.push({ document, throughput, memory, steps })
    }

    const largest = documents.at(-1) as typeof smallest
    log(`${largest.label}: xmlsec1 --verify x${XMLSEC_RUNS}`)
    const xmlsec = measureXmlsec(largest.path, XMLSEC_RUNS)

    log('tokenizer candidates and adversarial shapes')
    const tokenizers = await measureTokenizers(documents, quick)

    const results: Results = {
      tokenizers,
      machine,
      sizes,
      memoryRuns: MEMORY_RUNS,
      ...(xmlsec != null ? { xmlsec: { document: largest, result: xmlsec } } : {}),
      durationMs: Date.now() - started,
      endLoadAverage: loadavg()[0] ?? 0
    }
    const section = renderSection(results)
    process.stdout.write(`${section}\n`)
    if (write) {
      writeSection(DOC_PATH, section)
      log(`wrote the "Verification (bench/verify)" section of ${DOC_PATH}`)
    } else {
      log(`${quick ? '--quick' : '--no-write'}: ${DOC_PATH} left unchanged`)
    }
    const verdicts = targetVerdicts(results)
    log(`targets: time ratio ${verdicts.time ? 'met' : 'NOT met'}, 20 MB memory ${verdicts.memory === true ? 'met' : 'NOT met'}; ${Math.round(results.durationMs / 1000)} s`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  // The streaming verifier's targets (issue 15), in their own process and section.
  const targets = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./streaming-targets.ts', import.meta.url)), ...(quick ? ['--quick'] : []), ...(write ? [] : ['--no-write'])], { stdio: 'inherit' })
  if (targets.status !== 0) throw new Error(`streaming-targets.ts exited with ${targets.status ?? targets.signal}`)
}

await main()
