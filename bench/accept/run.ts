/**
 * Accept-path benchmark: `npm run bench:accept` (node --import tsx bench/accept/run.ts).
 *
 * Starts a real hub (`lienthong serve` in a child process, PostgreSQL of this machine in a fresh
 * schema, real Redis), then for 10 KB and 1 MB documents: the bare xml-crypto verification rate of
 * the same files on all cores (bench/verify's bare check, one worker thread per core), measured
 * before and after the load; documents accepted per second with a fixed number of concurrent
 * clients (autocannon, every document distinct and answered 202), latency, the hub's peak RSS and
 * where its CPU went. Then the stall test: a 50 MB document POSTed while /health/live is probed
 * every 10 ms. Prints the markdown report to stdout (progress to stderr) and rewrites the
 * "Accept path (bench/accept)" section of docs/benchmarks.md.
 *
 * Options: --quick     small counts for a smoke run; does not touch docs/benchmarks.md
 *          --no-write  run fully but do not touch docs/benchmarks.md
 *          --profile   run the hub under `node --cpu-prof` and add where its main thread spent its
 *                      time to the printed report; does not touch docs/benchmarks.md (profiling
 *                      slows the hub a little)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT } from '../../test/helpers/example-pki.js'
import { describeMachine } from '../verify/machine.js'
import { measureBaseline, type BaselineResult } from './baseline.js'
import { makeBatches, type DocumentBatch } from './documents.js'
import { backendDeltaMs, startHub, type CpuSample, type HubProcess } from './hub.js'
import { runLoad } from './load.js'
import { profileSummary, type ProfileWindow } from './profile.js'
import { renderSection, targetVerdicts, writeSection, type Results, type SizeResult } from './report.js'
import { measureStall, now } from './stall.js'

const quick = process.argv.includes('--quick')
const profile = process.argv.includes('--profile')
const write = !quick && !profile && !process.argv.includes('--no-write')
const DOC_PATH = join(ROOT, 'docs', 'benchmarks.md')

const CORES = availableParallelism()
const CONNECTIONS = 8
const KB = 1024
const MB = 1024 * 1024

interface SizePlan {
  label: string
  targetBytes: number
  /** Accepted before measuring (JIT, connection pools), not counted. */
  warmup: number
  /** Accepted while measuring. */
  measured: number
  /** Bare baseline: seconds per measurement (one before and one after the load), documents used. */
  baselineMs: number
  baselineDocuments: number
  baselineWarmup: number
  firstNumber: number
}

const SIZES: SizePlan[] = quick
  ? [
      { label: '10 KB', targetBytes: 10 * KB, warmup: 60, measured: 80, baselineMs: 1000, baselineDocuments: 20, baselineWarmup: 10, firstNumber: 1_000_000 },
      { label: '1 MB', targetBytes: MB, warmup: 8, measured: 16, baselineMs: 1500, baselineDocuments: 4, baselineWarmup: 1, firstNumber: 2_000_000 }
    ]
  : [
      // 3,000 before measuring: the rate is a steady-state figure, and V8's optimising compiler is
      // still at work long after start-up (compiler threads: 2.2 ms of CPU per document after 60
      // documents, 1.1 ms after 600, ~0.65 ms after 600 in a later run and ~0.17 ms after 3,000;
      // bench/accept/cpu-split.ts --warmup). 2,000 measured: at 200-300/s a 600-document window
      // lasted only 2-3 s and its rate swung by tens of percent from run to run.
      { label: '10 KB', targetBytes: 10 * KB, warmup: 3000, measured: 2000, baselineMs: 3000, baselineDocuments: 50, baselineWarmup: 40, firstNumber: 1_000_000 },
      { label: '1 MB', targetBytes: MB, warmup: 8, measured: 64, baselineMs: 5000, baselineDocuments: 12, baselineWarmup: 2, firstNumber: 2_000_000 }
    ]

const STALL = {
  label: '50 MB',
  targetBytes: 50 * MB,
  firstNumber: 4_000_000,
  /** Small documents submitted one at a time: first alone, then during the large one. */
  smallLabel: '10 KB',
  smallTargetBytes: 10 * KB,
  smallIdle: 20,
  smallDuring: quick ? 100 : 200,
  smallFirstNumber: 3_000_000,
  smallIntervalMs: 100,
  probeIntervalMs: 10,
  marginMs: 500
}

const log = (message: string): void => { process.stderr.write(`[bench/accept] ${message}\n`) }

/** Hub CPU and client CPU over one measured load. */
function cpuDelta (before: CpuSample, after: CpuSample, client: NodeJS.CpuUsage, documents: number): SizeResult['cpu'] {
  return {
    hubMsPerDocument: (after.processMs - before.processMs) / documents,
    mainThreadMsPerDocument: (after.mainThreadMs - before.mainThreadMs) / documents,
    postgresMsPerDocument: backendDeltaMs(before, after) / documents,
    clientMsPerDocument: (client.user + client.system) / 1000 / documents
  }
}

async function main (): Promise<void> {
  const started = Date.now()
  const machine = describeMachine()
  const dir = mkdtempSync(join(tmpdir(), 'lienthong-bench-accept-'))
  let hub: HubProcess | undefined
  try {
    log(`signing ${SIZES.reduce((n, s) => n + s.warmup + s.measured, 0) + STALL.smallIdle + STALL.smallDuring + 1} distinct documents into ${dir} (${CORES} threads)`)
    const signingStarted = Date.now()
    const batches = await makeBatches(dir, [
      ...SIZES.map((s) => ({ label: s.label, targetBytes: s.targetBytes, count: s.warmup + s.measured, firstNumber: s.firstNumber })),
      { label: `${STALL.smallLabel} stall`, targetBytes: STALL.smallTargetBytes, count: STALL.smallIdle + STALL.smallDuring, firstNumber: STALL.smallFirstNumber },
      { label: STALL.label, targetBytes: STALL.targetBytes, count: 1, firstNumber: STALL.firstNumber }
    ])
    log(`signed in ${Math.round((Date.now() - signingStarted) / 1000)} s`)
    const batch = (i: number): DocumentBatch => batches[i] as DocumentBatch

    const profileDir = profile ? mkdtempSync(join(tmpdir(), 'lienthong-bench-accept-prof-')) : undefined
    log(`starting the hub (lienthong serve${profile ? ' under --cpu-prof' : ''})`)
    const verifyQueue = CONNECTIONS * 4
    hub = await startHub({ verifyQueue, ...(profileDir != null ? { cpuProfileDir: profileDir } : {}) })
    const idleRss = hub.rss()
    log(`hub pid ${hub.pid} at ${hub.url}, schema ${hub.schema}, RSS ${(idleRss / MB).toFixed(0)} MB`)
    const windows: ProfileWindow[] = []

    const sizes: SizeResult[] = []
    for (const [index, plan] of SIZES.entries()) {
      const documents = batch(index)
      const bytes = documents.paths.map((p) => readFileSync(p))
      const baselinePaths = documents.paths.slice(plan.warmup, plan.warmup + plan.baselineDocuments)
      const baselineOptions = { threads: CORES, warmupOps: plan.baselineWarmup, durationMs: plan.baselineMs }

      log(`${plan.label}: bare baseline on ${CORES} threads (before)`)
      const before = await measureBaseline(baselinePaths, baselineOptions)
      log(`${plan.label}: bare ${before.opsPerSecond.toFixed(1)}/s; warm-up load of ${plan.warmup} documents`)
      const warm = await runLoad({ url: hub.url, apiKey: hub.apiKey, documents: bytes.slice(0, plan.warmup), connections: CONNECTIONS, timeoutSeconds: 120 })
      if (warm.errors > 0) throw new Error(`${plan.label}: warm-up: ${warm.errors} documents not accepted; first: ${warm.firstError ?? '?'}`)
      // What autovacuum would have done by now on a hub that has run for a minute (hub.ts, analyze).
      await hub.analyze()

      log(`${plan.label}: ${plan.measured} documents, ${CONNECTIONS} connections`)
      const resetOk = hub.resetPeakRss()
      const rssBefore = hub.rss()
      const cpuBefore = await hub.cpu()
      const client = process.cpuUsage()
      const windowStart = process.hrtime.bigint()
      const load = await runLoad({ url: hub.url, apiKey: hub.apiKey, documents: bytes.slice(plan.warmup), connections: CONNECTIONS, timeoutSeconds: 120 })
      windows.push({ name: `${plan.label} load`, startNs: windowStart, endNs: process.hrtime.bigint(), documents: load.accepted })
      const cpuAfter = await hub.cpu()
      const cpu = cpuDelta(cpuBefore, cpuAfter, process.cpuUsage(client), load.accepted)
      const peakRss = hub.peakRss()
      log(`${plan.label}: ${load.accepted} accepted, ${load.acceptedPerSecond.toFixed(1)}/s, p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms, ${load.errors} errors`)

      log(`${plan.label}: bare baseline on ${CORES} threads (after)`)
      const after = await measureBaseline(baselinePaths, baselineOptions)
      log(`${plan.label}: bare ${after.opsPerSecond.toFixed(1)}/s`)
      sizes.push({
        label: plan.label,
        bytes: documents.bytes,
        warmup: plan.warmup,
        load,
        baseline: [before, after] as [BaselineResult, BaselineResult],
        cpu,
        rss: { before: rssBefore, peak: peakRss, peakSource: resetOk ? 'reset' : 'lifetime' }
      })
    }

    log(`${STALL.label}: stall test (health probe every ${STALL.probeIntervalMs} ms)`)
    const small = batch(SIZES.length).paths.map((p) => readFileSync(p))
    const large = readFileSync(batch(SIZES.length + 1).paths[0] as string)
    const resetOk = hub.resetPeakRss()
    const rssBefore = hub.rss()
    const windowStart = process.hrtime.bigint()
    const windowStartWall = now()
    const stall = await measureStall({
      url: hub.url,
      apiKey: hub.apiKey,
      large,
      small,
      idleCount: STALL.smallIdle,
      intervalMs: STALL.probeIntervalMs,
      smallIntervalMs: STALL.smallIntervalMs,
      marginMs: STALL.marginMs
    })
    const into = (ms: number): string => `${Math.round(stall.postStartedAt - windowStartWall + ms).toLocaleString('en-US')} ms`
    windows.push({
      name: `${STALL.label} stall test`,
      startNs: windowStart,
      endNs: process.hrtime.bigint(),
      documents: 1,
      note: `Into the window: the ${STALL.label} POST started at ${into(0)}, its body was handed to the kernel by ${into(stall.uploadMs)}, ` +
        `it was answered at ${into(stall.totalMs)}; the slowest health probe left at ${stall.worst != null ? into(stall.worst.sentAt) : '-'}. ` +
        'The 10 KB documents sent before the POST, alone, are in the window too.'
    })
    const stallPeak = hub.peakRss()
    log(`${STALL.label}: answered ${stall.status} in ${Math.round(stall.totalMs)} ms; health probes p99 ${stall.health.p99.toFixed(1)} ms, max ${stall.health.max.toFixed(1)} ms`)

    const stopped = await hub.stop()
    const hubCommand = hub.command
    hub = undefined
    if (stopped.exitCode !== 0) log(`the hub exited with ${stopped.exitCode}:\n${stopped.output.slice(-2000)}`)

    const results: Results = {
      machine,
      cores: CORES,
      connections: CONNECTIONS,
      verifyQueue,
      hubCommand,
      idleRss,
      sizes,
      stall: {
        ...stall,
        label: STALL.label,
        probeIntervalMs: STALL.probeIntervalMs,
        smallIntervalMs: STALL.smallIntervalMs,
        rss: { before: rssBefore, peak: stallPeak, peakSource: resetOk ? 'reset' : 'lifetime' }
      },
      durationMs: Date.now() - started,
      endLoadAverage: loadavg()[0] ?? 0,
      quick
    }
    const section = renderSection(results)
    process.stdout.write(`${section}\n`)
    if (profileDir != null) {
      process.stdout.write(`\n${profileSummary(profileDir, windows)}\n`)
      rmSync(profileDir, { recursive: true, force: true })
    }
    if (write) {
      writeSection(DOC_PATH, section)
      log(`wrote the "Accept path (bench/accept)" section of ${DOC_PATH}`)
    } else {
      log(`${quick ? '--quick' : profile ? '--profile' : '--no-write'}: ${DOC_PATH} left unchanged`)
    }
    const verdicts = targetVerdicts(results)
    log(`targets: cost ratio ${verdicts.cost ? 'met' : 'NOT met'}, stall ${verdicts.stall ? 'met' : 'NOT met'}; ${Math.round(results.durationMs / 1000)} s`)
  } finally {
    if (hub != null) {
      const stopped = await hub.stop().catch((err: Error) => ({ exitCode: null, output: err.message }))
      log(`hub stopped (${stopped.exitCode ?? 'killed'})`)
    }
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
