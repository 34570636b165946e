import type { TLSSocket } from 'node:tls'
import type { FastifyRequest } from 'fastify'
import { authenticateApiKey, authenticateClientCertificate, type AuthenticatedAgency } from '../../store/credentials.js'
import type { Queryable } from '../../db/database.js'
import { HubProblem } from '../../errors/problem.js'
import type { Authenticator } from './scope.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The agency a request authenticated as, inside the agency scopes (read it with agencyOf). */
    agency: AuthenticatedAgency | undefined
  }
}

/**
 * Agency systems authenticate with `Authorization: Bearer <api key>` or, on HTTPS, with a TLS
 * client certificate registered to their agency.
 */
export function agencyAuthenticator (db: Queryable): Authenticator<AuthenticatedAgency> {
  return {
    resolve: async (request) => {
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
    },
    // However the client spells its Authorization header, one key: the resolved credential.
    credentialKey: (agency) => `agency:${agency.agencyCode}:${agency.credentialId}`,
    attach: (request, agency) => { request.agency = agency },
    decorate: (app) => { if (!app.hasRequestDecorator('agency')) app.decorateRequest('agency', undefined) }
  }
}

/**
 * The authenticated agency of a request in an agency scope. The scope's onRequest hook has set
 * it before any handler runs; its absence means the route was registered outside the scope (a
 * programming error, never the caller's).
 */
export function agencyOf (request: FastifyRequest): AuthenticatedAgency {
  if (request.agency == null) throw new Error(`no authenticated agency on ${request.method} ${request.routeOptions.url ?? request.url}: the route is not in an agency scope`)
  return request.agency
}
