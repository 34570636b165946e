/**
 * A real hub for the benchmark: `lienthong serve` as a child process (node --import tsx
 * src/cli/main.ts serve), on the PostgreSQL of this machine in a fresh schema and on the real Redis
 * under a queue prefix of its own, both removed again by `stop()`. Verification runs in the hub's
 * own worker-thread pool (one thread per core, its default).
 *
 * Also reads what the kernel knows about the hub process (RSS high-water mark, CPU time of the
 * main thread and of all threads) and the CPU time of the hub's PostgreSQL backends (found by
 * their application_name).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Database } from '../../src/db/database.js'
import { openPostgres } from '../../src/db/postgres-database.js'
import { DeliveryQueue } from '../../src/queue/delivery-queue.js'
import { createApiKey } from '../../src/store/credentials.js'
import { ROOT } from '../../test/helpers/example-pki.js'

export const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const CLOCK_TICKS_PER_SECOND = 100

export interface HubOptions {
  /** Documents allowed to wait for a verification thread (LIENTHONG_VERIFY_QUEUE). */
  verifyQueue: number
  /** Write V8 CPU profiles of every thread of the hub into this directory (node --cpu-prof). */
  cpuProfileDir?: string
  /** More environment for the hub (cpu-split.ts tries settings with it). */
  env?: Record<string, string>
  /** Another checkout to run the hub from (before/after comparisons); default: this one. */
  root?: string
  /** More node/V8 flags for the hub process (e.g. --trace-deopt, which NODE_OPTIONS refuses). */
  nodeArgs?: string[]
}

export interface CpuSample {
  /** Milliseconds of CPU (user + system) of the whole hub process, all threads. */
  processMs: number
  /** Milliseconds of CPU of the hub's main thread (HTTP, database client, receipts). */
  mainThreadMs: number
  /** Milliseconds of CPU of the hub's PostgreSQL backends (those alive at sampling time). */
  backends: Map<number, number>
}

export interface HubProcess {
  url: string
  pid: number
  /** An API key of agency 000.00.00.G22. */
  apiKey: string
  schema: string
  /** The command line the hub was started with (for the report). */
  command: string
  rss: () => number
  /** Peak RSS since start or since the last successful `resetPeakRss()`. */
  peakRss: () => number
  /** Resets the kernel's RSS high-water mark of the hub to its current RSS; false where not allowed. */
  resetPeakRss: () => boolean
  cpu: () => Promise<CpuSample>
  /**
   * ANALYZE of the hub's schema: the planner statistics autovacuum gives a hub's tables within
   * about a minute (autovacuum_naptime) of their growth. A bench hub is measured seconds after it
   * created its tables: without statistics, findDuplicate's plan for "same sender + DocumentId"
   * read every earlier document of the sender through documents_sender_time_id instead of the
   * unique documents_sender_edxml_id (3.85 ms vs 0.02 ms at 5,500 documents), so the measured
   * accept cost grew with the warm-up. Called after the warm-up.
   */
  analyze: () => Promise<void>
  /** Stops the hub (SIGTERM, as an operator would), drops the schema, removes the queue's keys. */
  stop: () => Promise<{ exitCode: number | null, output: string }>
}

function statusBytes (pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (match?.[1] == null) throw new Error(`no ${field} in /proc/${pid}/status`)
  return Number(match[1]) * 1024
}

/** utime + stime of a process or thread, in milliseconds; 0 once it is gone. */
function cpuMs (statPath: string): number {
  try {
    // The command name (2nd field) may contain spaces: count fields after its closing parenthesis.
    const stat = readFileSync(statPath, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 1000 / CLOCK_TICKS_PER_SECOND
  } catch {
    return 0
  }
}

/** CPU milliseconds spent between two samples by the backends present in `after` (new backends count from 0). */
export function backendDeltaMs (before: CpuSample, after: CpuSample): number {
  let total = 0
  for (const [pid, ms] of after.backends) total += ms - (before.backends.get(pid) ?? 0)
  return total
}

export async function startHub (options: HubOptions): Promise<HubProcess> {
  const tag = `${process.pid}_${randomBytes(3).toString('hex')}`
  const schema = `bench_accept_${tag}`
  const applicationName = `lienthong-bench-accept-${tag}`
  const queuePrefix = `{lt-bench-accept-${tag}}`
  const dataDir = mkdtempSync(join(tmpdir(), 'lienthong-bench-accept-hub-'))
  // openPostgres creates the schema (CREATE SCHEMA IF NOT EXISTS) and keeps its search_path.
  const db: Database = await openPostgres({ connectionString: DATABASE_URL, schema, max: 2 })

  const root = options.root ?? ROOT
  const nodeArgs = [...(options.cpuProfileDir != null ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : []), ...(options.nodeArgs ?? []), '--import', 'tsx', join(root, 'src/cli/main.ts'), 'serve']
  // BENCH_PG_EXTRA_OPTIONS: more URL-encoded `-c name=value` for the hub's PostgreSQL sessions,
  // e.g. `%20-c%20log_min_duration_statement%3D0` to count its statements in the server log.
  const env: Record<string, string> = {
    DATABASE_URL: `${DATABASE_URL}?application_name=${applicationName}&options=-c%20search_path%3D${schema}${process.env.BENCH_PG_EXTRA_OPTIONS ?? ''}`,
    REDIS_URL,
    LIENTHONG_QUEUE_PREFIX: queuePrefix,
    LIENTHONG_PORT: '0',
    LIENTHONG_HOST: '127.0.0.1',
    LIENTHONG_DATA_DIR: dataDir,
    LIENTHONG_LOG_LEVEL: 'warn',
    // The demo key material of certs-example/ (refused without it).
    LIENTHONG_DEMO: '1',
    LIENTHONG_RATE_LIMIT_PER_MINUTE: '1000000',
    LIENTHONG_VERIFY_QUEUE: String(options.verifyQueue),
    ...options.env
  }
  const child: ChildProcess = spawn(process.execPath, nodeArgs, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))

  const cleanUp = async (): Promise<void> => {
    await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {})
    await db.close().catch(() => {})
    const queue = new DeliveryQueue(REDIS_URL, queuePrefix)
    for (let i = 0; i < 30 && !(await queue.ping()); i++) await new Promise((resolve) => setTimeout(resolve, 100))
    await queue.queue.obliterate({ force: true }).catch(() => {})
    await queue.close()
    rmSync(dataDir, { recursive: true, force: true })
  }

  let url: string | undefined
  for (let i = 0; i < 1200 && url == null && child.exitCode == null; i++) {
    url = /lienthong serve: listening on (\S+)/.exec(output)?.[1]
    if (url == null) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  if (url == null || child.pid == null) {
    child.kill('SIGKILL')
    await exited
    await cleanUp()
    throw new Error(`the hub did not start:\n${output.slice(0, 4000)}`)
  }
  const pid = child.pid
  // The hub has migrated the schema before listening: the credential can go straight in.
  const { key } = await createApiKey(db, '000.00.00.G22', 'bench/accept')

  return {
    url,
    pid,
    apiKey: key,
    schema,
    command: `node ${nodeArgs.map((a) => a.startsWith(ROOT) ? a.slice(ROOT.length) : a).join(' ')}`,
    rss: () => statusBytes(pid, 'VmRSS'),
    peakRss: () => statusBytes(pid, 'VmHWM'),
    resetPeakRss: () => {
      try {
        // "5" resets the peak RSS high-water mark to the current RSS (Linux >= 4.0).
        writeFileSync(`/proc/${pid}/clear_refs`, '5')
        return true
      } catch {
        return false
      }
    },
    analyze: async () => { await db.exec('ANALYZE') },
    cpu: async () => {
      const { rows } = await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [applicationName])
      return {
        processMs: cpuMs(`/proc/${pid}/stat`),
        mainThreadMs: cpuMs(`/proc/${pid}/task/${pid}/stat`),
        backends: new Map(rows.map((r) => [r.pid, cpuMs(`/proc/${r.pid}/stat`)]))
      }
    },
    stop: async () => {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
      const exitCode = await exited
      clearTimeout(timer)
      await cleanUp()
      return { exitCode, output }
    }
  }
}
