import fp from 'fastify-plugin'
import type { TLSSocket } from 'node:tls'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { authenticateApiKey, authenticateClientCertificate, type AuthenticatedAgency } from '../../store/credentials.js'
import { HubProblem } from '../problem.js'
import type { HubContext } from '../hub-context.js'
import { FailureCounter } from '../limits/failure-counter.js'

declare module 'fastify' {
  interface FastifyRequest {
    agency: AuthenticatedAgency | undefined
  }
  interface FastifyInstance {
    requireAgency: (request: FastifyRequest) => Promise<AuthenticatedAgency>
  }
  interface FastifyContextConfig {
    /** The route answers without an agency credential (health, OpenAPI; /metrics has its own token). */
    public?: boolean
  }
}

/** Failed authentications per client address per minute when the context does not say. */
export const DEFAULT_AUTH_FAILURES_PER_MINUTE = 30

/**
 * Agency systems authenticate with `Authorization: Bearer <api key>` or, on HTTPS, with a TLS
 * client certificate registered to their agency. Deny by default: every route that is not marked
 * `config.public` is authenticated in onRequest, before a byte of the body is read (no body is
 * parsed, no memory reserved, nothing logged for a caller without a credential). Routes call
 * requireAgency() for the agency (already resolved by then).
 *
 * Failed authentications are counted per client address; past LIENTHONG_AUTH_FAILURES_PER_MINUTE
 * the address gets 429 RATE_LIMITED without its credential being looked at, until the minute ends.
 */
export default fp(async function authenticate (app: FastifyInstance, options: { context: HubContext }) {
  const { db } = options.context
  const failures = new FailureCounter(options.context.authFailuresPerMinute ?? DEFAULT_AUTH_FAILURES_PER_MINUTE)
  app.decorateRequest('agency', undefined)

  const resolve = async (request: FastifyRequest): Promise<AuthenticatedAgency> => {
    const header = request.headers.authorization
    let agency: AuthenticatedAgency | undefined
    if (header != null) {
      const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
      if (match == null) throw new HubProblem('UNAUTHENTICATED', 'the Authorization header must be "Bearer <api key>"')
      agency = await authenticateApiKey(db, match[1] as string)
      if (agency == null) throw new HubProblem('UNAUTHENTICATED', 'the API key is unknown or revoked')
    } else {
      const socket = request.raw.socket as Partial<TLSSocket>
      if (typeof socket.getPeerCertificate === 'function' && socket.authorized === true) {
        const peer = socket.getPeerCertificate()
        if (peer?.fingerprint256 != null) agency = await authenticateClientCertificate(db, peer.fingerprint256)
        if (agency == null) throw new HubProblem('UNAUTHENTICATED', 'the TLS client certificate is not registered to any agency')
      }
    }
    if (agency == null) throw new HubProblem('UNAUTHENTICATED', 'send an API key (Authorization: Bearer) or a registered TLS client certificate')
    return agency
  }

  const requireAgency = async (request: FastifyRequest): Promise<AuthenticatedAgency> => {
    if (request.agency != null) return request.agency
    const address = request.ip
    if (failures.exhausted(address)) {
      throw new HubProblem('RATE_LIMITED', 'too many failed authentications from this address; retry later', { retryAfterSeconds: failures.retryAfterSeconds() })
    }
    try {
      request.agency = await resolve(request)
    } catch (err) {
      if (err instanceof HubProblem && err.code === 'UNAUTHENTICATED') failures.fail(address)
      throw err
    }
    return request.agency
  }
  app.decorate('requireAgency', requireAgency)

  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config?.public === true) return
    await requireAgency(request)
  })
}, { name: 'authenticate' })
