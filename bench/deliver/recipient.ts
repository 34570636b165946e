/**
 * The recipient agency's HTTPS endpoint, in the bench process: built like the tests' recipient
 * server (test/helpers/recipient-server.ts): server certificate = the hub's TLS certificate (SAN
 * 127.0.0.1) with its issuing CA, client certificate required and checked against the example
 * root and issuing CA. It answers 200 as soon as a body has arrived and records, per
 * X-Lienthong-Document-Id, when the first complete body arrived. It is the sender's endpoint too:
 * the hub's receipt callbacks (x-lienthong-kind: receipt) are answered 200 and counted apart. It can go down (stop listening,
 * connections refused) and come back up on the same port.
 */
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { PKI } from '../../test/helpers/example-pki.js'
import { now } from './clock.js'

const pem = (path: string): Buffer => readFileSync(join(PKI, path))

export class BenchRecipient {
  /** Hub document id -> wall-clock ms (see clock.ts) when its first complete POST arrived. */
  readonly arrivals = new Map<string, number>()
  /** POSTs answered, repeats of a document already received included. */
  posts = 0
  repeats = 0
  /** Hub receipts POSTed to the sender's endpoint (x-lienthong-kind: receipt), which this server also is. */
  receipts = 0
  /** TLS connections the server accepted (a full or resumed handshake each). */
  connections = 0
  /** TLS handshakes the server refused. */
  readonly tlsErrors: string[] = []
  port = 0
  private server: Server | undefined
  private readonly tls = {
    cert: Buffer.concat([pem('hub/tls-cert.pem'), pem('trust/issuing-ca.pem')]),
    key: pem('hub/tls-key.pem'),
    ca: [pem('trust/root-ca.pem'), pem('trust/issuing-ca.pem')]
  }

  get url (): string {
    return `https://127.0.0.1:${this.port}/edxml`
  }

  get listening (): boolean {
    return this.server?.listening === true
  }

  /** Listens (again) on `port` (the first time: a free port). */
  async start (): Promise<void> {
    if (this.listening) return
    const server = createServer({ ...this.tls, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const receipt = req.headers['x-lienthong-kind'] === 'receipt'
      const header = req.headers['x-lienthong-document-id']
      const documentId = Array.isArray(header) ? header[0] : header
      req.on('data', () => {})
      req.on('end', () => {
        const at = now()
        // A receipt callback names the document it is about: not an arrival of that document.
        if (receipt) {
          this.receipts++
          res.writeHead(200).end()
          return
        }
        this.posts++
        if (documentId != null) {
          if (this.arrivals.has(documentId)) this.repeats++
          else this.arrivals.set(documentId, at)
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}')
      })
    })
    server.on('tlsClientError', (err) => { this.tlsErrors.push(err.message) })
    server.on('secureConnection', () => { this.connections++ })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => { server.off('error', reject); resolve() })
    })
    this.port = (server.address() as AddressInfo).port
    this.server = server
  }

  /** Stops listening and drops every open connection: from now on the hub's pushes are refused. */
  async stop (): Promise<void> {
    const server = this.server
    if (server == null) return
    this.server = undefined
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeAllConnections()
    await closed
  }
}
