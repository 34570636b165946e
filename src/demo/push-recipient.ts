import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'

/** One document (or status message) the hub pushed. */
export interface PushedItem {
  /** The hub's delivery id (Idempotency-Key). */
  deliveryId: string
  /** The hub's document id and kind, from the X-Lienthong-* headers. */
  documentId: string
  kind: string
  sender: string
  bytes: Buffer
  sha256: string
  /** True when this delivery id was answered before: the hub retried, nothing new arrived. */
  repeat: boolean
}

export interface PushRecipientOptions {
  host: string
  port: number
  /** The path the registry names (e.g. /edxml); other paths are answered 404. */
  path: string
  tls: { cert: Buffer, key: Buffer, ca: Buffer[] }
  /** Called for each document, after it was answered 200. */
  onItem: (item: PushedItem) => void
  /** TLS handshakes refused (no or untrusted client certificate). */
  onTlsError?: (message: string) => void
}

export interface PushRecipient {
  url: string
  close: () => Promise<void>
}

const MAX_BYTES = 64 * 1024 * 1024

/**
 * A recipient agency's HTTPS endpoint, the way the hub expects one: mutual TLS (only a client
 * certificate chaining to the demo CAs gets through), the original signed bytes as the body,
 * 200 once they are kept. The same Idempotency-Key again is answered 200 and reported as a repeat.
 */
export async function startPushRecipient (options: PushRecipientOptions): Promise<PushRecipient> {
  const seen = new Set<string>()
  const server: Server = createServer({
    cert: options.tls.cert,
    key: options.tls.key,
    ca: options.tls.ca,
    requestCert: true,
    rejectUnauthorized: true
  }, (req, res) => { receive(req, res) })
  server.on('tlsClientError', (err) => options.onTlsError?.(err.message))

  const answer = (res: ServerResponse, status: number, body: object): void => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }
  const header = (req: IncomingMessage, name: string): string => {
    const value = req.headers[name]
    return (Array.isArray(value) ? value[0] : value) ?? ''
  }

  function receive (req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== options.path) {
      answer(res, 404, { error: 'NOT_FOUND', detail: `documents are received by POST ${options.path}` })
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BYTES) req.destroy()
      else chunks.push(chunk)
    })
    req.on('end', () => {
      const bytes = Buffer.concat(chunks)
      const deliveryId = header(req, 'idempotency-key')
      const repeat = deliveryId !== '' && seen.has(deliveryId)
      if (deliveryId !== '') seen.add(deliveryId)
      const sha256 = createHash('sha256').update(bytes).digest('hex')
      answer(res, 200, { received: deliveryId, sha256 })
      options.onItem({
        deliveryId,
        documentId: header(req, 'x-lienthong-document-id'),
        kind: header(req, 'x-lienthong-kind'),
        sender: header(req, 'x-lienthong-sender'),
        bytes,
        sha256,
        repeat
      })
    })
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => { server.off('error', reject); resolve() })
  })
  const port = (server.address() as AddressInfo).port
  const host = options.host.includes(':') ? `[${options.host}]` : options.host
  return {
    url: `https://${host}:${port}${options.path}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // The hub keeps its push connections alive: drop them, or close() waits for their timeout.
      server.closeAllConnections()
      await closed
    }
  }
}
