import type { TLSSocket } from 'node:tls'
import type { FastifyRequest } from 'fastify'

/** The headers a VDXP system authenticates with (vdxp-authenticator.ts): any one of them is an attempt. */
const VDXP_HEADERS = ['xroadvnpt-systemid', 'xroadvnpt-sign-header', 'xroadvnpt-hash-header']

/**
 * Does the request present anything that could be a credential of some scope: an Authorization
 * header (agency API keys, principals' tokens, whatever its scheme), a cookie (the session
 * cookie, or a cookie a scope of its own reads: any Cookie header counts), a VDXP header, or a
 * TLS client certificate (accepted by the TLS layer or not)? A request with none of them guesses
 * nothing: register-scopes.ts answers it 401 without spending the address's failed-authentication
 * budget, which exists to slow down guessing. Counting them let the browsers of an office behind
 * one NAT address lock its users and agencies out with 429 by fetching unknown paths (an icon, a
 * stale bookmark), and let anyone on that address do it on purpose. Anything that is presented,
 * however malformed, counts as before.
 */
export function presentsCredential (request: FastifyRequest): boolean {
  const headers = request.headers
  if (headers.authorization != null) return true
  if (headers.cookie != null) return true
  if (VDXP_HEADERS.some((name) => headers[name] != null)) return true
  const socket = request.raw.socket as Partial<TLSSocket>
  if (typeof socket.getPeerCertificate === 'function') {
    // Node answers an empty object when the client sent no certificate.
    const certificate = socket.getPeerCertificate()
    if (certificate != null && Object.keys(certificate).length > 0) return true
  }
  return false
}
