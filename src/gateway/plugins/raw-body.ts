import fp from 'fastify-plugin'
import { errorCodes, type FastifyInstance, type FastifyRequest } from 'fastify'

/**
 * edXML is taken as raw bytes (never parsed by Fastify): the verifier must see exactly what the
 * sender signed. The size cap is enforced from Content-Length before the body is read (413), and
 * while streaming for chunked uploads.
 *
 * The body is read into memory allocated once from Content-Length, a SharedArrayBuffer: pages are
 * touched chunk by chunk as they arrive instead of all at once by a final concat (a fresh 50 MB
 * buffer costs ~250 ms of page faults on a small VM, during which the event loop stands still),
 * and the verification thread reads the same memory instead of a copy (verification-pool.ts).
 * Nobody writes to it after this parser: the bytes that are verified are the bytes that are
 * stored.
 */
export default fp(async function rawBody (app: FastifyInstance, options: { maxBytes: number }) {
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
