import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance } from 'fastify'
import type { FastifyRequest } from 'fastify'
import { isUnavailableError, UNAVAILABLE_RETRY_AFTER_SECONDS } from '../../db/unavailable.js'
import { HubProblem, problemBody, type ProblemCode } from '../../errors/problem.js'

export interface ProblemHandlerOptions {
  /**
   * A document refused by the size cap before its body was read (Content-Length): records the
   * refusal (signature log) and returns what to add to the problem (its log entry id). Failures
   * here never change the 413.
   */
  onDocumentTooLarge?: (request: FastifyRequest) => Promise<Record<string, unknown>>
}

/**
 * One global handler: domain errors (HubProblem) keep their code; Fastify's own errors are mapped
 * to stable codes; a dependency outage (src/db/unavailable.ts) is 503 UNAVAILABLE + Retry-After;
 * anything else is a 500 whose internals stay in the log, not in the answer.
 */
export default fp(async function problemHandler (app: FastifyInstance, options: ProblemHandlerOptions) {
  app.setErrorHandler(async (error: FastifyError | HubProblem, request, reply) => {
    let code: ProblemCode
    let detail: string
    let extra: Record<string, unknown> = {}
    if (error instanceof HubProblem) {
      code = error.code
      detail = error.detail
      extra = error.extra
    } else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) {
      code = 'PAYLOAD_TOO_LARGE'
      detail = 'the document is larger than the configured size cap'
      if (request.method === 'POST' && request.routeOptions.url === '/v1/documents' && options.onDocumentTooLarge != null) {
        extra = await options.onDocumentTooLarge(request).catch((err: unknown) => {
          request.log.error({ err }, 'could not log a refusal by the size cap')
          return {}
        })
      }
    } else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || error.statusCode === 415) {
      code = 'UNSUPPORTED_MEDIA_TYPE'
      detail = 'send the edXML bytes as application/xml or application/octet-stream'
    } else if (error.validation != null || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || error.statusCode === 400) {
      code = 'BAD_REQUEST'
      detail = error.message
    } else if (error.statusCode === 429) {
      code = 'RATE_LIMITED'
      detail = error.message
    } else if (isUnavailableError(error)) {
      // PostgreSQL (or Redis, where the request needs it) unreachable: a transient outage, not a
      // defect. The request's transaction did not commit (or committed whole: a retry is answered
      // as a duplicate); the client retries after Retry-After.
      request.log.warn({ err: error }, 'dependency unavailable')
      code = 'UNAVAILABLE'
      detail = 'the hub cannot reach its database or queue right now; retry after the Retry-After delay'
      extra = { retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS }
    } else {
      request.log.error({ err: error }, 'unhandled error')
      code = 'INTERNAL'
      detail = 'an internal error occurred; the request id identifies it in the hub log'
    }
    const body = problemBody(code, detail, { ...extra, requestId: request.id }, request.url)
    if (typeof extra.retryAfterSeconds === 'number') reply.header('retry-after', String(extra.retryAfterSeconds))
    // Answered before its body was read (401, 413, 408, 503...): the connection is closed after
    // the answer instead of reading (and discarding) the rest of what the client declared.
    if (bodyUnread(request)) reply.header('connection', 'close')
    return await reply.code(body.status).type('application/problem+json').send(body)
  })
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).type('application/problem+json').send(problemBody('NOT_FOUND', `no route ${request.method} ${request.url}`, { requestId: request.id }, request.url))
  })
}, { name: 'problem-handler' })

/** The request declared a body that has not been received completely. */
export function bodyUnread (request: FastifyRequest): boolean {
  if (request.raw.complete) return false
  const length = request.headers['content-length']
  return request.headers['transfer-encoding'] != null || (length != null && length !== '0')
}
