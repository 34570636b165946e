import { createHmac } from 'node:crypto'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { javaHashMapOrder } from '../vdxp/java-hashmap-order.js'
import { sdkHashFile } from '../vdxp/signed-headers.js'
import { UpstreamCallError, classifyVdxpFailure } from './upstream-errors.js'

/** Where and as whom this hub calls an upstream axis (the national axis, or another hub's /vdxp). */
export interface UpstreamAccount {
  /** Our name for the upstream (route targets say `upstreamId`). */
  id: string
  /** The SDK's endpoint: operations are `{endpoint}/{op}`; may carry a path prefix. */
  endpoint: string
  systemId: string
  /** Used as the SDK does: the HMAC key is the UTF-8 bytes of this string. */
  secret: string
}

export interface UpstreamTls {
  /** CAs the upstream's server certificate must chain to; default: Node's bundle. */
  ca?: Buffer
  /** A client certificate, when the upstream asks for one (mutual TLS). */
  cert?: Buffer
  key?: Buffer
}

export interface UpstreamClientOptions {
  /** The whole exchange (connect, send, answer); default 30 s. */
  timeoutMs?: number
  tls?: UpstreamTls
  /** Largest answer read (getEdoc carries a whole document in base64); default 80 MB. */
  maxAnswerBytes?: number
  now?: () => Date
}

/** One item of getReceivedEdocList (field names of the protocol; the axis's formats are unknown). */
export interface ReceivedItem {
  docId: string
  messageType: string | undefined
  from: string | undefined
  to: string | undefined
  status: string | undefined
}

/** One row of getSentEdocList: how the upstream sees a document we sent, per recipient. */
export interface SentItem {
  senderDocId: string | undefined
  toCode: string | undefined
  sendStatus: string | undefined
  sendStatusDesc: string | undefined
  receiveStatus: string | undefined
  receiveStatusDesc: string | undefined
  receivedTime: string | undefined
}

type Json = Record<string, unknown>

const DEFAULT_TIMEOUT_MS = 30_000
const DEFAULT_MAX_ANSWER = 80 * 1024 * 1024

/**
 * The client side of the VDXP wire protocol (shared/vdxp-protocol.md), as the official SDK speaks
 * it: parameters as `XroadVnpt-<key>` headers, signed by listing them in `XroadVnpt-sign-header`
 * (compact JSON in Java HashMap order) and sending the HMAC-SHA256 of exactly those bytes, keyed
 * with the secret's UTF-8 bytes. Unlike the SDK it keeps no header map between calls (each call
 * signs only its own parameters: a stale `docId` of an earlier call can never ride along) and
 * stamps each call with its own time (the protocol's servers accept either).
 *
 * Every failure is an UpstreamCallError saying whether trying again later can help.
 */
export class VdxpUpstreamClient {
  private readonly timeoutMs: number
  private readonly maxAnswerBytes: number
  private readonly now: () => Date

  constructor (readonly account: UpstreamAccount, private readonly options: UpstreamClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.maxAnswerBytes = options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER
    this.now = options.now ?? (() => new Date())
  }

  /**
   * The original signed bytes, unchanged (the SDK appends \r\n, and signs their unpadded-hex
   * SHA-256 as `hash-file`). Answers the upstream's id of the document.
   */
  async sendEdoc (edxml: Buffer, params: { from: string, messagetype: 'edoc' | 'status', to?: readonly string[] }): Promise<{ docId: string, answer: Json }> {
    const signed: Record<string, string> = {
      from: params.from,
      servicetype: 'eDoc',
      messagetype: params.messagetype,
      'hash-file': sdkHashFile(edxml),
      // The SDK sends `to` as JSON text; the axis's use of it is not documented (§6).
      ...(params.to != null && params.to.length > 0 ? { to: JSON.stringify(params.to.map((code) => ({ code }))) } : {})
    }
    const answer = await this.call('sendEdoc', 'POST', 'application/octet-stream', Buffer.concat([edxml, Buffer.from('\r\n')]), signed)
    const docId = text(answer.DocId)
    if (docId == null || docId === '') throw new UpstreamCallError('sendEdoc', 'the upstream answered success without a DocId', { retryable: true, answer: excerpt(answer) })
    return { docId, answer }
  }

  /** Documents (messagetype edoc) or status messages (status) waiting for this system's agencies. */
  async receivedList (messagetype: 'edoc' | 'status'): Promise<ReceivedItem[]> {
    const answer = await this.call('getReceivedEdocList', 'POST', 'application/json', Buffer.alloc(0), { servicetype: 'eDoc', messagetype })
    return listOf(answer, 'getReceivedEdocList').flatMap((item) => {
      const docId = text(item.docId)
      if (docId == null || docId === '') return []
      return [{ docId, messageType: text(item.messageType), from: text(item.from), to: text(item.to), status: text(item.status) }]
    })
  }

  /** The bytes of one received document (`data` is their base64). */
  async getEdoc (docId: string): Promise<Buffer> {
    const answer = await this.call('getEdoc', 'POST', 'application/json', Buffer.from('{}'), { docId })
    const data = text(answer.data)
    // Strict base64 (line breaks allowed): the SDK decodes garbage leniently, we refuse it.
    const compact = data?.replace(/\s+/g, '')
    if (compact == null || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) {
      throw new UpstreamCallError('getEdoc', `document ${docId}: data is not base64`, { retryable: false, answer: excerpt(answer) })
    }
    return Buffer.from(compact, 'base64')
  }

  /** The transport acknowledgement: done (we have it) or fail (we refused it). */
  async updateStatus (docId: string, status: 'done' | 'fail', reason?: string): Promise<void> {
    // Non-ASCII would reach the upstream as UTF-8 bytes, which some paths of the axis mangle:
    // the reason is a code and an English sentence of ours, kept to printable ASCII.
    const plain = reason?.replace(/[^\x20-\x7e]/g, '?').slice(0, 500)
    await this.call('updateStatus', 'POST', 'application/json', Buffer.from('{}'), { status, docId, ...(plain != null ? { reason: plain } : {}) })
  }

  /** The upstream's state of what this system sent (one document with `docId`). */
  async sentList (docId?: string): Promise<SentItem[]> {
    const answer = await this.call('getSentEdocList', 'POST', 'application/json', Buffer.alloc(0), { servicetype: 'eDoc', messagetype: 'edoc', ...(docId != null ? { docId } : {}) })
    return listOf(answer, 'getSentEdocList').map((item) => ({
      senderDocId: text(item.senderDocId),
      toCode: text(item.toCode),
      sendStatus: text(item.sendStatus),
      sendStatusDesc: text(item.sendStatusDesc),
      receiveStatus: text(item.receiveStatus),
      receiveStatusDesc: text(item.receiveStatusDesc),
      receivedTime: text(item.receivedTime)
    }))
  }

  /** The signed headers of one call: `XroadVnpt-*` pairs, the sign-header JSON and its HMAC. */
  signedHeaders (params: Record<string, string>, contentType: string): Record<string, string> {
    const values = new Map<string, string>([['systemid', this.account.systemId], ...Object.entries(params), ['timestamp', sdkTimestamp(this.now())], ['Content-Type', contentType]])
    const names = javaHashMapOrder([...values.keys()])
    const pairs = names.map((name): [string, string] => [`XroadVnpt-${name}`, values.get(name) as string])
    // gson's compact form; JSON.stringify escapes " and \ the same way and leaves non-ASCII as is.
    const signHeader = `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`
    const hmac = createHmac('sha256', Buffer.from(this.account.secret, 'utf8')).update(Buffer.from(signHeader, 'utf8')).digest('hex')
    // Header values go out as their UTF-8 bytes (what the SDK's sendEdoc sends, and its other
    // operations when the endpoint has no explicit port); Node writes a latin1 string byte for byte.
    const wire = (v: string): string => Buffer.from(v, 'utf8').toString('latin1')
    const headers: Record<string, string> = {}
    for (const [name, value] of pairs) headers[name] = wire(value)
    headers['XroadVnpt-sign-header-key'] = names.join(';')
    headers['XroadVnpt-sign-header'] = wire(signHeader)
    headers['XroadVnpt-hash-header'] = hmac
    return headers
  }

  private async call (op: string, method: 'POST', contentType: string, body: Buffer, params: Record<string, string>): Promise<Json> {
    const url = new URL(`${this.account.endpoint.replace(/\/+$/, '')}/${op}`)
    const headers: Record<string, string> = {
      ...this.signedHeaders(params, contentType),
      'Content-Type': contentType,
      'Content-Length': String(body.length),
      'User-Agent': 'lienthong-upstream/1 (JAVASDKAgent/1.0.0 XRoad/VPCP compatible)',
      'XroadVnpt-version': '3.0.201608'
    }
    let status: number
    let raw: Buffer
    try {
      ({ status, raw } = await this.exchange(url, method, headers, body))
    } catch (err) {
      if (err instanceof UpstreamCallError) throw err
      throw new UpstreamCallError(op, `${url.origin}: ${(err as Error).message}`, { retryable: true })
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(raw.toString('utf8'))
    } catch {
      parsed = undefined
    }
    if (parsed == null || typeof parsed !== 'object' || Array.isArray(parsed) || !('status' in parsed) || !('ErrorCode' in parsed)) {
      // Not a VDXP answer: a proxy's error page, a wrong endpoint path.
      const retryable = status >= 500 || status === 408 || status === 429
      throw new UpstreamCallError(op, `HTTP ${status}: not a VDXP answer: ${raw.toString('utf8', 0, 200)}`, { retryable, httpStatus: status })
    }
    const answer = parsed as Json
    const errorCode = String(answer.ErrorCode)
    if (answer.status === 'FAIL' || errorCode !== '0') {
      const failure = classifyVdxpFailure(errorCode, status)
      throw new UpstreamCallError(op, `HTTP ${status}: ErrorCode ${errorCode} ${text(answer.code) ?? ''} ${text(answer.ErrorDesc) ?? ''}`.replace(/\s+/g, ' ').trim(), {
        retryable: failure.retryable, httpStatus: status, errorCode, answer: excerpt(answer)
      })
    }
    return answer
  }

  /** One HTTP exchange; the timeout covers all of it, and answers beyond the cap are refused. */
  private async exchange (url: URL, method: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number, raw: Buffer }> {
    const tls = this.options.tls
    const send = url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : undefined
    if (send == null) throw new UpstreamCallError('call', `unsupported endpoint scheme ${url.protocol}`, { retryable: false })
    return await new Promise((resolve, reject) => {
      const req = send(url, {
        method,
        headers,
        ...(url.protocol === 'https:' && tls != null ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {})
      }, (res: IncomingMessage) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > this.maxAnswerBytes) {
            req.destroy(new Error(`answer larger than ${this.maxAnswerBytes} bytes`))
            return
          }
          chunks.push(chunk)
        })
        res.on('end', () => { clearTimeout(timer); resolve({ status: res.statusCode ?? 0, raw: Buffer.concat(chunks) }) })
        res.on('error', (err) => { clearTimeout(timer); reject(err) })
      })
      const timer = setTimeout(() => { req.destroy(new Error(`timed out after ${this.timeoutMs} ms`)) }, this.timeoutMs)
      req.on('error', (err) => { clearTimeout(timer); reject(err) })
      req.end(body)
    })
  }
}

/** ddMMyyyy'T'HHmmss+SSSS in local time; +SSSS is the milliseconds padded to 4, not a zone (§1). */
export function sdkTimestamp (at: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0')
  return `${p(at.getDate())}${p(at.getMonth() + 1)}${at.getFullYear()}T${p(at.getHours())}${p(at.getMinutes())}${p(at.getSeconds())}+${p(at.getMilliseconds(), 4)}`
}

function text (value: unknown): string | undefined {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined
}

function listOf (answer: Json, op: string): Json[] {
  if (!Array.isArray(answer.data)) throw new UpstreamCallError(op, 'success without a data list', { retryable: true, answer: excerpt(answer) })
  return answer.data.filter((item): item is Json => item != null && typeof item === 'object' && !Array.isArray(item))
}

/** The answer as kept for evidence, without a document's base64. */
function excerpt (answer: Json): string {
  const { data, ...rest } = answer
  return JSON.stringify(typeof data === 'string' ? { ...rest, data: `(${data.length} characters)` } : answer).slice(0, 2000)
}
