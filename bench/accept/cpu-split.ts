/**
 * Where the accept path's CPU goes, thread by thread: `node --import tsx bench/accept/cpu-split.ts
 * [--documents N] [--warmup N] [--connections N] [--hub-env NAME=VALUE ...] [--hub-node-arg FLAG ...] [--profile] [--perf FILE [--perf-postgres]] [--hub-root CHECKOUT] [--sql STATEMENT ...]`.
 * --hub-node-arg passes a node/V8 flag to the hub (e.g. --trace-deopt, which NODE_OPTIONS refuses).
 * --hub-root runs the hub of another checkout (e.g. /work/main) for a before/after comparison. --profile: the hub runs under
 * --cpu-prof and the main thread's profile of the measured load is printed after the table. Starts the bench hub (hub.ts), accepts N distinct
 * 10 KB documents after a warm-up (load.ts, 8 connections), and prints CPU milliseconds per
 * accepted document for every hub thread grouped by its kernel name (main thread, verification
 * and receipt workers, libuv pool, V8 platform threads), the hub's PostgreSQL backends and this
 * process (the load generator). CPU time from /proc, so a busy machine changes the rate but
 * hardly the cost per document; compare variants run back to back.
 *
 * Reading the table (perf record of the hub, December 2026): the unnamed `node` threads with the
 * lowest ids are V8's platform threads (TurboFan's concurrent compiler, GC helpers); then come
 * the verification threads (one per core, the first idle one gets each task, so the first is the
 * busiest) and last the receipt-signing thread (RSA). With --warmup 600 the optimizing compiler
 * is still at work during the measured load: about 0.5 ms per document on the platform threads
 * (and slower unoptimised code elsewhere) that a --warmup 3000 run no longer shows. That is a
 * one-time cost of a freshly started hub, not a per-document one: compare like with like.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeBatches } from './documents.js'
import { backendDeltaMs, startHub } from './hub.js'
import { runLoad } from './load.js'
import { profileSummary } from './profile.js'

const args = process.argv.slice(2)
const option = (name: string): string[] => args.flatMap((a, i) => a === name && args[i + 1] != null ? [args[i + 1] as string] : [])
const measured = Number(option('--documents')[0] ?? 400)
const warmup = Number(option('--warmup')[0] ?? 60)
/** Concurrent clients of the load (closed loop); bench:accept uses 8. */
const connections = Number(option('--connections')[0] ?? 8)
const profileDir = args.includes('--profile') ? mkdtempSync(join(tmpdir(), 'lienthong-cpu-split-prof-')) : undefined
const hubEnv = Object.fromEntries(option('--hub-env').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))

function threadCpu (pid: number): Map<string, number> {
  const byName = new Map<string, number>()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      const comm = tid === String(pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const ms = (Number(fields[11]) + Number(fields[12])) * 10
      // Per thread id, so threads that start or end during the load are counted from 0.
      byName.set(`${comm}\t${tid}`, ms)
    } catch {}
  }
  return byName
}

const dir = mkdtempSync(join(tmpdir(), 'lienthong-cpu-split-'))
const [batch] = await makeBatches(dir, [{ label: '10 KB', targetBytes: 10 * 1024, count: warmup + measured, firstNumber: 1_000_000 }])
if (batch == null) throw new Error('no documents')
const bytes = batch.paths.map((p) => readFileSync(p))
const hubRoot = option('--hub-root')[0]
const hub = await startHub({ verifyQueue: 32, env: hubEnv, nodeArgs: option('--hub-node-arg'), ...(hubRoot != null ? { root: hubRoot } : {}), ...(profileDir != null ? { cpuProfileDir: profileDir } : {}) })
try {
  // --sql: statements run in the hub's schema before the warm-up (what-if experiments such as
  // dropping an index); psql with the bench's DATABASE_URL.
  for (const sql of option('--sql')) {
    const run = spawnSync('psql', [process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', '-v', 'ON_ERROR_STOP=1', '-c', `SET search_path = ${hub.schema}; ${sql}`], { encoding: 'utf8' })
    if (run.status !== 0) throw new Error(`--sql ${sql}: ${run.stderr}`)
  }
  const warm = await runLoad({ url: hub.url, apiKey: hub.apiKey, documents: bytes.slice(0, warmup), connections, timeoutSeconds: 120 })
  if (warm.errors > 0) throw new Error(`warm-up: ${warm.firstError ?? ''}`)
  await hub.analyze()
  const load0 = loadavg()[0] ?? 0
  const before = await hub.cpu()
  const threadsBefore = threadCpu(hub.pid)
  // --perf FILE: perf record of the hub's threads during the measured load (native frames: V8's GC, OpenSSL, libpq-free pg parsing...).
  const perfFile = option('--perf')[0]
  const pids = [hub.pid, ...(args.includes('--perf-postgres') ? [...before.backends.keys()] : [])]
  const perf = perfFile != null ? spawn('perf', ['record', '-F', '499', '-g', '-s', '-o', perfFile, '-p', pids.join(',')], { stdio: 'ignore' }) : undefined
  if (perf != null) await new Promise((resolve) => setTimeout(resolve, 500))
  const client = process.cpuUsage()
  const startNs = process.hrtime.bigint()
  const load = await runLoad({ url: hub.url, apiKey: hub.apiKey, documents: bytes.slice(warmup), connections, timeoutSeconds: 120 })
  const clientCpu = process.cpuUsage(client)
  const endNs = process.hrtime.bigint()
  if (perf != null) {
    perf.kill('SIGINT')
    await new Promise((resolve) => perf.once('exit', resolve))
  }
  const threadsAfter = threadCpu(hub.pid)
  const after = await hub.cpu()
  if (load.errors > 0) throw new Error(`load: ${load.errors} errors; ${load.firstError ?? ''}`)
  const n = load.accepted
  const groups = new Map<string, number>()
  for (const [key, ms] of threadsAfter) {
    const [comm, tid] = key.split('\t') as [string, string]
    // Unnamed threads (workers, libuv pool, V8 platform) apart, by id: ids grow with start order.
    const name = comm === 'node' ? `node ${tid}` : comm
    groups.set(name, (groups.get(name) ?? 0) + ms - (threadsBefore.get(key) ?? 0))
  }
  const row = (name: string, ms: number): string => `| ${name} | ${(ms / n).toFixed(2)} |`
  const hubMs = after.processMs - before.processMs
  const pgMs = backendDeltaMs(before, after)
  const clientMs = (clientCpu.user + clientCpu.system) / 1000
  console.log(`${n} documents of ${batch.bytes} bytes accepted at ${load.acceptedPerSecond.toFixed(1)}/s, load average ${load0.toFixed(1)} -> ${(loadavg()[0] ?? 0).toFixed(1)}; hub env ${JSON.stringify(hubEnv)}, hub from ${hubRoot ?? 'this checkout'}${option('--sql').length > 0 ? `, after ${option('--sql').join('; ')}` : ''}`)
  console.log('| CPU ms per document | |\n| --- | ---: |')
  for (const [name, ms] of [...groups].sort((a, b) => b[1] - a[1])) if (ms > 0) console.log(row(`hub thread ${name}`, ms))
  console.log(row('**hub, all threads**', hubMs))
  console.log(row('**PostgreSQL backends**', pgMs))
  console.log(row('**load generator**', clientMs))
  console.log(row('**total**', hubMs + pgMs + clientMs))
  if (profileDir != null) {
    await hub.stop()
    console.log(profileSummary(profileDir, [{ name: '10 KB load', startNs, endNs, documents: n }]))
  }
} finally {
  await hub.stop().catch(() => {})
  if (profileDir != null) rmSync(profileDir, { recursive: true, force: true })
  rmSync(dir, { recursive: true, force: true })
}
