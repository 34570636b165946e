import fp from 'fastify-plugin'
import { errorCodes, type FastifyInstance, type FastifyRequest } from 'fastify'
import { HubProblem } from '../../errors/problem.js'
import { InFlightBudget, type Refusal } from '../limits/in-flight-budget.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Reserves more body bytes for this request (chunked uploads); released when the answer is sent. */
    reserveBodyBytes: ((bytes: number) => Refusal | undefined) | undefined
  }
}

export interface RawBodyOptions {
  maxBytes: number
  /** Longest pause between two chunks of a body before the request is answered 408 and closed. */
  bodyIdleMs: number
  budget: InFlightBudget
}

/** The problem for a reservation the in-flight budget refused. */
export function inFlightProblem (refusal: Refusal): HubProblem {
  return new HubProblem('IN_FLIGHT_LIMIT', refusal === 'credential'
    ? 'this credential already has as many request bytes in progress as the hub allows (LIENTHONG_INFLIGHT_BYTES_PER_CREDENTIAL); retry when they are answered'
    : 'the hub already has as many request bytes in progress as it allows (LIENTHONG_INFLIGHT_BYTES); retry later', { retryAfterSeconds: refusal === 'credential' ? 5 : 2 })
}

/**
 * edXML is taken as raw bytes (never parsed by Fastify): the verifier must see exactly what the
 * sender signed. By the time a body is read the caller is authenticated (its scope's onRequest
 * hook, scopes/register-scopes.ts). Then, before a byte is read (preParsing): the size cap from Content-Length
 * (413), and the declared bytes are reserved against the in-flight budget, overall and per
 * credential (503 IN_FLIGHT_LIMIT + Retry-After when they do not fit), held until the answer is
 * sent. Chunked uploads reserve as they grow. A body that pauses longer than `bodyIdleMs` is
 * answered 408 REQUEST_TIMEOUT and its connection closed (slowloris).
 *
 * The body is read into memory allocated once from Content-Length, a SharedArrayBuffer: pages are
 * touched chunk by chunk as they arrive instead of all at once by a final concat (a fresh 50 MB
 * buffer costs ~250 ms of page faults on a small VM, during which the event loop stands still),
 * and the verification thread reads the same memory instead of a copy (verification-pool.ts).
 * Nobody writes to it after this parser: the bytes that are verified are the bytes that are
 * stored.
 */
export default fp(async function rawBody (app: FastifyInstance, options: RawBodyOptions) {
  const { budget } = options
  app.decorateRequest('reserveBodyBytes', undefined)

  app.addHook('preParsing', async (request, reply, payload) => {
    const header = request.headers['content-length']
    const declared = header == null ? 0 : Number(header)
    const chunked = request.headers['transfer-encoding'] != null
    if (!chunked && !(declared > 0)) return payload
    // The size cap (the route's bodyLimit where it has a smaller one), before a byte is read.
    if (declared > (request.routeOptions.bodyLimit ?? options.maxBytes)) throw new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE()
    const credential = request.credential ?? `ip:${request.ip}`
    let reserved = 0
    const reserve = (bytes: number): Refusal | undefined => {
      const refused = budget.reserve(credential, bytes)
      if (refused == null) reserved += bytes
      return refused
    }
    let released = false
    reply.raw.once('close', () => {
      if (released) return
      released = true
      budget.release(credential, reserved)
      reserved = 0
    })
    const bound = Math.min(Number.isSafeInteger(declared) ? declared : 0, request.routeOptions.bodyLimit ?? options.maxBytes)
    const refused = reserve(bound)
    if (refused != null) throw inFlightProblem(refused)
    request.reserveBodyBytes = reserve
    // Every body, JSON ones too: a pause longer than bodyIdleMs ends the request.
    idleTimeout(request, payload, options.bodyIdleMs)
    return payload
  })

  const parser = (request: FastifyRequest, payload: NodeJS.ReadableStream & { receivedEncodedLength?: number }, done: (err: Error | null, body?: Buffer) => void): void => {
    const header = request.headers['content-length']
    const declared = header == null ? undefined : Number(header)
    if (declared != null && declared > options.maxBytes) {
      done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE())
      return
    }
    const known = declared != null && Number.isSafeInteger(declared) && declared >= 0
    const target = known ? Buffer.from(new SharedArrayBuffer(declared)) : undefined
    const chunks: Buffer[] = []
    let received = 0
    let finished = false
    const finish = (err: Error | null, body?: Buffer): void => {
      if (finished) return
      finished = true
      payload.removeListener('data', onData)
      payload.removeListener('end', onEnd)
      payload.removeListener('error', onError)
      done(err, body)
    }
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      if (received + bytes.length > options.maxBytes || (payload.receivedEncodedLength ?? 0) > options.maxBytes) {
        finish(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE())
        return
      }
      if (target != null) {
        if (received + bytes.length > target.length) {
          finish(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH())
          return
        }
        bytes.copy(target, received)
      } else {
        // Chunked: no declared size was reserved; reserve what arrives (twice: the final copy).
        const refused = request.reserveBodyBytes?.(2 * bytes.length)
        if (refused != null) {
          finish(inFlightProblem(refused))
          return
        }
        chunks.push(bytes)
      }
      received += bytes.length
    }
    const onEnd = (): void => {
      if (target != null) {
        if (received !== target.length) finish(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH())
        else finish(null, target)
        return
      }
      // Chunked upload: one copy into shared memory at the end.
      const body = Buffer.from(new SharedArrayBuffer(received))
      let at = 0
      for (const c of chunks) at += c.copy(body, at)
      finish(null, body)
    }
    const onError = (err: Error & { statusCode?: number }): void => {
      if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400
      finish(err)
    }
    payload.on('data', onData)
    payload.on('end', onEnd)
    payload.on('error', onError)
    payload.resume()
  }
  app.addContentTypeParser(['application/xml', 'text/xml', 'application/octet-stream', 'application/edxml+xml'], parser)
}, { name: 'raw-body' })

/**
 * Ends a body stream with a 408 REQUEST_TIMEOUT error when no chunk arrives for `ms` (the
 * parser answers it; the problem handler closes the connection, the body being unread).
 */
function idleTimeout (request: FastifyRequest, payload: NodeJS.ReadableStream, ms: number): void {
  let timer: NodeJS.Timeout | undefined
  const stop = (): void => {
    if (timer != null) clearTimeout(timer)
    timer = undefined
  }
  const arm = (): void => {
    stop()
    timer = setTimeout(() => {
      timer = undefined
      request.log.info({ bodyIdleMs: ms }, 'request body stalled; answering 408 and closing the connection')
      const err = new HubProblem('REQUEST_TIMEOUT', `no part of the request body arrived for ${ms} ms (LIENTHONG_BODY_TIMEOUT_MS)`)
      payload.emit('error', err)
    }, ms)
    timer.unref()
  }
  arm()
  payload.on('data', arm)
  payload.once('end', stop)
  payload.once('error', stop)
  payload.once('close', stop)
  request.raw.once('close', stop)
}
