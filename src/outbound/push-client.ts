import { Agent as HttpAgent, request as httpRequest } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions as HttpsRequestOptions } from 'node:https'
import { createHash, X509Certificate } from 'node:crypto'
import { checkServerIdentity, createSecureContext, type PeerCertificate, type SecureContext } from 'node:tls'
import { checkServerPin, pushRefusal, pushSettingsFromEnv, type PushPin, type PushSettings } from '../registry/push-endpoint.js'

export interface PushTls {
  /** The hub's TLS client certificate and key (mTLS towards recipients). */
  cert: Buffer
  key: Buffer
  /** CAs the recipients' server certificates must chain to; default: Node's bundle. */
  ca?: Buffer
}

export interface PushRequest {
  url: string
  body: Buffer
  headers: Record<string, string>
  timeoutMs: number
  tls?: PushTls
  /**
   * The recipient's registered server certificate (fingerprints and/or subject): checked on the TLS
   * connection after the CA and host name checks, before a byte of the body is sent.
   */
  pin?: PushPin | undefined
  /** Whose endpoint this is (for the messages). */
  agency?: string
  /** Development relaxations (http://, no pin); default from the environment. */
  settings?: PushSettings
}

/**
 * The hub refuses to send at all (plain http, no pin): a configuration error, not a network
 * one; callers treat it as a permanent failure.
 */
export class PushRefusedError extends Error {
  readonly permanent = true
  constructor (message: string) {
    super(message)
    this.name = 'PushRefusedError'
  }
}

/** The whole exchange took longer than the push timeout (the socket is destroyed, never reused). */
export class PushTimeoutError extends Error {
  constructor (readonly timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`)
    this.name = 'PushTimeoutError'
  }
}

export interface PushResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** At most 64 KB of the answer, kept as evidence of what the recipient said. */
  body: Buffer
  /** The answer was longer than what is kept. */
  truncated: boolean
}

const MAX_KEPT_BODY = 64 * 1024

/**
 * One keep-alive agent per recipient origin and TLS identity, built once. Building the TLS
 * options (parsing the key and chain) and a full mutual-TLS handshake cost ~9 ms of main-thread
 * CPU per push; a reused connection (or at least a resumed TLS session) costs well under 1 ms.
 * Idle sockets are unref'ed by Node, so they never keep a stopping worker alive.
 */
const NO_TLS = {}
const agents = new WeakMap<object, Map<string, HttpAgent>>()
/**
 * The TLS identity as a SecureContext, made once: given only cert/key/ca, Node's agent builds a
 * new context (parsing the key, the chain and the CA bundle: 2-5 ms of main-thread CPU) for
 * EVERY new connection, and a connection attempt to an endpoint that is down (refused, retried
 * with backoff) is a new connection each time.
 */
const secureContexts = new WeakMap<PushTls, SecureContext>()

function secureContextFor (tls: PushTls): SecureContext {
  let context = secureContexts.get(tls)
  if (context == null) {
    context = createSecureContext({ cert: tls.cert, key: tls.key, ...(tls.ca != null ? { ca: tls.ca } : {}) })
    secureContexts.set(tls, context)
  }
  return context
}

/**
 * An agent for one TLS client identity. Node names an agent's sockets and cached TLS sessions by
 * the connection options (cert, key, ca...), not by a `secureContext`: the name here carries the
 * SHA-256 fingerprint of the client certificate (and of the CA bundle) instead, so a socket or
 * session made for one identity is never handed to another, without giving Node the PEMs to
 * compare per request.
 */
class IdentityAgent extends HttpsAgent {
  constructor (options: ConstructorParameters<typeof HttpsAgent>[0], private readonly identity: string) {
    super(options)
  }

  override getName (options?: HttpsRequestOptions): string {
    return `${super.getName(options)}:${this.identity}`
  }
}

const identityNames = new WeakMap<PushTls, string>()

/** `client=<sha256 of the leaf certificate>[ ca=<sha256 of the CA bundle>]`, computed once. */
function identityName (tls: PushTls): string {
  let name = identityNames.get(tls)
  if (name == null) {
    // The first certificate of the PEM is the leaf (the chain may follow it).
    const leaf = new X509Certificate(tls.cert).fingerprint256.replace(/:/g, '').toLowerCase()
    name = `client=${leaf}${tls.ca != null ? ` ca=${createHash('sha256').update(tls.ca).digest('hex')}` : ''}`
    identityNames.set(tls, name)
  }
  return name
}

function agentFor (url: URL, tls: PushTls | undefined, pin: PushPin | undefined, agency: string | undefined): HttpAgent {
  const identity = tls ?? NO_TLS
  let byOrigin = agents.get(identity)
  if (byOrigin == null) {
    byOrigin = new Map()
    agents.set(identity, byOrigin)
  }
  // One agent per origin AND pin: a kept-alive socket or a cached TLS session (whose resumption
  // skips checkServerIdentity) was verified against exactly this pin.
  const key = `${url.origin} ${JSON.stringify(pin ?? null)}`
  let agent = byOrigin.get(key)
  if (agent == null) {
    // maxFreeSockets above the most POSTs in flight to one endpoint (adaptive limit up to 16
    // documents, plus a round of up to 32 receipt callbacks to a sender): with 16, every burst
    // wider than that closed the extra sockets afterwards and the next burst paid new TLS
    // handshakes. Idle ones cost a file descriptor each until the server's keep-alive timeout.
    const common = { keepAlive: true, keepAliveMsecs: 10_000, maxFreeSockets: 64, scheduling: 'lifo' as const }
    agent = url.protocol === 'https:'
      ? new IdentityAgent({
        ...common,
        // The context carries the client certificate, its key and the CAs (secureContextFor); the
        // agent names its sockets and sessions by the certificate's fingerprint (IdentityAgent).
        ...(tls != null ? { secureContext: secureContextFor(tls) } : {}),
        ...(pin != null ? { checkServerIdentity: pinnedIdentityCheck(url, pin, agency) } : {})
      }, tls != null ? identityName(tls) : 'client=none')
      : new HttpAgent(common)
    byOrigin.set(key, agent)
  }
  return agent
}

/**
 * Node's host name check, then the pin. Runs inside the TLS handshake (after the chain was
 * verified against the CA), so a refused server never sees the request.
 */
function pinnedIdentityCheck (url: URL, pin: PushPin, agency: string | undefined) {
  return (host: string, cert: PeerCertificate): Error | undefined => {
    const hostError = checkServerIdentity(host, cert)
    if (hostError != null) return hostError
    const verdict = checkServerPin(pin, cert.raw)
    if (verdict.ok) return undefined
    const err = new Error(`the server certificate of ${url.origin} is not the one registered for ${agency != null ? `agency ${agency}` : 'this recipient'}: ${verdict.detail}`) as Error & { code: string }
    err.code = 'ERR_LIENTHONG_SERVER_PIN'
    return err
  }
}

/** Closes the idle connections kept for `tls` (a stopping worker; tests). */
export function closePushConnections (tls: PushTls | undefined): void {
  const byOrigin = agents.get(tls ?? NO_TLS)
  if (byOrigin == null) return
  for (const agent of byOrigin.values()) agent.destroy()
  agents.delete(tls ?? NO_TLS)
}

/**
 * One POST of the original signed bytes. Resolves with the answer, rejects with a network error
 * (refused, reset, TLS failure, timeout). The timeout covers the whole exchange, so a recipient
 * that accepts the connection and never answers cannot hold a worker slot forever; a timed-out
 * socket is destroyed, never returned to the pool.
 */
export async function push (req: PushRequest): Promise<PushResponse> {
  const refusal = pushRefusal(req.url, req.pin, req.settings ?? pushSettingsFromEnv())
  if (refusal != null) throw new PushRefusedError(`not sent${req.agency != null ? ` to ${req.agency}` : ''}: ${refusal}`)
  const url = new URL(req.url)
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest
  return await new Promise<PushResponse>((resolve, reject) => {
    const r = send(url, {
      method: 'POST',
      headers: { ...req.headers, 'content-length': String(req.body.length) },
      agent: agentFor(url, req.tls, url.protocol === 'https:' ? req.pin : undefined, req.agency)
    }, (res) => {
      const chunks: Buffer[] = []
      let kept = 0
      res.on('data', (chunk: Buffer) => {
        if (kept < MAX_KEPT_BODY) {
          chunks.push(chunk.subarray(0, MAX_KEPT_BODY - kept))
          kept += chunk.length
        }
      })
      res.on('end', () => { clearTimeout(timer); resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), truncated: kept > MAX_KEPT_BODY }) })
      res.on('error', (err) => { clearTimeout(timer); reject(err) })
    })
    const timer = setTimeout(() => { r.destroy(new PushTimeoutError(req.timeoutMs)) }, req.timeoutMs)
    r.on('error', (err) => { clearTimeout(timer); reject(err) })
    r.end(req.body)
  })
}
