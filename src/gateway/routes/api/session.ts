import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { PasswordHashingBusy, verifyPassword } from '../../../accounts/password-hash.js'
import { HubProblem } from '../../../errors/problem.js'
import { recordAudit } from '../../../store/admin-audit.js'
import { createSession, deleteSession } from '../../../store/user-sessions.js'
import { loginRecord, type User } from '../../../store/users.js'
import type { HubContext } from '../../hub-context.js'
import { anonymousActor, auditActorOf } from '../../scopes/audit-actor.js'
import { csrfTokenFor, DEFAULT_SESSION_TIMES, readCookie, sameOrigin, SESSION_COOKIE } from '../../scopes/principal-authenticator.js'
import { principalOf } from '../../scopes/role-guard.js'
import { LoginBody, SessionAnswer } from '../../schemas/accounts.js'
import { commonErrors } from '../../schemas/problem.js'

// One answer for an unknown user, a wrong password, a disabled user and a user without a
// password: the message says nothing about which usernames exist (the time neither:
// verifyPassword hashes as long for a user that does not exist).
const WRONG = 'the username or password is wrong'

export function sessionCookie (request: FastifyRequest, context: HubContext, value: string, maxAgeSeconds: number): string {
  // Secure whenever the gateway serves TLS itself or is told it sits behind TLS. On plain HTTP
  // (the demo on 127.0.0.1) a Secure cookie would never be sent back: the demo exception,
  // docs/accounts.md.
  const secure = context.secureCookies === true || request.protocol === 'https'
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`
}

/**
 * Checks a username and password and opens a session: the sign-in of POST /api/session and of
 * the console's login form (one code path, so both count failures and audit alike). Throws
 * UNAUTHENTICATED (one answer for every kind of wrong), BUSY or RATE_LIMITED.
 */
export async function signIn (request: FastifyRequest, ctx: HubContext, givenUsername: string, password: string): Promise<{ user: User, secret: string }> {
  const times = ctx.sessions ?? DEFAULT_SESSION_TIMES
  // A password is a low-entropy secret: past the address's failure budget the attempt is
  // refused BEFORE the password is checked. The scopes' rule "a valid credential is served
  // even from an exhausted address" suits 256-bit keys; applied here it answered 200 to the
  // right guess and 429 to the wrong ones, so guessing never stopped (and every guess cost a
  // 128 MiB hash and an append-only audit row). Outsider review, attack brief. A neighbour
  // behind the same NAT can thus delay sign-ins for a minute; sessions and tokens still work.
  const failures = request.server.authFailures
  if (failures.exhausted(request.ip)) throw new HubProblem('RATE_LIMITED', 'too many failed authentications from this address; retry later', { retryAfterSeconds: failures.retryAfterSeconds() })
  // The failure is counted before the check and given back on success: concurrent guesses
  // (the hash takes most of a second) cannot all pass the budget check above first.
  failures.fail(request.ip)
  const username = givenUsername.trim().toLowerCase()
  const record = await loginRecord(ctx.db, username)
  let matches: boolean
  try {
    matches = await verifyPassword(password, record?.passwordHash)
  } catch (err) {
    // Not a guess (nothing was checked): the reserved failure is given back.
    if (err instanceof PasswordHashingBusy) {
      failures.forgive(request.ip)
      throw new HubProblem('BUSY', 'too many sign-ins in progress; retry in a moment', { retryAfterSeconds: 2 })
    }
    throw err
  }
  if (record == null || !matches || record.user.disabled) {
    await recordAudit(ctx.db, anonymousActor(request), { action: 'session.login_failed', target: `user:${username.slice(0, 64)}` })
    throw new HubProblem('UNAUTHENTICATED', WRONG)
  }
  failures.forgive(request.ip)
  const { user } = record
  const secret = await createSession(ctx.db, user.id, times, request.ip)
  await recordAudit(ctx.db, { userId: user.id, name: user.username, via: 'session', source: request.ip, requestId: request.id }, { action: 'session.login', target: `user:${user.username}` })
  return { user, secret }
}

/**
 * POST /api/session: the console's login, in a public scope of its own (prefix /api/session)
 * because the caller has no credential yet. A failure counts against the address's
 * failed-authentication budget like any other (register-scopes.ts): past it, 429.
 */
export async function loginRoute (fastify: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const ctx = options.context
  const times = ctx.sessions ?? DEFAULT_SESSION_TIMES
  app.post('', {
    bodyLimit: 16 * 1024,
    schema: {
      summary: 'Sign in to the console: sets the session cookie; answers the CSRF token for state-changing requests',
      tags: ['session'],
      security: [],
      body: LoginBody,
      response: { 200: SessionAnswer, ...commonErrors }
    }
  }, async (request, reply) => {
    // Login CSRF (a foreign page signing the victim into the attacker's account) is refused
    // like any cross-site state change.
    if (!sameOrigin(request)) throw new HubProblem('FORBIDDEN', 'sign in from the hub\'s own pages', { csrf: true })
    const { user, secret } = await signIn(request, ctx, request.body.username, request.body.password)
    reply.header('set-cookie', sessionCookie(request, ctx, secret, Math.floor(times.absoluteMs / 1000)))
    reply.header('cache-control', 'no-store')
    return { user: { userId: user.id, username: user.username, role: user.role, agencyCode: user.agencyCode, via: 'session' as const }, csrfToken: csrfTokenFor(secret) }
  })
}

/** Who is signed in (GET) and logout (DELETE), in the /api scope. */
export async function sessionRoutes (fastify: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const ctx = options.context
  app.get('/session', {
    schema: { summary: 'The signed-in person, and the session\'s CSRF token', tags: ['session'], response: { 200: SessionAnswer, ...commonErrors } }
  }, async (request, reply: FastifyReply) => {
    const principal = principalOf(request)
    const secret = readCookie(request.headers.cookie, SESSION_COOKIE)
    reply.header('cache-control', 'no-store')
    return { user: principal, ...(principal.via === 'session' && secret != null ? { csrfToken: csrfTokenFor(secret) } : {}) }
  })
  app.delete('/session', {
    schema: { summary: 'Sign out: ends the session and clears the cookie', tags: ['session'], response: { 204: Type.Null(), ...commonErrors } }
  }, async (request, reply) => {
    const principal = principalOf(request)
    const secret = readCookie(request.headers.cookie, SESSION_COOKIE)
    if (principal.via !== 'session' || secret == null) throw new HubProblem('BAD_REQUEST', 'a personal API token is not a session: revoke it with DELETE /api/me/tokens/{id}')
    await deleteSession(ctx.db, secret)
    await recordAudit(ctx.db, auditActorOf(request), { action: 'session.logout', target: `user:${principal.username}` })
    return await reply.code(204).header('set-cookie', sessionCookie(request, ctx, '', 0)).send()
  })
}
