import type { FastifyRequest } from 'fastify'
import type { AuditActor } from '../../store/admin-audit.js'
import { principalOf } from './role-guard.js'

/** The person behind an /api request as the admin audit trail records them. */
export function auditActorOf (request: FastifyRequest): AuditActor {
  const principal = principalOf(request)
  return { userId: principal.userId, name: principal.username, via: principal.via, source: request.ip, requestId: request.id }
}

/** Nobody known yet (a login attempt). */
export function anonymousActor (request: FastifyRequest): AuditActor {
  return { userId: null, name: 'anonymous', via: 'anonymous', source: request.ip, requestId: request.id }
}
