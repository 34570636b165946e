import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { HubContext } from '../hub-context.js'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The key of the credential the request authenticated with (set by its scope's
     * authenticator): the rate limit and the in-flight byte budget count per credential.
     * Undefined on public routes and before authentication.
     */
    credential: string | undefined
  }
  interface FastifyContextConfig {
    /** The scope the route was registered in (set by the scope itself; checked at startup). */
    scope?: string
  }
}

/** A route family's plugin: its routes, relative to the scope's prefix. */
export type RoutePlugin = FastifyPluginAsync<{ context: HubContext }>

/**
 * How callers of one scope prove who they are (agency API key or client certificate, later a
 * VDXP HMAC, a console session cookie...). Reads headers and the TLS peer only, never the body:
 * it runs in onRequest, before a byte of the body is read.
 */
export interface Authenticator<P> {
  /** Who is calling, or a HubProblem UNAUTHENTICATED (counted against the caller's address). */
  resolve: (request: FastifyRequest) => Promise<P>
  /** The credential's key: one rate-limit and in-flight budget per credential, across scopes. */
  credentialKey: (principal: P) => string
  /** Keeps the principal where the scope's handlers read it (e.g. request.agency via agencyOf). */
  attach: (request: FastifyRequest, principal: P) => void
  /** Declares the request property attach() sets, on the root instance. Idempotent. */
  decorate: (app: FastifyInstance) => void
}

/**
 * A route family under one prefix, with who may enter it. Everything a scope registers is behind
 * its authenticator (an onRequest hook of the encapsulated scope): no handler checks credentials.
 */
export interface GatewayScope {
  readonly name: string
  /** '' or a path prefix such as '/v1' (no trailing slash). */
  readonly prefix: string
  /** Authenticates a request entering the scope and returns its credential key; absent: public. */
  readonly enter?: (request: FastifyRequest) => Promise<string>
  readonly decorate?: (app: FastifyInstance) => void
  /**
   * Runs first inside the scope's encapsulated instance, before its authentication hook: a family
   * with its own wire format (VDXP) sets its error handler and body parsers here, so even its
   * authentication failures answer in that format.
   */
  readonly setup?: (scoped: FastifyInstance) => void | Promise<void>
  readonly routes: readonly RoutePlugin[]
}

/** A scope whose every route requires the authenticator's credential. */
export function authenticatedScope<P> (spec: { name: string, prefix: string, authenticator: Authenticator<P>, routes: readonly RoutePlugin[], setup?: GatewayScope['setup'] }): GatewayScope {
  const { authenticator } = spec
  return {
    name: spec.name,
    prefix: spec.prefix,
    routes: spec.routes,
    ...(spec.setup != null ? { setup: spec.setup } : {}),
    decorate: authenticator.decorate,
    enter: async (request) => {
      const principal = await authenticator.resolve(request)
      authenticator.attach(request, principal)
      return authenticator.credentialKey(principal)
    }
  }
}

/**
 * A scope whose routes answer without a credential (health, the OpenAPI document, /metrics with
 * its own token). Kept to an explicit list: test/gateway/route-auth.test.ts pins it.
 */
export function publicScope (spec: { name: string, prefix?: string, routes: readonly RoutePlugin[] }): GatewayScope {
  return { name: spec.name, prefix: spec.prefix ?? '', routes: spec.routes }
}
