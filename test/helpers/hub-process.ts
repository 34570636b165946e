import { spawn, type ChildProcess } from 'node:child_process'
import { CLI, untracked } from './cli.js'
import type { TeardownHost, TestPostgres } from './database.js'
import { ROOT } from './example-pki.js'

/**
 * `lienthong start|serve|worker` as child processes, started the way an operator starts them:
 * real processes of the compiled CLI (test/helpers/cli.ts), real signals, their output captured
 * for assertions and failure messages.
 */

export type LienthongCommand = 'start' | 'serve' | 'worker'

/** The line each long-running command prints once it is ready. */
const READY: Record<LienthongCommand, RegExp> = {
  start: /lienthong start: listening on (\S+)/,
  serve: /lienthong serve: listening on (\S+)/,
  worker: /lienthong worker: consuming deliveries/
}

/**
 * The child's environment: this process's, minus tap's loaders (NODE_OPTIONS: the child runs the
 * compiled CLI) and minus any hub setting the test runner happens to carry (LIENTHONG_*, DATABASE_URL,
 * REDIS_URL), plus `settings`. What a test does not set is the documented default, except
 * LIENTHONG_DEMO=1: the tests run on the demo key material of certs-example/, which `serve`,
 * `worker` and `start` on PostgreSQL refuse without it (`LIENTHONG_DEMO: ''` to see the refusal),
 * and with it the test-only TEST_DEMO_SCRYPT_LOGN=12 (cheaper demo account hashes).
 */
export function lienthongEnv (settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.NODE_OPTIONS
  delete env.DATABASE_URL
  delete env.REDIS_URL
  for (const key of Object.keys(env)) if (key.startsWith('LIENTHONG_')) delete env[key]
  const result: NodeJS.ProcessEnv = { ...env, LIENTHONG_DEMO: '1', ...settings }
  // The demo accounts of a new embedded hub hash their passwords at scrypt 2^12 instead of 2^17
  // (8 x ~0.5 s of CPU per hub start; src/hub/demo-accounts.ts). Only where LIENTHONG_DEMO=1, the
  // one place the hub accepts it; a test that sets its own value keeps it.
  if (result.LIENTHONG_DEMO === '1' && settings.TEST_DEMO_SCRYPT_LOGN == null) result.TEST_DEMO_SCRYPT_LOGN = '12'
  else if (result.LIENTHONG_DEMO !== '1' && settings.TEST_DEMO_SCRYPT_LOGN == null) delete result.TEST_DEMO_SCRYPT_LOGN
  return result
}

/**
 * The settings of a gateway or worker process in the operational tests: the test's schema, Redis
 * under its own prefix, its registry and data directory, a free port, one verification thread,
 * quiet logs, quick reconciliation, no rate limit in the way. `extra` adds or overrides.
 */
export function opsHubSettings (shared: { db: TestPostgres, redisUrl: string, prefix: string, registryFile: string, dir: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: databaseUrlOf(shared.db),
    REDIS_URL: shared.redisUrl,
    LIENTHONG_QUEUE_PREFIX: shared.prefix,
    LIENTHONG_REGISTRY: shared.registryFile,
    LIENTHONG_DATA_DIR: shared.dir,
    LIENTHONG_PORT: '0',
    LIENTHONG_VERIFY_THREADS: '1',
    LIENTHONG_VERIFY_QUEUE: '32',
    LIENTHONG_LOG_LEVEL: 'warn',
    LIENTHONG_RECONCILE_INTERVAL_MS: '500',
    LIENTHONG_RATE_LIMIT_PER_MINUTE: '100000',
    ...extra
  }
}

/** DATABASE_URL for a child process that must work in the test's schema (search_path in the startup packet). */
export function databaseUrlOf (db: TestPostgres): string {
  const separator = db.connectionString.includes('?') ? '&' : '?'
  return `${db.connectionString}${separator}options=${encodeURIComponent(`-c search_path=${db.schema}`)}`
}

export interface Exit { code: number | null, signal: NodeJS.Signals | null }

export class LienthongProcess {
  readonly child: ChildProcess
  /** Resolves once the process has exited and its output is complete. */
  readonly exited: Promise<Exit>
  /** The gateway's URL (start, serve) once ready. */
  url = ''
  private out = ''
  private err = ''

  constructor (readonly command: LienthongCommand, env: NodeJS.ProcessEnv, args: string[] = []) {
    this.child = spawn(...untracked(process.execPath, [CLI, command, ...args]), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    this.child.stdout?.on('data', (chunk: Buffer) => { this.out += chunk.toString() })
    this.child.stderr?.on('data', (chunk: Buffer) => { this.err += chunk.toString() })
    this.exited = new Promise((resolve) => this.child.once('close', (code, signal) => resolve({ code, signal })))
  }

  get pid (): number {
    return this.child.pid as number
  }

  get stdout (): string {
    return this.out
  }

  get stderr (): string {
    return this.err
  }

  get running (): boolean {
    return this.child.exitCode == null && this.child.signalCode == null
  }

  /** The output so far, for failure messages. */
  describe (): string {
    return `lienthong ${this.command} (pid ${this.pid}) stdout: ${this.out.slice(-1500)} stderr: ${this.err.slice(-1500)}`
  }

  /** Waits until stdout matches `pattern`; fails if the process exits first or `timeoutMs` passes. */
  async waitForOutput (pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const match = pattern.exec(this.out)
      if (match != null) return match
      if (!this.running) throw new Error(`exited (${String(this.child.exitCode ?? this.child.signalCode)}) before printing ${pattern}: ${this.describe()}`)
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms: ${this.describe()}`)
      await sleep(50)
    }
  }

  /** Waits for the command's ready line (and, for a gateway, takes its URL from it). */
  async ready (timeoutMs = 60_000): Promise<this> {
    const match = await this.waitForOutput(READY[this.command], timeoutMs)
    if (this.command !== 'worker') this.url = match[1] as string
    return this
  }

  /**
   * Sends `signal` and waits for the exit, at most `timeoutMs` (then fails; teardown kills it).
   * Not a timing assertion: the bound is the command's own shutdown deadline plus slack, so a
   * process that ignores its deadline fails the test instead of hanging it.
   */
  async stop (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<Exit> {
    if (this.running) this.child.kill(signal)
    return await this.waitForExit(timeoutMs, `after ${signal}`)
  }

  /** Waits for the process to exit by itself, at most `timeoutMs`. */
  async waitForExit (timeoutMs: number, what = ''): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`still running ${timeoutMs} ms ${what}: ${this.describe()}`)), timeoutMs)
    })
    try {
      return await Promise.race([this.exited, late])
    } finally {
      clearTimeout(timer)
    }
  }
}

/** Spawns `lienthong <command>`; killed (SIGKILL) on teardown if still running. */
export function spawnLienthong (t: TeardownHost, command: LienthongCommand, env: NodeJS.ProcessEnv, args: string[] = []): LienthongProcess {
  const proc = new LienthongProcess(command, env, args)
  t.teardown(async () => {
    if (proc.running) {
      proc.child.kill('SIGKILL')
      await proc.exited
    }
  })
  return proc
}

/** Spawns `lienthong <command>` and waits for its ready line. */
export async function startLienthong (t: TeardownHost, command: LienthongCommand, env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<LienthongProcess> {
  return await spawnLienthong(t, command, env).ready(timeoutMs)
}

export const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `check` every 50 ms until it holds; fails with `what` after `timeoutMs`. */
export async function waitUntil (what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(50)
  }
}
