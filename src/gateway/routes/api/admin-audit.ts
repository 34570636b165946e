import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { listAudit } from '../../../store/admin-audit.js'
import type { HubContext } from '../../hub-context.js'
import { requireRole } from '../../scopes/role-guard.js'
import { AuditPage, AuditQuery } from '../../schemas/accounts.js'
import { commonErrors } from '../../schemas/problem.js'

/** GET /api/admin/audit: the admin audit trail, newest first, keyset-paginated (admins only). */
export default async function adminAuditRoutes (fastify: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const ctx = options.context
  app.addHook('onRequest', requireRole('admin'))
  app.get('/admin/audit', {
    schema: { summary: 'Human actions that changed state: who, when, what, from where, before/after (newest first; `next` -> `before` for older)', tags: ['admin: audit'], querystring: AuditQuery, response: { 200: AuditPage, ...commonErrors } }
  }, async (request) => {
    const q = request.query
    return await listAudit(ctx.db, {
      limit: q.limit ?? 100,
      ...(q.before != null ? { before: q.before } : {}),
      ...(q.action != null ? { action: q.action } : {}),
      ...(q.actorUserId != null ? { actorUserId: q.actorUserId } : {}),
      ...(q.target != null ? { target: q.target } : {})
    })
  })
}
