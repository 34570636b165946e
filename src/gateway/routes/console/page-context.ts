import type { FastifyReply, FastifyRequest } from 'fastify'
import { chooseLang, LANG_COOKIE, translator } from '../../../console/i18n/messages.js'
import type { PageContext } from '../../../console/layout.js'
import { readCookie } from '../../scopes/principal-authenticator.js'

/**
 * What a page needs from its request: the language (?lang= switches and is remembered in a
 * cookie for a year), the signed-in person and the session's form token.
 */
export function pageContext (request: FastifyRequest, reply: FastifyReply): PageContext {
  const query = (request.query ?? {}) as Record<string, unknown>
  const asked = typeof query.lang === 'string' ? query.lang : undefined
  const lang = chooseLang(asked, readCookie(request.headers.cookie, LANG_COOKIE))
  if (asked === 'en' || asked === 'vi') reply.header('set-cookie', `${LANG_COOKIE}=${lang}; Path=/; SameSite=Lax; Max-Age=31536000`)
  return {
    lang,
    t: translator(lang),
    ...(request.principal != null ? { principal: request.principal } : {}),
    ...(request.consoleCsrf != null ? { csrf: request.consoleCsrf } : {}),
    url: request.url
  }
}

/**
 * The console's Content-Security-Policy: everything from the hub itself, no inline script, no
 * framing, forms only back to the hub.
 */
export const CONSOLE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/** Sends a rendered page with the console's security headers. */
export function sendPage (reply: FastifyReply, page: string, status = 200): FastifyReply {
  return reply.code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(page)
}

/** Security headers for every console answer (pages, assets, redirects, errors). */
export function consoleSecurityHeaders (reply: FastifyReply): void {
  reply.header('content-security-policy', CONSOLE_CSP)
  reply.header('x-content-type-options', 'nosniff')
  reply.header('referrer-policy', 'same-origin')
  reply.header('x-frame-options', 'DENY')
}

/** Form bodies (the console's plain HTML forms), parsed into a flat record. */
export function formParser (_request: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: Record<string, string>) => void): void {
  done(null, Object.fromEntries(new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8'))))
}
