import { createHash, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { PKI } from './example-pki.js'
import type { TeardownHost } from './database.js'

const pem = (path: string): Buffer => readFileSync(join(PKI, path))

/** The hub's TLS material and the example PKI's CAs, as the push worker and recipients use them. */
export const HUB_TLS = {
  cert: pem('hub/tls-cert.pem'),
  key: pem('hub/tls-key.pem'),
  rootCa: pem('trust/root-ca.pem'),
  issuingCa: pem('trust/issuing-ca.pem')
}

/**
 * What the worker is given: the hub's client certificate followed by its chain (as
 * src/hub/start-worker.ts builds it from LIENTHONG_PUSH_CLIENT_CERT + LIENTHONG_HUB_CHAIN), and the
 * CA recipients' servers chain to.
 */
export const WORKER_TLS = { cert: Buffer.concat([HUB_TLS.cert, HUB_TLS.issuingCa]), key: HUB_TLS.key, ca: HUB_TLS.rootCa }

/** SHA-256 fingerprint (upper-case hex with colons, as node prints it) of the hub's TLS certificate. */
export const HUB_TLS_FINGERPRINT = new X509Certificate(HUB_TLS.cert).fingerprint256

/**
 * How the recipient answers. Counters (`flapping`, `retryAfter429`) are per Idempotency-Key, so
 * several documents each see the same sequence.
 */
export type Behaviour =
  | { kind: 'healthy', status?: number }
  | { kind: 'slow', delayMs: number, status?: number }
  | { kind: 'hanging' }
  | { kind: 'flapping', failures: number, failStatus?: number }
  | { kind: 'failing', status?: number }
  | { kind: 'permanent400' }
  | { kind: 'retryAfter429', times?: number, retryAfter?: string }

export interface RecordedRequest {
  /** Order of arrival, from 0. */
  seq: number
  at: number
  method: string
  url: string
  headers: IncomingMessage['headers']
  idempotencyKey: string | undefined
  bodySha256: string
  bodyBytes: number
  /** The client certificate the hub presented (already verified by the TLS layer). */
  clientSubject: Record<string, string | string[] | undefined> | undefined
  clientFingerprint256: string | undefined
  /** The client's port: requests with the same one came over the same (kept-alive) connection. */
  remotePort: number | undefined
  /** The request body, when the server was made with keepBodies. */
  body?: Buffer
  /** What was answered, and when (undefined while open or when the connection was dropped). */
  status?: number
  answeredAt?: number
  /** True when the key was already applied and this request did not count as a new document. */
  replay?: boolean
}

export interface RecipientServerOptions {
  behaviour?: Behaviour
  /** Start not listening (connection refused) until `start()`. */
  down?: boolean
  /** A repeated Idempotency-Key whose document was applied is answered 200 and not applied again (default true). */
  idempotent?: boolean
  /**
   * Trust anchors for the client certificate. Default: the root and the issuing CA (the hub sends
   * its leaf certificate only, so the intermediate must be known to the recipient).
   */
  clientCa?: Buffer[]
  path?: string
  /** Keep each request's body in RecordedRequest.body (small payloads only: receipts). */
  keepBodies?: boolean
  /** The body of a 2xx answer (e.g. the recipient's own signed receipt); default a small JSON. */
  answer?: (request: RecordedRequest) => { contentType: string, body: string }
  /** The server certificate (+ chain) and key it presents; default the hub's TLS certificate with its issuing CA. */
  serverTls?: { cert: Buffer, key: Buffer }
}

/**
 * A recipient agency's HTTPS endpoint for push tests: server certificate = the hub's TLS
 * certificate (SAN 127.0.0.1) with its issuing CA, client certificate required and checked.
 */
export class RecipientServer {
  readonly requests: RecordedRequest[] = []
  /** Idempotency-Key → sha256 of the document applied under it (a 2xx was answered). */
  readonly applied = new Map<string, string>()
  /** Requests currently open (answered or dropped ends one), and the most seen at once. */
  open = 0
  maxOpen = 0
  /** TLS handshakes the server refused (e.g. no or untrusted client certificate). */
  readonly tlsErrors: string[] = []
  behaviour: Behaviour
  port = 0
  private server: Server | undefined
  private readonly idempotent: boolean
  private readonly clientCa: Buffer[]
  private readonly path: string
  private readonly answerBody: RecipientServerOptions['answer']
  private readonly keepBodies: boolean
  private readonly perKey = new Map<string, number>()
  private readonly serverTls: { cert: Buffer, key: Buffer }

  constructor (options: RecipientServerOptions = {}) {
    this.behaviour = options.behaviour ?? { kind: 'healthy' }
    this.answerBody = options.answer
    this.keepBodies = options.keepBodies ?? false
    this.idempotent = options.idempotent ?? true
    this.clientCa = options.clientCa ?? [HUB_TLS.rootCa, HUB_TLS.issuingCa]
    this.path = options.path ?? '/edxml'
    this.serverTls = options.serverTls ?? { cert: Buffer.concat([HUB_TLS.cert, HUB_TLS.issuingCa]), key: HUB_TLS.key }
  }

  get url (): string {
    return `https://127.0.0.1:${this.port}${this.path}`
  }

  get listening (): boolean {
    return this.server?.listening === true
  }

  /** Distinct Idempotency-Keys seen (whatever was answered). */
  distinctKeys (): number {
    return new Set(this.requests.map((r) => r.idempotencyKey)).size
  }

  requestsFor (key: string): RecordedRequest[] {
    return this.requests.filter((r) => r.idempotencyKey === key)
  }

  /** Changes how later requests are answered; per-key counters start again. */
  setBehaviour (behaviour: Behaviour): void {
    this.behaviour = behaviour
    this.perKey.clear()
  }

  /** Reserves a free port without listening on it (for a recipient that starts `down`). */
  async reservePort (): Promise<number> {
    const probe = createServer({ cert: HUB_TLS.cert, key: HUB_TLS.key })
    await new Promise<void>((resolve, reject) => { probe.once('error', reject); probe.listen(0, '127.0.0.1', resolve) })
    this.port = (probe.address() as AddressInfo).port
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    return this.port
  }

  /** Listens (again) on `port` (first time: a free port). */
  async start (): Promise<void> {
    if (this.listening) return
    const server = createServer({
      cert: this.serverTls.cert,
      key: this.serverTls.key,
      ca: this.clientCa,
      requestCert: true,
      rejectUnauthorized: true
    }, (req, res) => { this.handle(req, res) })
    server.on('tlsClientError', (err) => { this.tlsErrors.push(err.message) })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => { server.off('error', reject); resolve() })
    })
    this.port = (server.address() as AddressInfo).port
    this.server = server
  }

  /** Stops listening and drops every open connection (hanging requests included). */
  async stop (): Promise<void> {
    const server = this.server
    if (server == null) return
    this.server = undefined
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeAllConnections()
    await closed
  }

  private handle (req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket as TLSSocket
    const peer = socket.getPeerCertificate()
    const header = req.headers['idempotency-key']
    const key = Array.isArray(header) ? header[0] : header
    const record: RecordedRequest = {
      seq: this.requests.length,
      at: Date.now(),
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      idempotencyKey: key,
      bodySha256: '',
      bodyBytes: 0,
      clientSubject: peer?.subject != null ? { ...peer.subject } : undefined,
      clientFingerprint256: peer?.fingerprint256,
      remotePort: socket.remotePort
    }
    this.requests.push(record)
    this.open++
    this.maxOpen = Math.max(this.maxOpen, this.open)
    res.on('close', () => { this.open-- })

    const hash = createHash('sha256')
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk)
      record.bodyBytes += chunk.length
      if (this.keepBodies) chunks.push(chunk)
    })
    req.on('end', () => {
      record.bodySha256 = hash.digest('hex')
      if (this.keepBodies) record.body = Buffer.concat(chunks)
      this.answer(record, res)
    })
  }

  private answer (record: RecordedRequest, res: ServerResponse): void {
    const key = record.idempotencyKey ?? ''
    const seen = this.perKey.get(key) ?? 0
    this.perKey.set(key, seen + 1)
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      record.status = status
      record.answeredAt = Date.now()
      if (status >= 200 && status < 300 && !this.applied.has(key)) this.applied.set(key, record.bodySha256)
      const custom = status >= 200 && status < 300 ? this.answerBody?.(record) : undefined
      res.writeHead(status, { 'content-type': custom?.contentType ?? 'application/json', ...headers })
      res.end(custom?.body ?? JSON.stringify(body))
    }
    if (this.idempotent && key !== '' && this.applied.has(key)) {
      record.replay = true
      send(200, { received: key, replay: true })
      return
    }
    const b = this.behaviour
    switch (b.kind) {
      case 'healthy':
        send(b.status ?? 201, { received: key })
        return
      case 'slow': {
        const timer = setTimeout(() => { if (!res.destroyed) send(b.status ?? 201, { received: key, slow: true }) }, b.delayMs)
        res.on('close', () => clearTimeout(timer))
        return
      }
      case 'hanging':
        // Never answer; the hub's timeout (or stop()) ends the connection.
        return
      case 'flapping':
        if (seen < b.failures) send(b.failStatus ?? 500, { error: 'temporarily unavailable', attempt: seen + 1 })
        else send(201, { received: key })
        return
      case 'failing':
        send(b.status ?? 500, { error: 'internal error' })
        return
      case 'permanent400':
        send(400, { error: 'REJECTED_BY_RECIPIENT', detail: 'the recipient does not accept this document' })
        return
      case 'retryAfter429':
        if (seen < (b.times ?? 1)) send(429, { error: 'slow down' }, { 'retry-after': b.retryAfter ?? '1' })
        else send(201, { received: key })
    }
  }
}

/** A recipient server, listening unless `down`, stopped on teardown. */
export async function recipientServer (t: TeardownHost, options: RecipientServerOptions = {}): Promise<RecipientServer> {
  const server = new RecipientServer(options)
  if (options.down === true) await server.reservePort()
  else await server.start()
  t.teardown(async () => { await server.stop() })
  return server
}
