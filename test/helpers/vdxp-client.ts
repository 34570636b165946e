import { createHash, createHmac } from 'node:crypto'
import { request } from 'node:http'

/**
 * A VDXP client written from the wire protocol of the national axis SDK (SDKVXP 2.0.1,
 * shared/vdxp-protocol.md), not from lienthong's code: parameters travel as signed
 * `XroadVnpt-<key>` headers listed in Java HashMap iteration order, the HMAC covers the raw
 * sign-header bytes, and it keeps the SDK's quirks: one header map for the client's whole life
 * (keys of earlier calls are sent again), a timestamp fixed at construction, `{}` bodies with
 * `Expect: 100-continue`, `Content-Type: application/json` on bodyless requests, and the edXML
 * followed by `\r\n` on sendEdoc.
 */

/** Java's String.hashCode (UTF-16 code units, 32-bit wrap-around). */
function javaHash (text: string): number {
  let h = 0
  for (let i = 0; i < text.length; i++) h = (Math.imul(31, h) + text.charCodeAt(i)) | 0
  return h
}

/**
 * The iteration order of a java.util.HashMap holding `keys` (inserted in this order): by bucket
 * (spread hash masked by the table size, which doubles past 3/4 load), insertion order within a
 * bucket (no treeification at these sizes).
 */
export function javaHashMapOrder (keys: readonly string[]): string[] {
  let size = 16
  while (keys.length > size * 0.75) size *= 2
  const bucket = (k: string): number => {
    const h = javaHash(k)
    return (h ^ (h >>> 16)) & (size - 1)
  }
  return keys.map((k, i) => ({ k, i, b: bucket(k) })).sort((x, y) => x.b - y.b || x.i - y.i).map((e) => e.k)
}

/** The SDK's hash-file: SHA-256, each byte as unpadded lowercase hex. */
export function sdkHashFile (bytes: Uint8Array): string {
  return [...createHash('sha256').update(bytes).digest()].map((b) => b.toString(16)).join('')
}

/** ddMMyyyy'T'HHmmss+SSSS in local time; +SSSS is milliseconds padded to 4, not a zone. */
function sdkTimestamp (at: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0')
  return `${p(at.getDate())}${p(at.getMonth() + 1)}${at.getFullYear()}T${p(at.getHours())}${p(at.getMinutes())}${p(at.getSeconds())}+${p(at.getMilliseconds(), 4)}`
}

export interface VdxpAnswer {
  httpStatus: number
  contentType: string | undefined
  /** The body's bytes as received. */
  raw: Buffer
  /** The body parsed as JSON, when it is. */
  json: (Record<string, unknown> & { status?: string, ErrorCode?: string, ErrorDesc?: string }) | undefined
}

export interface CallOptions {
  /** Override what is signed (tests of a wrong signature) or sent. */
  tamper?: { hashHeader?: string, body?: Buffer }
}

export class VdxpClient {
  /** Keys stay for the client's whole life, like the SDK's one header map per service object. */
  private readonly params = new Map<string, string>()
  private readonly timestamp = sdkTimestamp(new Date())

  constructor (private readonly endpoint: string, private readonly systemId: string, private readonly secret: string) {}

  async sendEdoc (edxml: Buffer, params: Record<string, string>, options: CallOptions = {}): Promise<VdxpAnswer> {
    this.remember({ ...params, 'hash-file': sdkHashFile(edxml) })
    const body = Buffer.concat([edxml, Buffer.from('\r\n')])
    return await this.send('POST', 'sendEdoc', 'application/octet-stream', options.tamper?.body ?? body, false, options)
  }

  /** Operations with a `{}` body (getEdoc, updateStatus, the counts, deleteAgency). */
  async callWithEmptyObject (op: string, params: Record<string, string>, options: CallOptions = {}): Promise<VdxpAnswer> {
    this.remember(params)
    return await this.send('POST', op, 'application/json', Buffer.from('{}'), true, options)
  }

  /** Operations without a body (the lists, the directory reads). */
  async callWithoutBody (op: string, params: Record<string, string>): Promise<VdxpAnswer> {
    this.remember(params)
    return await this.send('POST', op, 'application/json', Buffer.alloc(0), false, {})
  }

  async registerAgency (unit: Record<string, string>): Promise<VdxpAnswer> {
    return await this.send('POST', 'registerAgency', 'application/json', Buffer.from(JSON.stringify(unit)), true, {})
  }

  async downloadEdoc (params: Record<string, string>): Promise<VdxpAnswer> {
    this.remember(params)
    return await this.send('GET', 'downloadEdoc', 'application/json', undefined, false, {})
  }

  private remember (params: Record<string, string>): void {
    for (const [key, value] of Object.entries(params)) this.params.set(key, value)
  }

  /** The signed headers in HashMap order, and the sign-header JSON (compact gson). */
  signedHeaders (contentType: string): { names: string[], pairs: Array<[string, string]>, signHeader: string } {
    const values = new Map<string, string>([['systemid', this.systemId], ...this.params, ['timestamp', this.timestamp], ['Content-Type', contentType]])
    // The SDK's map is keyed by the bare names (this reproduces the captured orders).
    const names = javaHashMapOrder([...values.keys()])
    const pairs = names.map((n): [string, string] => [`XroadVnpt-${n}`, values.get(n) as string])
    const signHeader = `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`
    return { names, pairs, signHeader }
  }

  /**
   * The headers and body of a sendEdoc request for `edxml`, for a load generator that sends them
   * itself (bench/accept/vdxp-compare.ts); remembers the parameters like sendEdoc does.
   */
  sendEdocRequest (edxml: Buffer, params: Record<string, string>): { headers: Record<string, string>, body: Buffer } {
    this.remember({ ...params, 'hash-file': sdkHashFile(edxml) })
    const contentType = 'application/octet-stream'
    const { names, pairs, signHeader } = this.signedHeaders(contentType)
    const utf8 = (v: string): string => Buffer.from(v, 'utf8').toString('latin1')
    const headers: Record<string, string> = { 'Content-Type': contentType }
    for (const [name, value] of pairs) headers[name] = utf8(value)
    headers['XroadVnpt-sign-header-key'] = names.join(';')
    headers['XroadVnpt-sign-header'] = utf8(signHeader)
    headers['XroadVnpt-hash-header'] = this.hmac(signHeader)
    return { headers, body: Buffer.concat([edxml, Buffer.from('\r\n')]) }
  }

  private hmac (signHeader: string): string {
    return createHmac('sha256', Buffer.from(this.secret, 'utf8')).update(Buffer.from(signHeader, 'utf8')).digest('hex')
  }

  private async send (method: 'GET' | 'POST', op: string, contentType: string, body: Buffer | undefined, expectContinue: boolean, options: CallOptions): Promise<VdxpAnswer> {
    const { names, pairs, signHeader } = this.signedHeaders(contentType)
    const hmac = options.tamper?.hashHeader ?? this.hmac(signHeader)
    const url = new URL(`${this.endpoint}/${op}`)
    // Header values go out as UTF-8 bytes (what sendEdoc and the port-less Apache path send).
    const utf8 = (v: string): string => Buffer.from(v, 'utf8').toString('latin1')
    return await new Promise<VdxpAnswer>((resolve, reject) => {
      const req = request({ method, host: url.hostname, port: url.port, path: url.pathname })
      req.setHeader('Content-Type', contentType)
      for (const [name, value] of pairs) if (name !== 'XroadVnpt-Content-Type') req.setHeader(name, utf8(value))
      req.setHeader('XroadVnpt-Content-Type', contentType)
      req.setHeader('XroadVnpt-sign-header-key', names.join(';'))
      req.setHeader('XroadVnpt-sign-header', utf8(signHeader))
      req.setHeader('XroadVnpt-hash-header', hmac)
      req.setHeader('User-Agent', 'JAVASDKAgent/1.0.0 XRoad/VPCP')
      req.setHeader('XroadVnpt-version', '3.0.201608')
      if (method === 'POST') req.setHeader('Content-Length', String(body?.length ?? 0))
      if (op === 'sendEdoc') {
        req.setHeader('Cache-Control', 'no-cache')
        req.setHeader('Pragma', 'no-cache')
        req.setHeader('Accept', 'text/html, image/gif, image/jpeg, */*; q=0.2')
      } else {
        req.setHeader('Accept-Encoding', 'gzip,deflate')
        req.setHeader('Connection', 'Keep-Alive')
      }
      req.on('error', reject)
      req.on('response', (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const raw = Buffer.concat(chunks)
          let json: VdxpAnswer['json']
          try {
            json = JSON.parse(raw.toString('utf8')) as VdxpAnswer['json']
          } catch {
            json = undefined
          }
          resolve({ httpStatus: res.statusCode ?? 0, contentType: res.headers['content-type'], raw, json })
        })
      })
      if (expectContinue && body != null) {
        // Apache HttpClient waits for 100 Continue before sending the body.
        req.setHeader('Expect', '100-continue')
        req.on('continue', () => req.end(body))
        req.flushHeaders()
      } else {
        req.end(body)
      }
    })
  }
}
