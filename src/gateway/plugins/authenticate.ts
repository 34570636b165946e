import fp from 'fastify-plugin'
import type { TLSSocket } from 'node:tls'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { authenticateApiKey, authenticateClientCertificate, type AuthenticatedAgency } from '../../store/credentials.js'
import { HubProblem } from '../problem.js'
import type { HubContext } from '../hub-context.js'

declare module 'fastify' {
  interface FastifyRequest {
    agency: AuthenticatedAgency | undefined
  }
  interface FastifyInstance {
    requireAgency: (request: FastifyRequest) => Promise<AuthenticatedAgency>
  }
}

/**
 * Agency systems authenticate with `Authorization: Bearer <api key>` or, on HTTPS, with a TLS
 * client certificate registered to their agency. Deny by default: routes call requireAgency().
 */
export default fp(async function authenticate (app: FastifyInstance, options: { context: HubContext }) {
  const { db } = options.context
  app.decorateRequest('agency', undefined)
  app.decorate('requireAgency', async (request: FastifyRequest): Promise<AuthenticatedAgency> => {
    if (request.agency != null) return request.agency
    const header = request.headers.authorization
    let agency: AuthenticatedAgency | undefined
    if (header != null) {
      const match = /^Bearer\s+(\S+)$/i.exec(header)
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
    request.agency = agency
    return agency
  })
}, { name: 'authenticate' })
