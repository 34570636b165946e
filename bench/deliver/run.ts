/**
 * Delivery benchmark: `npm run bench:deliver` (node --import tsx bench/deliver/run.ts).
 *
 * Starts a real hub (`lienthong start`: gateway and delivery worker, PostgreSQL of this machine in a
 * fresh schema, real Redis) and a push recipient (an HTTPS server with mutual TLS in this process),
 * then:
 *   1. the accept rate of bench/accept's load (its `runLoad`) on this hub, for the comparison;
 *   2. documents submitted at the target rate (100/s, open loop) for a short while: end-to-end
 *      latency (submission -> recipient received) and whether the hub keeps up;
 *   3. if it does not, a 20 s run at a fraction of the throughput measured in 2, the highest rate
 *      run here (with it, a 20 s run at the target rate);
 *   4. the backlog: recipient down, N documents submitted, all deliveries waiting_retry, recipient
 *      up, time until all are delivered.
 * Prints the markdown report to stdout (progress to stderr) and rewrites the "Delivery
 * (bench/deliver)" section of docs/benchmarks.md.
 *
 * Options: --quick        small counts for a smoke run; does not touch docs/benchmarks.md
 *          --no-write     run fully but do not touch docs/benchmarks.md
 *          --profile      run the hub under `node --cpu-prof` and print where its main thread
 *                         spent its time in each rate phase (bench/accept/profile.ts); implies --no-write
 *          --backlog N    backlog size (default 1,500; the issue's is 10,000, which takes far
 *                         longer than this benchmark's few minutes on a 2-core machine)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { runLoad, type LoadResult } from '../accept/load.js'
import { profileSummary, type ProfileWindow } from '../accept/profile.js'
import { ROOT } from '../../test/helpers/example-pki.js'
import { describeMachine } from '../verify/machine.js'
import { runBacklog } from './backlog.js'
import { PULL_RECIPIENT, PUSH_RECIPIENT, SENDER, Signer } from './documents.js'
import { REDIS_URL, startHub, type HubProcess } from './hub.js'
import { BenchRecipient } from './recipient.js'
import { renderSection, sustained, TARGETS, targetVerdicts, writeSection, type Results } from './report.js'
import { runRatePhase, submitClosedLoop, waitForArrivals } from './steady.js'

const argv = process.argv.slice(2)
const quick = argv.includes('--quick')
const profile = argv.includes('--profile')
const write = !quick && !profile && !argv.includes('--no-write')
const backlogOption = argv.indexOf('--backlog')
const DOC_PATH = join(ROOT, 'docs', 'benchmarks.md')

const ISSUE_BACKLOG = 10_000
const KB = 1024
const DOCUMENT_BYTES = 10 * KB
const CONNECTIONS = 8

/** The hub's settings (everything else at its default). */
const SETTINGS: Record<string, string> = {
  LIENTHONG_RATE_LIMIT_PER_MINUTE: '1000000',
  // Open-loop submissions above what the hub can verify wait in line rather than being turned away (503).
  LIENTHONG_VERIFY_QUEUE: '5000',
  LIENTHONG_DELIVERY_CONCURRENCY: '32',
  // The hub's defaults, as in the issue (2 per recipient, adaptive up to 16).
  LIENTHONG_DELIVERY_PER_RECIPIENT: '2',
  LIENTHONG_DELIVERY_MAX_PER_RECIPIENT: '16',
  LIENTHONG_RETRY_BASE_MS: '200'
}

const PLAN = quick
  ? { warmup: 10, acceptWarmup: 10, acceptMeasured: 60, targetSeconds: 1, steadySeconds: 5, backlog: 150 }
  : { warmup: 20, acceptWarmup: 30, acceptMeasured: 240, targetSeconds: 2, steadySeconds: 20, backlog: 1500 }
/** Steady rate when the target is not sustained: this fraction of the delivered rate measured at the target rate. */
const STEADY_FRACTION = 0.7
const backlogSize = backlogOption !== -1 ? Number(argv[backlogOption + 1]) : PLAN.backlog
if (!Number.isInteger(backlogSize) || backlogSize < 1 || backlogSize > 99_999) throw new Error('--backlog: an integer between 1 and 99999')

/** Document number ranges, one per phase (DocumentId and CodeNumber; 7 digits). */
const FIRST = { warmup: 5_000_000, accept: 5_100_000, target: 5_200_000, steady: 5_300_000, backlog: 5_400_000 }

const log = (message: string): void => { process.stderr.write(`[bench/deliver] ${message}\n`) }

function packageVersion (name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

async function serverVersions (hub: HubProcess): Promise<Record<string, string>> {
  const versions: Record<string, string> = { bullmq: packageVersion('bullmq'), ioredis: packageVersion('ioredis'), pg: packageVersion('pg') }
  const { rows } = await hub.db.query<{ server_version: string }>('SHOW server_version')
  versions.PostgreSQL = rows[0]?.server_version.split(' ')[0] ?? 'unknown'
  const { Redis } = await import('ioredis')
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
  try {
    versions.Redis = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown'
  } finally {
    redis.disconnect()
  }
  return versions
}

async function main (): Promise<void> {
  const started = Date.now()
  const machine = describeMachine()
  const signer = new Signer()
  const recipient = new BenchRecipient()
  let hub: HubProcess | undefined
  try {
    const total = PLAN.warmup + PLAN.acceptWarmup + PLAN.acceptMeasured + TARGETS.rate * PLAN.targetSeconds + backlogSize
    log(`signing ${total} distinct 10 KB documents (the steady run's are signed once its rate is known)`)
    const signingStarted = Date.now()
    const warmupDocs = await signer.sign(PUSH_RECIPIENT, DOCUMENT_BYTES, FIRST.warmup, PLAN.warmup)
    const acceptDocs = await signer.sign(PULL_RECIPIENT, DOCUMENT_BYTES, FIRST.accept, PLAN.acceptWarmup + PLAN.acceptMeasured)
    const targetDocs = await signer.sign(PUSH_RECIPIENT, DOCUMENT_BYTES, FIRST.target, TARGETS.rate * PLAN.targetSeconds)
    const backlogDocs = await signer.sign(PUSH_RECIPIENT, DOCUMENT_BYTES, FIRST.backlog, backlogSize)
    log(`signed in ${Math.round((Date.now() - signingStarted) / 1000)} s`)

    await recipient.start()
    log('starting the hub (lienthong start)')
    const profileDir = profile ? mkdtempSync(join(tmpdir(), 'lienthong-bench-deliver-prof-')) : undefined
    const windows: ProfileWindow[] = []
    hub = await startHub(SETTINGS, profileDir != null ? { cpuProfileDir: profileDir } : {})
    await hub.db.query('UPDATE agencies SET push_url = $2 WHERE code = $1', [PUSH_RECIPIENT, recipient.url])
    // The sender receives by push (registry.json): its receipts go to the same server, as a live
    // sender's would, instead of being retried against a port nothing listens on (127.0.0.1:9441).
    await hub.db.query('UPDATE agencies SET push_url = $2 WHERE code = $1', [SENDER, recipient.url])
    const versions = await serverVersions(hub)
    log(`hub pid ${hub.pid} at ${hub.url}, schema ${hub.schema}; ${PUSH_RECIPIENT} (and ${SENDER}'s receipts) pushes to ${recipient.url}`)

    log(`warm-up: ${warmupDocs.length} documents delivered, not counted`)
    const warm = await submitClosedLoop(hub.url, hub.apiKey, warmupDocs, 2)
    const warmFailed = warm.filter((w) => !w.accepted)
    if (warmFailed.length > 0) throw new Error(`warm-up: ${warmFailed.length} not accepted; first: ${warmFailed[0]?.error ?? '?'}`)
    if (!(await waitForArrivals(recipient, warm.map((w) => w.documentId as string), 60_000))) throw new Error('warm-up: not every document reached the recipient within 60 s')

    log(`accept rate reference: bench/accept's runLoad, ${PLAN.acceptMeasured} documents to ${PULL_RECIPIENT} (pull), ${CONNECTIONS} connections`)
    const load = async (docs: typeof acceptDocs): Promise<LoadResult> => await runLoad({ url: hub!.url, apiKey: hub!.apiKey, documents: docs.map((d) => d.body), connections: CONNECTIONS, timeoutSeconds: 120 })
    const acceptWarm = await load(acceptDocs.slice(0, PLAN.acceptWarmup))
    if (acceptWarm.errors > 0) throw new Error(`accept warm-up: ${acceptWarm.errors} errors; first: ${acceptWarm.firstError ?? '?'}`)
    const acceptReference = await load(acceptDocs.slice(PLAN.acceptWarmup))
    if (acceptReference.errors > 0) throw new Error(`accept reference: ${acceptReference.errors} errors; first: ${acceptReference.firstError ?? '?'}`)
    log(`accept rate: ${acceptReference.acceptedPerSecond.toFixed(1)}/s (p50 ${acceptReference.latencyMs.p50} ms)`)

    log(`target rate: ${targetDocs.length} documents at ${TARGETS.rate}/s`)
    let windowStart = process.hrtime.bigint()
    const target = await runRatePhase({ label: `${TARGETS.rate}/s for ${PLAN.targetSeconds} s`, hub, recipient, documents: targetDocs, rate: TARGETS.rate, drainTimeoutMs: 180_000 })
    windows.push({ name: target.label, startNs: windowStart, endNs: process.hrtime.bigint(), documents: target.delivered })
    const targetSustained = sustained(target)
    log(`target: accepted ${target.acceptedPerSecond.toFixed(1)}/s, delivered ${target.deliveredPerSecond.toFixed(1)}/s, p50 ${target.endToEnd.p50.toFixed(0)} ms, ` +
      `p99 ${target.endToEnd.p99.toFixed(0)} ms; ${targetSustained ? 'sustained' : 'NOT sustained'}`)

    const steadyRate = targetSustained ? TARGETS.rate : Math.max(1, Math.floor(STEADY_FRACTION * target.deliveredPerSecond))
    const steadyCount = Math.round(steadyRate * PLAN.steadySeconds)
    log(`steady: signing ${steadyCount} documents, then ${steadyRate}/s for ${PLAN.steadySeconds} s`)
    const steadyDocs = await signer.sign(PUSH_RECIPIENT, DOCUMENT_BYTES, FIRST.steady, steadyCount)
    windowStart = process.hrtime.bigint()
    const connectionsBefore = { tls: recipient.connections, posts: recipient.posts, receipts: recipient.receipts }
    const steady = await runRatePhase({ label: `${steadyRate}/s for ${PLAN.steadySeconds} s`, hub, recipient, documents: steadyDocs, rate: steadyRate, drainTimeoutMs: 180_000 })
    windows.push({ name: steady.label, startNs: windowStart, endNs: process.hrtime.bigint(), documents: steady.delivered })
    log(`steady: the recipient's server took ${recipient.connections - connectionsBefore.tls} TLS connections for ${recipient.posts - connectionsBefore.posts} documents and ${recipient.receipts - connectionsBefore.receipts} receipt callbacks`)
    log(`steady: accepted ${steady.acceptedPerSecond.toFixed(1)}/s, delivered ${steady.deliveredPerSecond.toFixed(1)}/s, p50 ${steady.endToEnd.p50.toFixed(0)} ms, ` +
      `p99 ${steady.endToEnd.p99.toFixed(0)} ms, max ${steady.endToEnd.max.toFixed(0)} ms; ${sustained(steady) ? 'sustained' : 'NOT sustained'}`)

    const backlog = await runBacklog({
      hub,
      recipient,
      recipientCode: PUSH_RECIPIENT,
      documents: backlogDocs,
      connections: CONNECTIONS,
      perRecipient: Number(SETTINGS.LIENTHONG_DELIVERY_MAX_PER_RECIPIENT),
      pollMs: 100,
      settleTimeoutMs: 600_000,
      drainTimeoutMs: 900_000,
      log
    })
    log(`backlog: ${backlog.delivered} delivered in ${(backlog.drainMs / 1000).toFixed(1)} s = ${backlog.drainedPerSecond.toFixed(1)}/s ` +
      `(last retry had been scheduled ${(backlog.scheduleAtUp.last / 1000).toFixed(1)} s after up)`)

    const stopped = await hub.stop()
    const hubCommand = hub.command
    hub = undefined
    if (stopped.exitCode !== 0) log(`the hub exited with ${stopped.exitCode}:\n${stopped.output.slice(-2000)}`)
    else if (stopped.output.includes('"level":50') || stopped.output.includes('"level":60')) log(`the hub logged errors:\n${stopped.output.slice(-2000)}`)

    const results: Results = {
      machine,
      versions,
      hubCommand,
      settings: SETTINGS,
      documentBytes: targetDocs[0]?.body.length ?? 0,
      warmup: PLAN.warmup,
      acceptReference,
      target,
      targetSustained,
      steady,
      steadyFraction: STEADY_FRACTION,
      backlog,
      issueBacklog: ISSUE_BACKLOG,
      durationMs: Date.now() - started,
      endLoadAverage: loadavg()[0] ?? 0,
      quick,
      redisKeysLeft: stopped.redisKeysLeft
    }
    const section = renderSection(results)
    process.stdout.write(`${section}\n`)
    if (profileDir != null) {
      process.stdout.write(`\n${profileSummary(profileDir, windows)}\n`)
      // BENCH_KEEP_PROFILE=1: the .cpuprofile files stay (for Chrome DevTools or a closer look).
      if (process.env.BENCH_KEEP_PROFILE === '1') log(`CPU profiles kept in ${profileDir}`)
      else rmSync(profileDir, { recursive: true, force: true })
    }
    if (write) {
      writeSection(DOC_PATH, section)
      log(`wrote the "Delivery (bench/deliver)" section of ${DOC_PATH}`)
    } else {
      log(`${quick ? '--quick' : profile ? '--profile' : '--no-write'}: ${DOC_PATH} left unchanged`)
    }
    const verdicts = targetVerdicts(results)
    log(`targets: latency ${verdicts.latency ? 'met' : 'NOT met'}, drain ${verdicts.drain ? 'met' : 'NOT met'}; ${Math.round(results.durationMs / 1000)} s`)
  } finally {
    if (hub != null) {
      const stopped = await hub.stop().catch((err: Error) => ({ exitCode: null, output: err.message, redisKeysLeft: -1 }))
      log(`hub stopped (${stopped.exitCode ?? 'killed'})`)
    }
    await recipient.stop()
    await signer.close()
  }
}

await main()
