import { execFile } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './redis-server.js'

const run = promisify(execFile)

/**
 * A private PostgreSQL cluster in a temp directory (initdb + pg_ctl of the installed packages),
 * on a free port, which a test may restart (`-m fast`) or stop (`-m immediate`) and start again.
 * PostgreSQL refuses to run as root: when the test runs as root, the binaries run as the
 * `postgres` user (runuser) and the directory is handed to that user.
 */
export class PrivatePostgres {
  private constructor (readonly dir: string, readonly port: number, private readonly bin: string, private readonly asUser: { uid: number, gid: number } | undefined) {}

  static async create (): Promise<PrivatePostgres> {
    const bin = postgresBin()
    const dir = mkdtempSync(join(tmpdir(), 'lt-pg-'))
    const asUser = process.getuid?.() === 0 ? await postgresUser() : undefined
    if (asUser != null) chownSync(dir, asUser.uid, asUser.gid)
    const pg = new PrivatePostgres(dir, await freePort(), bin, asUser)
    await pg.pg('initdb', ['-D', pg.data, '-A', 'trust', '-U', 'postgres', '--no-sync'])
    return pg
  }

  get data (): string {
    return join(this.dir, 'data')
  }

  /** The `postgres` database of the cluster, over TCP. */
  get url (): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`
  }

  async start (): Promise<void> {
    await this.ctl(['start', '-w', '-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`, '-l', this.logFile])
  }

  /** `pg_ctl restart -m fast`: every session is terminated (57P01), the server is back at once. */
  async restartFast (): Promise<void> {
    await this.ctl(['restart', '-w', '-m', 'fast', '-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`, '-l', this.logFile])
  }

  /** `pg_ctl stop -m immediate`: the server dies without a word to its clients (crash recovery on the next start). */
  async stopImmediate (): Promise<void> {
    await this.ctl(['stop', '-w', '-m', 'immediate'])
  }

  /** Stops the server (if running) and removes the directory. */
  async destroy (): Promise<void> {
    if (existsSync(join(this.data, 'postmaster.pid'))) await this.ctl(['stop', '-w', '-m', 'immediate']).catch(() => {})
    rmSync(this.dir, { recursive: true, force: true })
  }

  get log (): string {
    try { return readFileSync(this.logFile, 'utf8') } catch { return '' }
  }

  private get logFile (): string {
    return join(this.dir, 'log')
  }

  private async ctl (args: string[]): Promise<void> {
    await this.pg('pg_ctl', ['-D', this.data, ...args])
  }

  private async pg (program: string, args: string[]): Promise<void> {
    const file = join(this.bin, program)
    const [command, argv] = this.asUser != null ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args]
    try {
      await run(command, argv, { cwd: this.dir, timeout: 60_000 })
    } catch (err) {
      throw new Error(`${program} ${args.join(' ')} failed: ${String((err as { stderr?: string }).stderr ?? err)} ${this.log.slice(-2000)}`)
    }
  }
}

/** The newest installed PostgreSQL's bin directory (Debian layout), or PG_BIN. */
export function postgresBin (): string {
  if (process.env.PG_BIN != null) return process.env.PG_BIN
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a)) : []
  if (versions.length === 0) throw new Error('no PostgreSQL binaries under /usr/lib/postgresql (set PG_BIN)')
  return join(root, versions[0] as string, 'bin')
}

async function postgresUser (): Promise<{ uid: number, gid: number }> {
  const { stdout: uid } = await run('id', ['-u', 'postgres'])
  const { stdout: gid } = await run('id', ['-g', 'postgres'])
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) }
}
