import { request } from 'node:https'
import { checkServerIdentity, type PeerCertificate } from 'node:tls'
import { checkServerPin, type PushPin } from '../../registry/push-endpoint.js'
import { DirectoryRefusal } from './directory-refusal.js'

export interface FetchDirectoryOptions {
  url: string
  tlsPin: PushPin
  /** The hub's TLS client certificate (peers may require mTLS on their whole port), and the CAs of peers' servers. */
  tls?: { cert?: Buffer, key?: Buffer, ca?: Buffer }
  timeoutMs: number
  maxBytes: number
  /** The ETag of the directory held (quoted SHA-256 of its bytes): a 304 means it is unchanged. */
  etag?: string
}

export type FetchedDirectory = { status: 'unchanged' } | { status: 'fetched', bytes: Buffer }

/**
 * GET the peer's directory over HTTPS, the peer's server certificate pinned in the handshake
 * (after the CA and host name checks), at most `maxBytes` read (a longer answer is cut off and
 * refused), the whole exchange within `timeoutMs`. Plain http is never used: the signature
 * protects the content, but only the pinned channel stops a stranger from serving an old signed
 * version forever while it is still valid.
 */
export async function fetchDirectory (options: FetchDirectoryOptions): Promise<FetchedDirectory> {
  const url = new URL(options.url)
  if (url.protocol !== 'https:') throw new DirectoryRefusal('DIRECTORY_FETCH_FAILED', `the directory URL ${options.url} is not https`)
  return await new Promise<FetchedDirectory>((resolve, reject) => {
    const failed = (detail: string, code: 'DIRECTORY_FETCH_FAILED' | 'DIRECTORY_TOO_LARGE' = 'DIRECTORY_FETCH_FAILED'): void => { reject(new DirectoryRefusal(code, detail)) }
    const r = request(url, {
      method: 'GET',
      // A fresh connection per fetch: a few peers every few minutes, and no TLS session resumed
      // past the pin check.
      agent: false,
      headers: { accept: 'application/xml', ...(options.etag != null ? { 'if-none-match': options.etag } : {}) },
      ...(options.tls?.cert != null && options.tls.key != null ? { cert: options.tls.cert, key: options.tls.key } : {}),
      ...(options.tls?.ca != null ? { ca: options.tls.ca } : {}),
      checkServerIdentity: (host: string, cert: PeerCertificate) => {
        const hostError = checkServerIdentity(host, cert)
        if (hostError != null) return hostError
        const verdict = checkServerPin(options.tlsPin, cert.raw)
        return verdict.ok ? undefined : new Error(`the server certificate of ${url.origin} is not the peer's pinned one: ${verdict.detail}`)
      }
    }, (res) => {
      const status = res.statusCode ?? 0
      if (status === 304 && options.etag != null) {
        res.resume()
        res.on('end', () => { clearTimeout(timer); resolve({ status: 'unchanged' }) })
        return
      }
      if (status !== 200) {
        res.resume()
        clearTimeout(timer)
        failed(`${options.url} answered HTTP ${status}`)
        return
      }
      const declared = Number(res.headers['content-length'])
      if (Number.isFinite(declared) && declared > options.maxBytes) {
        r.destroy()
        clearTimeout(timer)
        failed(`${options.url} announces ${declared} bytes; the cap is ${options.maxBytes}`, 'DIRECTORY_TOO_LARGE')
        return
      }
      const chunks: Buffer[] = []
      let length = 0
      res.on('data', (chunk: Buffer) => {
        length += chunk.length
        if (length > options.maxBytes) {
          r.destroy()
          clearTimeout(timer)
          failed(`${options.url} sent more than ${options.maxBytes} bytes (the cap)`, 'DIRECTORY_TOO_LARGE')
          return
        }
        chunks.push(chunk)
      })
      res.on('end', () => { clearTimeout(timer); resolve({ status: 'fetched', bytes: Buffer.concat(chunks) }) })
      res.on('error', (err) => { clearTimeout(timer); failed(`${options.url}: ${err.message}`) })
    })
    const timer = setTimeout(() => { r.destroy(new Error(`timed out after ${options.timeoutMs} ms`)) }, options.timeoutMs)
    r.on('error', (err) => { clearTimeout(timer); failed(`${options.url}: ${err.message}`) })
    r.end()
  })
}
