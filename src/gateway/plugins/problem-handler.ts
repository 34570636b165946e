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
    const classified = classifyError(error, request)
    const { code, detail } = classified
    let extra = classified.extra
    if (code === 'PAYLOAD_TOO_LARGE' && request.method === 'POST' && request.routeOptions.url === '/v1/documents' && options.onDocumentTooLarge != null) {
      extra = await options.onDocumentTooLarge(request).catch((err: unknown) => {
        request.log.error({ err }, 'could not log a refusal by the size cap')
        return {}
      })
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

/**
 * The stable code of any error a handler or hook raised: domain errors (HubProblem) keep theirs;
 * Fastify's own errors are mapped; a dependency outage (src/db/unavailable.ts) is UNAVAILABLE +
 * Retry-After; anything else is INTERNAL, its internals logged, not answered. Shared by the
 * problem+json handler and the /vdxp scope's own answer format.
 */
export function classifyError (error: FastifyError | HubProblem, request: FastifyRequest): { code: ProblemCode, detail: string, extra: Record<string, unknown> } {
  if (error instanceof HubProblem) return { code: error.code, detail: error.detail, extra: error.extra }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) {
    return { code: 'PAYLOAD_TOO_LARGE', detail: 'the document is larger than the configured size cap', extra: {} }
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || error.statusCode === 415) {
    return { code: 'UNSUPPORTED_MEDIA_TYPE', detail: 'send the edXML bytes as application/xml or application/octet-stream', extra: {} }
  }
  if (error.validation != null || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || error.statusCode === 400) {
    return { code: 'BAD_REQUEST', detail: error.message, extra: {} }
  }
  if (error.statusCode === 429) return { code: 'RATE_LIMITED', detail: error.message, extra: {} }
  if (isUnavailableError(error)) {
    // PostgreSQL (or Redis, where the request needs it) unreachable: a transient outage, not a
    // defect. The request's transaction did not commit (or committed whole: a retry is answered
    // as a duplicate); the client retries after Retry-After.
    request.log.warn({ err: error }, 'dependency unavailable')
    return {
      code: 'UNAVAILABLE',
      detail: 'the hub cannot reach its database or queue right now; retry after the Retry-After delay',
      extra: { retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS }
    }
  }
  request.log.error({ err: error }, 'unhandled error')
  return { code: 'INTERNAL', detail: 'an internal error occurred; the request id identifies it in the hub log', extra: {} }
}

/** The request declared a body that has not been received completely. */
export function bodyUnread (request: FastifyRequest): boolean {
  if (request.raw.complete) return false
  const length = request.headers['content-length']
  return request.headers['transfer-encoding'] != null || (length != null && length !== '0')
}
