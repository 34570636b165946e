import t from 'tap'
import { connect, type Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { testHub } from '../helpers/hub.js'

// F03 (issue 9): unauthenticated requests held memory and connections (the body was read into
// memory sized from Content-Length before authentication; no body or request timeout: a body
// stalled after 1 byte was unanswered after 400 s). These tests talk raw HTTP over a socket, so
// that a client can declare a body it never sends.

const G22 = '000.00.00.G22'
const G12 = '000.00.00.G12'
const H41 = '000.00.00.H41'

interface RawAnswer { status: number, headers: string, body: string, closed: boolean, ms: number }

/** A raw HTTP/1.1 client: sends `head` (and `body`), then collects what comes back. */
class RawClient {
  readonly socket: Socket
  private data = ''
  private closedAt: number | undefined
  readonly started = Date.now()
  readonly connected: Promise<void>

  constructor (port: number) {
    this.socket = connect(port, '127.0.0.1')
    this.socket.on('data', (chunk: Buffer) => { this.data += chunk.toString('latin1') })
    this.socket.on('error', () => {})
    this.socket.on('close', () => { this.closedAt = Date.now() })
    this.connected = new Promise((resolve) => this.socket.once('connect', () => resolve()))
  }

  async send (text: string): Promise<void> {
    await this.connected
    await new Promise<void>((resolve) => this.socket.write(text, () => resolve()))
  }

  /** Waits for a complete answer (headers + Content-Length bytes) and, when `closed`, the close. */
  async answer (timeoutMs: number, options: { closed?: boolean } = {}): Promise<RawAnswer> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const parsed = this.parsed()
      if (parsed != null && (options.closed !== true || this.closedAt != null)) return parsed
      if (Date.now() > deadline) throw new Error(`no ${options.closed === true ? 'answer and close' : 'answer'} within ${timeoutMs} ms; got ${JSON.stringify(this.data.slice(0, 300))}, closed: ${String(this.closedAt != null)}`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  get closed (): boolean {
    return this.closedAt != null
  }

  private parsed (): RawAnswer | undefined {
    const end = this.data.indexOf('\r\n\r\n')
    if (end < 0) return undefined
    const headers = this.data.slice(0, end)
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(headers)
    const body = this.data.slice(end + 4)
    if (length != null && Buffer.byteLength(body, 'latin1') < Number(length[1])) return undefined
    return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1]), headers, body, closed: this.closedAt != null, ms: Date.now() - this.started }
  }

  close (): void {
    this.socket.destroy()
  }
}

async function listening (_t: unknown, app: FastifyInstance): Promise<number> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address == null || typeof address === 'string') throw new Error('no port')
  return address.port
}

const postHead = (declared: number, authorization?: string): string =>
  'POST /v1/documents HTTP/1.1\r\nHost: hub\r\nContent-Type: application/xml\r\n' +
  (authorization != null ? `Authorization: ${authorization}\r\n` : '') +
  `Content-Length: ${declared}\r\n\r\n`

t.test('unauthenticated request with a huge Content-Length: 401 at once, the body never read, the connection closed', async (t) => {
  const { app } = await testHub(t, { redisUrl: null })
  const port = await listening(t, app)
  for (const authorization of [undefined, 'Bearer lt_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'Bearer junk']) {
    const client = new RawClient(port)
    t.teardown(() => client.close())
    // 49,999,999 bytes declared (under the 50 MB cap), none sent: the answer cannot wait for them.
    await client.send(postHead(49_999_999, authorization))
    const answer = await client.answer(3000, { closed: true })
    t.equal(answer.status, 401, `${String(authorization)}: 401 before any body byte was sent`)
    t.match(answer.headers, /content-type: application\/problem\+json/i)
    t.equal(JSON.parse(answer.body).code, 'UNAUTHENTICATED')
    t.match(answer.headers, /connection: close/i, 'the connection is closed rather than the declared body drained')
  }
})

t.test('authenticated request over the size cap: 413 from Content-Length before the body is read', async (t) => {
  const { app, keys } = await testHub(t, { redisUrl: null, maxBytes: 4096 })
  const port = await listening(t, app)
  const client = new RawClient(port)
  t.teardown(() => client.close())
  await client.send(postHead(49_999_999, `Bearer ${keys[G22]}`))
  const answer = await client.answer(3000, { closed: true })
  t.equal(answer.status, 413)
  t.equal(JSON.parse(answer.body).code, 'PAYLOAD_TOO_LARGE')
})

t.test('slowloris body: 1 byte then a stall is answered 408 and closed within the body timeout', async (t) => {
  const { app, keys } = await testHub(t, { redisUrl: null, timeouts: { bodyIdleMs: 300 } })
  const port = await listening(t, app)
  const client = new RawClient(port)
  t.teardown(() => client.close())
  await client.send(postHead(1000, `Bearer ${keys[G22]}`) + '<')
  const answer = await client.answer(3000, { closed: true })
  t.equal(answer.status, 408, 'answered, not left hanging')
  t.equal(JSON.parse(answer.body).code, 'REQUEST_TIMEOUT')
  t.ok(answer.ms >= 250, `not before the timeout (${answer.ms} ms)`)
  t.ok(answer.ms < 2500, `within the timeout and some slack (${answer.ms} ms)`)
})

t.test('slowloris trickle: a body that keeps dribbling is cut off by the request timeout', async (t) => {
  const { app, keys } = await testHub(t, { redisUrl: null, timeouts: { bodyIdleMs: 5000, headersMs: 400, requestMs: 600 } })
  const port = await listening(t, app)
  const client = new RawClient(port)
  t.teardown(() => client.close())
  await client.send(postHead(1000, `Bearer ${keys[G22]}`))
  const trickle = setInterval(() => { if (!client.closed) client.socket.write('<') }, 100)
  t.teardown(() => clearInterval(trickle))
  const deadline = Date.now() + 3000
  while (!client.closed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  t.ok(client.closed, `closed by the request timeout (${Date.now() - client.started} ms)`)
})

t.test('slowloris headers: headers never finished are answered 408 and closed within the headers timeout', async (t) => {
  const { app } = await testHub(t, { redisUrl: null, timeouts: { headersMs: 300 } })
  const port = await listening(t, app)
  const client = new RawClient(port)
  t.teardown(() => client.close())
  await client.send('POST /v1/documents HTTP/1.1\r\nHost: hub\r\nX-Slow: ')
  const answer = await client.answer(3000, { closed: true })
  t.equal(answer.status, 408)
  t.equal(JSON.parse(answer.body).code, 'REQUEST_TIMEOUT')
  t.ok(answer.ms < 2500, `within the timeout and some slack (${answer.ms} ms)`)
})

t.test('in-flight body bytes are bounded per credential and overall (503 IN_FLIGHT_LIMIT + Retry-After)', async (t) => {
  const { app, keys } = await testHub(t, { redisUrl: null, maxBytes: 1500, inFlightBytes: { total: 3000, perCredential: 2000 }, timeouts: { bodyIdleMs: 10_000 } })
  const port = await listening(t, app)
  const open = (declared: number, agency: string, first = '<'): RawClient => {
    const client = new RawClient(port)
    t.teardown(() => client.close())
    client.send(postHead(declared, `Bearer ${keys[agency]}`) + first).catch(() => {})
    return client
  }
  const settle = async (): Promise<void> => await new Promise((resolve) => setTimeout(resolve, 200))

  const g22 = open(1500, G22)
  await settle()
  const again = await open(1000, G22).answer(3000)
  t.equal(again.status, 503, 'the same credential past its bound')
  t.equal(JSON.parse(again.body).code, 'IN_FLIGHT_LIMIT')
  t.match(again.headers, /retry-after: \d+/i)

  const g12 = open(1400, G12)
  await settle()
  const h41 = await open(500, H41).answer(3000)
  t.equal(h41.status, 503, 'another credential past the overall bound (1500 + 1400 + 500 > 3000)')
  t.equal(JSON.parse(h41.body).code, 'IN_FLIGHT_LIMIT')

  // The stalled uploads end (client gone): their bytes are released.
  g22.close()
  g12.close()
  await settle()
  const after = open(5, H41, 'hello')
  const answer = await after.answer(3000)
  t.not(answer.status, 503, `bytes released once the stalled requests ended (got ${answer.status})`)
})

t.test('health and the OpenAPI document still answer without credentials', async (t) => {
  const { app } = await testHub(t, { redisUrl: null })
  t.equal((await app.inject({ url: '/health/live' })).statusCode, 200)
  t.equal((await app.inject({ url: '/openapi.json' })).statusCode, 200)
  const unknown = await app.inject({ url: '/no/such/route' })
  t.equal(unknown.statusCode, 401, 'deny by default: an unknown route asks for credentials first')
})
