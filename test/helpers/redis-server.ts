import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'

/** A private redis-server on a free port, which a test may stop and start again. */
export class PrivateRedis {
  private child: ChildProcess | undefined
  private constructor (readonly port: number) {}

  static async create (): Promise<PrivateRedis> {
    return new PrivateRedis(await freePort())
  }

  get url (): string {
    return `redis://127.0.0.1:${this.port}`
  }

  async start (): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    for (let i = 0; i < 100; i++) {
      if (await canConnect(this.port)) return
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error(`redis-server did not start on port ${this.port}`)
  }

  /**
   * `SHUTDOWN NOSAVE`, as an operator (or a non-persistent Redis dying) does it: the server exits
   * and its data is gone; start() brings back an empty one on the same port.
   */
  async shutdownNosave (): Promise<void> {
    const child = this.child
    if (child == null || child.exitCode != null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    // The server closes the connection instead of answering: the rejection is the expected outcome.
    await this.command('SHUTDOWN', 'NOSAVE').catch(() => {})
    await exited
    this.child = undefined
  }

  /** One command on a connection of its own (e.g. FLUSHALL); rejects if the server is down. */
  async command (...args: [string, ...string[]]): Promise<unknown> {
    const redis = new Redis(this.url, { retryStrategy: () => null, maxRetriesPerRequest: 0, lazyConnect: true })
    redis.on('error', () => {})
    try {
      await redis.connect()
      return await redis.call(...args)
    } finally {
      redis.disconnect()
    }
  }

  async stop (): Promise<void> {
    const child = this.child
    if (child == null || child.exitCode != null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
    this.child = undefined
  }
}

/** A TCP port free a moment ago (nothing listens on it now). */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

async function canConnect (port: number): Promise<boolean> {
  const { connect } = await import('node:net')
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => { socket.end(); resolve(true) })
    socket.on('error', () => resolve(false))
  })
}
