import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import type { Principal, Role } from '../../domain/principal.js'
import { HubProblem } from '../../errors/problem.js'

/**
 * The authenticated person of a request in the /api scope. Its absence means the route was
 * registered outside that scope (a programming error, never the caller's).
 */
export function principalOf (request: FastifyRequest): Principal {
  if (request.principal == null) throw new Error(`no authenticated person on ${request.method} ${request.routeOptions.url ?? request.url}: the route is not in the /api scope`)
  return request.principal
}

/** Throws 403 FORBIDDEN unless the principal has one of the roles. */
export function assertRole (principal: Principal, ...roles: Role[]): void {
  if (!roles.includes(principal.role)) {
    throw new HubProblem('FORBIDDEN', `this needs the role ${roles.join(' or ')}; ${principal.username} is ${principal.role}`)
  }
}

/**
 * An onRequest hook admitting only the given roles: `app.addHook('onRequest', requireRole('admin'))`
 * in a route plugin guards every route of it; `{ onRequest: requireRole('clerk') }` one route.
 * It runs after the scope's authentication (a parent hook), before the body is read.
 *
 * A role refused a kind of route gets 403, not 404: which routes exist is public (the OpenAPI
 * document), so hiding them would only confuse. See docs/accounts.md.
 */
export function requireRole (...roles: Role[]): onRequestAsyncHookHandler {
  return async (request) => { assertRole(principalOf(request), ...roles) }
}

/**
 * The agency whose documents a request may read: a clerk only ever its own (asking for another
 * by name is 403: the request said what it wanted, nothing is disclosed); an auditor or admin the
 * one it asks for, or every agency (null).
 */
export function agencyFilterFor (principal: Principal, requested?: string | null): string | null {
  if (principal.role === 'clerk') {
    if (requested != null && requested !== principal.agencyCode) {
      throw new HubProblem('FORBIDDEN', `a clerk of ${String(principal.agencyCode)} sees only that agency's documents`)
    }
    return principal.agencyCode
  }
  return requested ?? null
}

/** Whether the principal may see a document sent by `sender` to `recipients`. */
export function mayReadDocument (principal: Principal, parties: { sender: string, recipients: readonly string[] }): boolean {
  if (principal.role !== 'clerk') return true
  const own = principal.agencyCode
  return own != null && (parties.sender === own || parties.recipients.includes(own))
}

/**
 * Refuses a document (or anything hanging off one: a delivery, a receipt) the principal may not
 * see with 404, the answer for a document that does not exist: to a clerk of another agency a
 * hub id must not confirm that a document exists. Routes call it with the id they were asked for.
 */
export function assertMayReadDocument (principal: Principal, parties: { sender: string, recipients: readonly string[] }, what: string): void {
  if (!mayReadDocument(principal, parties)) throw new HubProblem('NOT_FOUND', `no ${what}`)
}

/**
 * Whether the principal may download a receipt: anyone but a clerk, any; a clerk, every receipt
 * of what its agency sent, and of what it received the acceptance receipt and those of its own
 * delivery. `recipientsOf` is asked only for an acceptance receipt (whose delivery is nobody's).
 */
export async function mayReadReceipt (principal: Principal, receipt: { kind: string, sender: string, recipient: string | null }, recipientsOf: () => Promise<readonly string[]>): Promise<boolean> {
  if (principal.role !== 'clerk') return true
  const own = principal.agencyCode
  if (own == null) return false
  if (receipt.sender === own || receipt.recipient === own) return true
  return receipt.kind === 'acceptance' && (await recipientsOf()).includes(own)
}
