/**
 * A real hub for the delivery benchmark: `lienthong start` (gateway and delivery worker in one
 * process, as a single-node operator runs it) as a child process, on the PostgreSQL of this
 * machine in a fresh schema and on the real Redis under a queue prefix of its own; `stop()` drops
 * the schema and removes every key under the prefix.
 *
 * Also reads the CPU time the kernel has counted for the hub process and for its PostgreSQL
 * backends (found by the application_name the bench puts in DATABASE_URL).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import type { Database } from '../../src/db/database.js'
import { openPostgres } from '../../src/db/postgres-database.js'
import { DeliveryQueue } from '../../src/queue/delivery-queue.js'
import { createApiKey } from '../../src/store/credentials.js'
import { ROOT } from '../../test/helpers/example-pki.js'

export const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const CLOCK_TICKS_PER_SECOND = 100

export interface CpuSample {
  /** Milliseconds of CPU (user + system) of the whole hub process, all threads. */
  processMs: number
  /** Of the hub's main thread alone (HTTP, database client, receipts, the delivery worker). */
  mainThreadMs: number
  /** Of each of the hub's PostgreSQL backends alive at sampling time, by pid. */
  backends: Map<number, number>
}

export interface CpuDelta {
  hubMs: number
  mainThreadMs: number
  postgresMs: number
}

export interface HubProcess {
  url: string
  pid: number
  /** An API key of the sender, 000.00.00.G22. */
  apiKey: string
  schema: string
  /** The hub's own settings that matter here (LIENTHONG_* keys), as passed. */
  settings: Record<string, string>
  command: string
  /** A pool on the hub's schema, for the bench's own queries. */
  db: Database
  cpu: () => Promise<CpuSample>
  /** Stops the hub (SIGTERM, as an operator would), drops the schema, removes the queue's keys. */
  stop: () => Promise<{ exitCode: number | null, output: string, redisKeysLeft: number }>
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

/**
 * CPU over a phase, sampled every `intervalMs`: the hub's pg pool closes idle connections and opens
 * new ones, so a backend can come and go within a phase; sampling often loses at most the last
 * interval of a backend that ended, where two readings (start, end) would lose all of it.
 */
export function cpuMeter (hub: Pick<HubProcess, 'cpu'>, intervalMs = 500): { stop: () => Promise<CpuDelta> } {
  let first: CpuSample | undefined
  const last = new Map<number, number>()
  const record = (sample: CpuSample): void => { for (const [pid, ms] of sample.backends) last.set(pid, ms) }
  const firstSample = hub.cpu().then((sample) => { first = sample; record(sample) })
  let busy = false
  const timer = setInterval(() => {
    if (busy) return
    busy = true
    hub.cpu().then(record, () => {}).finally(() => { busy = false })
  }, intervalMs)
  return {
    stop: async () => {
      clearInterval(timer)
      await firstSample
      const end = await hub.cpu()
      record(end)
      const start = first as CpuSample
      let postgresMs = 0
      // A backend first seen after the start began during the phase: it counts from 0.
      for (const [pid, ms] of last) postgresMs += ms - (start.backends.get(pid) ?? 0)
      return { hubMs: end.processMs - start.processMs, mainThreadMs: end.mainThreadMs - start.mainThreadMs, postgresMs }
    }
  }
}

/** Deletes every key under `prefix` (the queue's own keys; the prefix is unique to this run). */
async function deleteKeys (redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 })
  try {
    // The prefix is a hash tag in braces: escape glob specials.
    const pattern = `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await redis.del(...keys)
    } while (cursor !== '0')
    let left = 0
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      left += keys.length
    } while (cursor !== '0')
    return left
  } finally {
    redis.disconnect()
  }
}

/** `cpuProfileDir`: run the hub under `node --cpu-prof`, its profiles written there when it exits. */
export async function startHub (settings: Record<string, string>, options: { cpuProfileDir?: string } = {}): Promise<HubProcess> {
  const tag = `${process.pid}_${randomBytes(3).toString('hex')}`
  const schema = `bench_deliver_${tag}`
  const applicationName = `lienthong-bench-deliver-${tag}`
  const queuePrefix = `{lt-bench-deliver-${tag}}`
  const dataDir = mkdtempSync(join(tmpdir(), 'lienthong-bench-deliver-hub-'))
  // openPostgres creates the schema (CREATE SCHEMA IF NOT EXISTS) and keeps its search_path.
  const db: Database = await openPostgres({ connectionString: DATABASE_URL, schema, max: 3 })

  const nodeArgs = [...(options.cpuProfileDir != null ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : []), '--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'start']
  const inherited: NodeJS.ProcessEnv = { ...process.env }
  delete inherited.DATABASE_URL
  for (const key of Object.keys(inherited)) if (key.startsWith('LIENTHONG_')) delete inherited[key]
  const env: Record<string, string> = {
    DATABASE_URL: `${DATABASE_URL}${DATABASE_URL.includes('?') ? '&' : '?'}application_name=${applicationName}&options=-c%20search_path%3D${schema}`,
    REDIS_URL,
    LIENTHONG_QUEUE_PREFIX: queuePrefix,
    LIENTHONG_PORT: '0',
    LIENTHONG_HOST: '127.0.0.1',
    LIENTHONG_DATA_DIR: dataDir,
    LIENTHONG_LOG_LEVEL: 'warn',
    // The bench runs on the demo key material of certs-example/, which `start` refuses without this.
    LIENTHONG_DEMO: '1',
    ...settings
  }
  const child: ChildProcess = spawn(process.execPath, nodeArgs, { cwd: ROOT, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))

  const cleanUp = async (): Promise<number> => {
    await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {})
    await db.close().catch(() => {})
    const queue = new DeliveryQueue(REDIS_URL, queuePrefix)
    for (let i = 0; i < 30 && !(await queue.ping()); i++) await new Promise((resolve) => setTimeout(resolve, 100))
    await queue.queue.obliterate({ force: true }).catch(() => {})
    await queue.close()
    const left = await deleteKeys(REDIS_URL, queuePrefix).catch(() => -1)
    rmSync(dataDir, { recursive: true, force: true })
    return left
  }

  let url: string | undefined
  for (let i = 0; i < 1200 && url == null && child.exitCode == null; i++) {
    url = /lienthong start: listening on (\S+)/.exec(output)?.[1]
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
  const { key } = await createApiKey(db, '000.00.00.G22', 'bench/deliver')

  return {
    url,
    pid,
    apiKey: key,
    schema,
    settings,
    command: `node ${nodeArgs.map((a) => a.startsWith(ROOT) ? a.slice(ROOT.length) : a).join(' ')}`,
    db,
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
      const redisKeysLeft = await cleanUp()
      return { exitCode, output, redisKeysLeft }
    }
  }
}
