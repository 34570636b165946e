import { createHmac, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { Queryable } from '../../db/database.js'
import type { Principal } from '../../domain/principal.js'
import { HubProblem } from '../../errors/problem.js'
import { resolveSession, type SessionTimes } from '../../store/user-sessions.js'
import { authenticateUserToken } from '../../store/user-tokens.js'
import type { Authenticator } from './scope.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The person calling, inside the /api scope (read it with principalOf, scopes/role-guard.ts). */
    principal: Principal | undefined
  }
}

/** The console's session cookie (http-only, SameSite=Strict; Secure over TLS). */
export const SESSION_COOKIE = 'lienthong_session'
/** The header carrying the session's CSRF token on every state-changing request made with the cookie. */
export const CSRF_HEADER = 'x-csrf-token'

/** Idle and absolute session lifetimes when the context does not say (LIENTHONG_SESSION_*). */
export const DEFAULT_SESSION_TIMES: SessionTimes = { idleMs: 30 * 60_000, absoluteMs: 12 * 3_600_000 }

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** A principal and the credential that proved it (one rate-limit budget per credential). */
type Caller = Principal & { credentialId: string }

/**
 * The CSRF token of a session: an HMAC keyed with the session secret. Only a holder of the
 * cookie (the browser, which never lets another site's script read it: http-only) or of a
 * response of this origin (GET /api/session, unreadable cross-origin) knows it, and nothing more
 * has to be stored: the server recomputes it from the cookie it is sent.
 */
export function csrfTokenFor (sessionSecret: string): string {
  return createHmac('sha256', sessionSecret).update('lienthong csrf v1').digest('base64url')
}

/** How many times a cookie is named in a Cookie header. */
export function cookieCount (header: string | undefined, name: string): number {
  if (header == null) return 0
  return header.split(';').filter((part) => { const eq = part.indexOf('='); return eq > 0 && part.slice(0, eq).trim() === name }).length
}

/** The value of one cookie in a Cookie header, or undefined. */
export function readCookie (header: string | undefined, name: string): string | undefined {
  if (header == null) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/**
 * Whether a browser request comes from the hub's own pages. Browsers send Origin on every
 * cross-origin request and on same-origin POST/PUT/PATCH/DELETE, and Sec-Fetch-Site on all
 * requests; either naming another site is refused. Absent both (a script, curl), the CSRF token
 * alone decides. The host is compared, not the scheme: behind a TLS-terminating proxy the hub
 * sees http while the browser says https.
 */
export function sameOrigin (request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site']
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return false
  const origin = request.headers.origin
  if (origin == null) return true
  try {
    return origin !== 'null' && new URL(origin).host === request.headers.host
  } catch {
    return false
  }
}

// FORBIDDEN with `csrf: true` (not a code of its own: the one catalogue is shared with the VDXP
// answers, where a cookie never appears). The console reloads its token on seeing it.
const csrfRefused = (detail: string): HubProblem => new HubProblem('FORBIDDEN', detail, { csrf: true })

function checkCsrf (request: FastifyRequest, sessionSecret: string): void {
  if (SAFE_METHODS.has(request.method)) return
  if (!sameOrigin(request)) throw csrfRefused('a state-changing request with the session cookie must come from the hub\'s own pages (Origin)')
  const given = request.headers[CSRF_HEADER]
  const expected = Buffer.from(csrfTokenFor(sessionSecret))
  const actual = Buffer.from(typeof given === 'string' ? given : '')
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw csrfRefused(`a state-changing request with the session cookie needs the ${CSRF_HEADER} header (csrfToken of GET /api/session or of the login answer)`)
  }
}

/**
 * People authenticate to /api in two ways: the console's session cookie (with a CSRF token on
 * every state-changing request), or a personal API token (`Authorization: Bearer lu_...`) for
 * scripts, which a browser never sends by itself and so needs no CSRF token. Headers only: it
 * runs in onRequest, before the body. A disabled user, an expired or revoked session or token:
 * UNAUTHENTICATED, counted against the address's failed-authentication budget.
 */
export function principalAuthenticator (db: Queryable, times: SessionTimes = DEFAULT_SESSION_TIMES): Authenticator<Caller> {
  return {
    resolve: async (request) => {
      const header = request.headers.authorization
      if (header != null) {
        const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
        if (match == null) throw new HubProblem('UNAUTHENTICATED', 'the Authorization header must be "Bearer <personal API token>"')
        const caller = await authenticateUserToken(db, match[1] as string)
        if (caller == null) throw new HubProblem('UNAUTHENTICATED', 'the personal API token is unknown, expired or revoked, or its user is disabled')
        const { tokenId, ...principal } = caller
        return { ...principal, credentialId: `token:${tokenId}` }
      }
      // The hub sets one session cookie (Path=/, no Domain). Two mean one was planted, by a
      // sibling subdomain (Domain=.parent) or a longer Path that the browser sends first:
      // "cookie tossing", which would silently run the victim's console in the attacker's
      // session (everything the victim then types or creates lands in the attacker's account).
      // Refused rather than guessing which one is genuine. Outsider review, attack brief.
      if (cookieCount(request.headers.cookie, SESSION_COOKIE) > 1) throw new HubProblem('UNAUTHENTICATED', 'the request carries more than one session cookie (one was planted by another site?): clear the cookies of this site and sign in again')
      const secret = readCookie(request.headers.cookie, SESSION_COOKIE)
      if (secret != null) {
        const principal = await resolveSession(db, secret, times)
        if (principal == null) throw new HubProblem('UNAUTHENTICATED', 'the session has ended (expired, logged out or user disabled): sign in again')
        checkCsrf(request, secret)
        return { ...principal, credentialId: 'session' }
      }
      throw new HubProblem('UNAUTHENTICATED', 'sign in (POST /api/session) or send a personal API token (Authorization: Bearer lu_...)')
    },
    credentialKey: (caller) => `user:${caller.userId}:${caller.credentialId}`,
    attach: (request, caller) => {
      const { credentialId: _credential, ...principal } = caller
      request.principal = principal
    },
    decorate: (app) => { if (!app.hasRequestDecorator('principal')) app.decorateRequest('principal', undefined) }
  }
}
