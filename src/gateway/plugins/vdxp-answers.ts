import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify'
import { HubProblem, problemStatus } from '../../errors/problem.js'
import { bodyUnread, classifyError } from './problem-handler.js'
import { failForProblem, failForRule, VdxpFailure, vdxpJson, type VdxpBody } from '../../vdxp/vdxp-answer.js'

/** JSON bodies the SDK sends (`{}`, registerAgency's object) are small. */
export const VDXP_JSON_LIMIT = 64 * 1024

/**
 * The /vdxp scope's wire format (docs/vdxp-compat.md): every answer, errors included, is the VDXP
 * JSON object {status, ErrorCode, ErrorDesc, ...} with non-ASCII escaped, never problem+json;
 * sendEdoc answers always carry DocId (without it the SDK reads every field as null).
 * The edXML body of sendEdoc (application/octet-stream) is read by the gateway's raw-body parser,
 * inherited from the root: the same size cap (LIENTHONG_MAX_BYTES) and in-flight budget as /v1.
 */
export function vdxpScopeSetup (scoped: FastifyInstance): void {
  // Every Apache-path request says application/json, the bodyless ones included (Content-Length:
  // 0): Fastify's own parser would refuse those as an empty JSON body.
  scoped.removeContentTypeParser('application/json')
  scoped.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: VDXP_JSON_LIMIT }, (_request, text, done) => {
    const body = text as string
    if (body.trim() === '') {
      done(null, undefined)
      return
    }
    try {
      done(null, JSON.parse(body))
    } catch {
      done(new HubProblem('BAD_REQUEST', 'the body is not JSON'), undefined)
    }
  })
  scoped.setErrorHandler(async (error: FastifyError | HubProblem | VdxpFailure, request, reply) => {
    let body: VdxpBody
    let status: number
    let retryAfter: unknown
    if (error instanceof VdxpFailure) {
      body = failForRule(error.rule, { detail: error.detail })
      status = error.status
    } else {
      const { code, detail, extra } = classifyError(error, request)
      body = failForProblem(code, { detail, ...extra })
      status = problemStatus(code)
      retryAfter = extra.retryAfterSeconds
    }
    if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter))
    if (bodyUnread(request)) reply.header('connection', 'close')
    return await sendVdxp(reply.code(status), withDocId(request, { ...body, requestId: request.id }))
  })
}

/** sendEdoc's answer always has DocId (the SDK nulls every field without it). */
function withDocId (request: FastifyRequest, body: VdxpBody): VdxpBody {
  return request.routeOptions.url?.endsWith('/sendEdoc') === true && !('DocId' in body) ? { ...body, DocId: '' } : body
}

export async function sendVdxp (reply: import('fastify').FastifyReply, body: VdxpBody): Promise<import('fastify').FastifyReply> {
  return await reply.type('application/json; charset=utf-8').send(vdxpJson(body))
}
