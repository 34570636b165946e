import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'

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
}

const MAX_KEPT_BODY = 64 * 1024

/**
 * One POST of the original signed bytes. Resolves with the answer, rejects with a network error
 * (refused, reset, TLS failure, timeout). The timeout covers the whole exchange, so a recipient
 * that accepts the connection and never answers cannot hold a worker slot forever.
 */
export async function push (req: PushRequest): Promise<PushResponse> {
  const url = new URL(req.url)
  const isHttps = url.protocol === 'https:'
  const send = isHttps ? httpsRequest : httpRequest
  return await new Promise<PushResponse>((resolve, reject) => {
    const r = send(url, {
      method: 'POST',
      headers: { ...req.headers, 'content-length': String(req.body.length) },
      ...(isHttps && req.tls != null ? { cert: req.tls.cert, key: req.tls.key, ...(req.tls.ca != null ? { ca: req.tls.ca } : {}) } : {}),
      agent: false
    }, (res) => {
      const chunks: Buffer[] = []
      let kept = 0
      res.on('data', (chunk: Buffer) => {
        if (kept < MAX_KEPT_BODY) {
          chunks.push(chunk.subarray(0, MAX_KEPT_BODY - kept))
          kept += chunk.length
        }
      })
      res.on('end', () => { clearTimeout(timer); resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }) })
      res.on('error', (err) => { clearTimeout(timer); reject(err) })
    })
    const timer = setTimeout(() => { r.destroy(new Error(`timed out after ${req.timeoutMs} ms`)) }, req.timeoutMs)
    r.on('error', (err) => { clearTimeout(timer); reject(err) })
    r.end(req.body)
  })
}
