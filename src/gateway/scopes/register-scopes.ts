import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { HubProblem } from '../../errors/problem.js'
import type { HubContext } from '../hub-context.js'
import { FailureCounter } from '../limits/failure-counter.js'
import { presentsCredential } from './credential-presence.js'
import type { GatewayScope } from './scope.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The failed-authentication budget per client address, shared by every scope. A route that
     * checks a credential itself (POST /api/session, a password) counts its failures here too.
     */
    authFailures: FailureCounter
  }
}

/** Failed authentications per client address per minute when the context does not say. */
export const DEFAULT_AUTH_FAILURES_PER_MINUTE = 30

export interface ScopesOptions {
  context: HubContext
  scopes: readonly GatewayScope[]
  /** The scope whose credential an unknown route outside every prefix asks for (401, then 404). */
  unknownRoutes: string
}

/**
 * Registers each scope as an encapsulated plugin under its prefix; an authenticated scope gets
 * an onRequest hook, so every route it holds is authenticated before a byte of the body is read
 * (no body parsed, no memory reserved, nothing logged for a caller without a credential).
 *
 * Failed authentications are counted per client address, across all scopes; past
 * LIENTHONG_AUTH_FAILURES_PER_MINUTE a failure from the address gets 429 RATE_LIMITED, until the
 * minute ends. A request presenting no credential at all is answered 401 and not counted.
 *
 * An unknown route asks for credentials first (the scope its URL falls under, else
 * `unknownRoutes`): which routes exist is not disclosed to a caller without a credential.
 */
export async function registerScopes (app: FastifyInstance, options: ScopesOptions): Promise<void> {
  const { context, scopes } = options
  const failures = new FailureCounter(context.authFailuresPerMinute ?? DEFAULT_AUTH_FAILURES_PER_MINUTE)
  const fallback = scopes.find((s) => s.name === options.unknownRoutes)
  if (fallback?.enter == null) throw new Error(`unknownRoutes: no authenticated scope named ${options.unknownRoutes}`)

  // The budget limits FAILURES only: the credential is always checked first, and a valid one is
  // served whatever others did from the same address. Refusing valid callers once the address
  // was exhausted let anyone lock every agency out behind a shared proxy or NAT (all clients
  // have the proxy's address), with 30 junk requests a minute (outsider review, finding A1).
  // Past the budget a failure answers 429 instead of 401, so a guesser learns nothing more and
  // is told to slow down.
  const admit = async (enter: NonNullable<GatewayScope['enter']>, request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const address = request.ip
    try {
      request.credential = await enter(request)
      // The server holds `Expect: 100-continue` back (app.ts, checkContinue): only an
      // authenticated caller is invited to send its body (outsider review, finding A6).
      if (/^100-continue$/i.test(request.headers.expect ?? '') && !reply.raw.headersSent) reply.raw.writeContinue()
    } catch (err) {
      if (!(err instanceof HubProblem && err.code === 'UNAUTHENTICATED')) throw err
      // Nothing presented, nothing guessed: 401, and the budget is left to real failures
      // (credential-presence.ts), also once the address has spent it.
      if (!presentsCredential(request)) throw err
      if (failures.exhausted(address)) {
        throw new HubProblem('RATE_LIMITED', 'too many failed authentications from this address; retry later', { retryAfterSeconds: failures.retryAfterSeconds() })
      }
      failures.fail(address)
      throw err
    }
  }

  app.decorateRequest('credential', undefined)
  app.decorate('authFailures', failures)
  for (const scope of scopes) scope.decorate?.(app)

  // The not-found handler lives on the root instance, outside every scope's hooks.
  app.addHook('onRequest', async (request, reply) => {
    if (!request.is404) return
    const scope = scopeFor(scopes, request.url) ?? fallback
    if (scope.enter != null) await admit(scope.enter, request, reply)
  })

  for (const scope of scopes) {
    await app.register(async (scoped) => {
      scoped.addHook('onRoute', (route) => { route.config = { ...route.config, scope: scope.name } })
      await scope.setup?.(scoped)
      const enter = scope.enter
      if (enter != null) scoped.addHook('onRequest', async (request, reply) => { await admit(enter, request, reply) })
      for (const routes of scope.routes) await scoped.register(routes, { context })
    }, { prefix: scope.prefix })
  }
}

function scopeFor (scopes: readonly GatewayScope[], url: string): GatewayScope | undefined {
  const path = url.split('?', 1)[0] as string
  return scopes
    .filter((s) => s.prefix !== '' && (path === s.prefix || path.startsWith(`${s.prefix}/`)))
    .sort((a, b) => b.prefix.length - a.prefix.length)[0]
}
