import { Agent as HttpAgent, request as httpRequest } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'

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

function agentFor (url: URL, tls: PushTls | undefined): HttpAgent {
  const identity = tls ?? NO_TLS
  let byOrigin = agents.get(identity)
  if (byOrigin == null) {
    byOrigin = new Map()
    agents.set(identity, byOrigin)
  }
  let agent = byOrigin.get(url.origin)
  if (agent == null) {
    const common = { keepAlive: true, keepAliveMsecs: 10_000, maxFreeSockets: 16, scheduling: 'lifo' as const }
    agent = url.protocol === 'https:'
      ? new HttpsAgent({ ...common, ...(tls != null ? { cert: tls.cert, key: tls.key, ...(tls.ca != null ? { ca: tls.ca } : {}) } : {}) })
      : new HttpAgent(common)
    byOrigin.set(url.origin, agent)
  }
  return agent
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
  const url = new URL(req.url)
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest
  return await new Promise<PushResponse>((resolve, reject) => {
    const r = send(url, {
      method: 'POST',
      headers: { ...req.headers, 'content-length': String(req.body.length) },
      agent: agentFor(url, req.tls)
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
    const timer = setTimeout(() => { r.destroy(new Error(`timed out after ${req.timeoutMs} ms`)) }, req.timeoutMs)
    r.on('error', (err) => { clearTimeout(timer); reject(err) })
    r.end(req.body)
  })
}
