import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Queryable } from '../../db/database.js'
import type { Principal } from '../../domain/principal.js'
import { HubProblem } from '../../errors/problem.js'
import { resolveSession, type SessionTimes } from '../../store/user-sessions.js'
import { csrfTokenFor, DEFAULT_SESSION_TIMES, readCookie, sameOrigin, SESSION_COOKIE } from './principal-authenticator.js'
import type { Authenticator } from './scope.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The console session's CSRF token (for the forms of the page being rendered). */
    consoleCsrf: string | undefined
  }
}

/** The hidden form field that carries the CSRF token in the console's forms. */
export const CSRF_FIELD = '_csrf'

type ConsoleCaller = Principal & { csrf: string }

/**
 * The console pages authenticate by the session cookie only (a personal token is for scripts
 * and the /api scope). Headers only, in onRequest; the CSRF check of a form needs its body and
 * so runs later (assertConsoleCsrf, in a preHandler of the scope).
 */
export function consoleAuthenticator (db: Queryable, times: SessionTimes = DEFAULT_SESSION_TIMES): Authenticator<ConsoleCaller> {
  return {
    resolve: async (request) => {
      const secret = readCookie(request.headers.cookie, SESSION_COOKIE)
      if (secret == null) throw new HubProblem('UNAUTHENTICATED', 'sign in at /console/login')
      const principal = await resolveSession(db, secret, times)
      if (principal == null) throw new HubProblem('UNAUTHENTICATED', 'the session has ended (expired, logged out or user disabled): sign in again at /console/login')
      return { ...principal, csrf: csrfTokenFor(secret) }
    },
    credentialKey: (caller) => `user:${caller.userId}:session`,
    attach: (request, caller) => {
      const { csrf, ...principal } = caller
      request.principal = principal
      request.consoleCsrf = csrf
    },
    decorate: (app: FastifyInstance) => {
      if (!app.hasRequestDecorator('principal')) app.decorateRequest('principal', undefined)
      if (!app.hasRequestDecorator('consoleCsrf')) app.decorateRequest('consoleCsrf', undefined)
    }
  }
}

/**
 * A state-changing console form must come from the hub's own pages (Origin / Sec-Fetch-Site)
 * and carry the session's CSRF token in its hidden field: the synchronizer token of
 * docs/accounts.md, sent as a form field because a plain HTML form cannot set a header.
 */
export function assertConsoleCsrf (request: FastifyRequest): void {
  if (request.method === 'GET' || request.method === 'HEAD') return
  if (!sameOrigin(request)) throw new HubProblem('FORBIDDEN', 'a console form must be sent from the hub\'s own pages', { csrf: true })
  const body = request.body as Record<string, unknown> | undefined
  const given = typeof body?.[CSRF_FIELD] === 'string' ? body[CSRF_FIELD] : ''
  const expected = Buffer.from(request.consoleCsrf ?? '')
  const actual = Buffer.from(given)
  if (expected.length === 0 || actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new HubProblem('FORBIDDEN', 'the form\'s CSRF token is missing or not this session\'s: reload the page', { csrf: true })
  }
}
