import type { FastifyInstance } from 'fastify'
import { signatureLogExport } from '../../../evidence/signature-log-export.js'
import type { HubContext } from '../../hub-context.js'
import { assertRole, principalOf } from '../../scopes/role-guard.js'
import { logFilters, signatureLogFilterOf } from './signature-log-filters.js'

/**
 * GET /console/signature-log.csv: the page's filters, every matching entry, through the auditor
 * API's export (src/evidence/signature-log-export.ts: the same columns as
 * /api/signature-log/export?format=csv, keyset batches of 1,000 read as the browser takes them,
 * formula cells neutralised).
 */
export default async function signatureLogCsv (app: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const ctx = options.context
  app.get('/signature-log.csv', { schema: { hide: true } }, async (request, reply) => {
    assertRole(principalOf(request), 'auditor', 'admin')
    const filter = signatureLogFilterOf(logFilters(request.query as Record<string, unknown>))
    return await reply.header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="signature-log.csv"')
      .header('cache-control', 'no-store')
      .send(signatureLogExport(ctx.db, filter, 'csv'))
  })
}
