import { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { listSignatureLog, type LogPageQuery } from '../../../store/console-documents.js'
import type { HubContext } from '../../hub-context.js'
import { assertRole, principalOf } from '../../scopes/role-guard.js'

const BATCH = 1000
const COLUMNS = ['id', 'logged_at', 'agency', 'edxml_document_id', 'hub_document_id', 'verdict', 'reason_code', 'cert_subject'] as const

/** RFC 4180 quoting; a leading =+-@ is prefixed with ' so that a spreadsheet never runs it as a formula. */
export function csvField (value: string | number | null): string {
  if (value == null) return ''
  let text = String(value)
  if (/^[=+\-@\t\r]/.test(text) && typeof value === 'string') text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/**
 * GET /console/signature-log.csv: the page's filters, every matching entry, streamed in keyset
 * batches of 1,000 (memory stays bounded however many rows match).
 */
export default async function signatureLogExport (app: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const ctx = options.context
  app.get('/signature-log.csv', { schema: { hide: true } }, async (request, reply) => {
    assertRole(principalOf(request), 'auditor', 'admin')
    const q = request.query as Record<string, unknown>
    const pick = (v: unknown): string | undefined => typeof v === 'string' && v.trim() !== '' ? v.trim().slice(0, 64) : undefined
    const base: Omit<LogPageQuery, 'limit' | 'beforeId'> = {
      ...(pick(q.reason) != null ? { reasonCode: pick(q.reason) as string } : {}),
      ...(pick(q.verdict) != null ? { verdict: pick(q.verdict) as string } : {}),
      ...(pick(q.agency) != null ? { agency: pick(q.agency) as string } : {})
    }
    async function * lines (): AsyncGenerator<string> {
      yield `${COLUMNS.join(',')}\r\n`
      let beforeId: number | undefined
      for (;;) {
        const page = await listSignatureLog(ctx.db, { ...base, ...(beforeId != null ? { beforeId } : {}), limit: BATCH })
        let chunk = ''
        for (const r of page.rows) {
          chunk += [r.id, r.loggedAt.toISOString(), r.agency, r.edxmlDocumentId, r.hubDocumentId, r.verdict, r.reasonCode, r.certSubject].map(csvField).join(',') + '\r\n'
        }
        if (chunk !== '') yield chunk
        if (page.nextBeforeId == null) return
        beforeId = page.nextBeforeId
      }
    }
    return await reply.header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="signature-log.csv"')
      .header('cache-control', 'no-store')
      .send(Readable.from(lines()))
  })
}
