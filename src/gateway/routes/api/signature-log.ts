import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { signatureLogExport } from '../../../evidence/signature-log-export.js'
import { checkSignatureLogIntegrity } from '../../../evidence/signature-log-integrity.js'
import { readCheckpoint } from '../../../evidence/signature-log-checkpoints.js'
import { listCheckpoints, searchSignatureLog, signatureLogEntryWithNeighbours, type SignatureLogFilter } from '../../../evidence/signature-log-search.js'
import { HubProblem } from '../../../errors/problem.js'
import type { HubContext } from '../../hub-context.js'
import { requireRole } from '../../scopes/role-guard.js'
import { commonErrors } from '../../schemas/problem.js'
import {
  CheckpointIdParams, CheckpointList, CheckpointListQuery, EntryIdParams, EntryWithNeighbours, IntegrityAnswer, IntegrityQuery,
  SignatureLogExportQuery, SignatureLogPage, SignatureLogQuery
} from '../../schemas/signature-log.js'

const TAGS = ['auditor: signature log']

/** The filter members of a validated query (the schema has checked each). */
function filterOf (q: SignatureLogQuery | SignatureLogExportQuery): SignatureLogFilter {
  const filter: SignatureLogFilter = {}
  for (const key of ['from', 'to', 'agency', 'verdict', 'reasonCode', 'certFingerprint', 'certSerial', 'certIssuer', 'documentId', 'weak'] as const) {
    if (q[key] !== undefined) (filter as Record<string, unknown>)[key] = q[key]
  }
  return filter
}

/**
 * The signature log for auditors (and admins, who see what auditors see): search, export,
 * one entry with its chain neighbours, the integrity check and the signed checkpoints.
 * Clerks are refused (403): the log names every agency's submissions.
 */
export default async function signatureLogRoutes (fastify: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const ctx = options.context
  app.addHook('onRequest', requireRole('auditor', 'admin'))

  app.get('/signature-log', {
    schema: { summary: 'Search the signature log (newest first; `next` -> `after` for older entries)', tags: TAGS, querystring: SignatureLogQuery, response: { 200: SignatureLogPage, ...commonErrors } }
  }, async (request) => {
    const q = request.query
    const page = await searchSignatureLog(ctx.db, filterOf(q), { limit: q.limit ?? 100, ...(q.after != null ? { after: q.after } : {}) })
    if (page === 'bad-cursor') throw new HubProblem('BAD_REQUEST', 'the `after` cursor is not one this hub issued for the signature log')
    return page
  })

  app.get('/signature-log/export', {
    schema: {
      summary: 'Every entry matching the filters, oldest first, streamed as CSV or NDJSON (any size: read in batches as the client reads)',
      tags: TAGS,
      querystring: SignatureLogExportQuery,
      produces: ['text/csv', 'application/x-ndjson'],
      response: { 200: { description: 'CSV with a header line, or one JSON entry per line', type: 'string' }, ...commonErrors }
    }
  }, async (request, reply) => {
    const q = request.query
    const stamp = new Date().toISOString().replace(/[:.]/g, '-')
    return await reply
      .type(q.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
      .header('content-disposition', `attachment; filename="signature-log-${stamp}.${q.format === 'csv' ? 'csv' : 'ndjson'}"`)
      .send(signatureLogExport(ctx.db, filterOf(q), q.format))
  })

  app.get('/signature-log/integrity', {
    schema: {
      summary: 'Verify the hash chain (or a range of ids) and compare the log with the newest signed checkpoint; reports the first broken link',
      tags: TAGS,
      querystring: IntegrityQuery,
      response: { 200: IntegrityAnswer, ...commonErrors }
    }
  }, async (request) => {
    const { fromId, toId } = request.query
    if (fromId != null && toId != null && toId < fromId) throw new HubProblem('BAD_REQUEST', 'toId must not be before fromId')
    const started = performance.now()
    const report = await checkSignatureLogIntegrity(ctx.db, [ctx.hub.fingerprintSha256], {
      ...(fromId != null ? { fromId } : {}), ...(toId != null ? { toId } : {})
    })
    return { ...report, elapsedMs: Math.round(performance.now() - started) }
  })

  app.get('/signature-log/checkpoints', {
    schema: { summary: 'Signed checkpoints of the log head, newest first (`next` -> `before`)', tags: TAGS, querystring: CheckpointListQuery, response: { 200: CheckpointList, ...commonErrors } }
  }, async (request) => {
    const q = request.query
    return await listCheckpoints(ctx.db, { limit: q.limit ?? 100, ...(q.before != null ? { before: q.before } : {}) })
  })

  app.get('/signature-log/checkpoints/:id', {
    schema: {
      summary: 'One signed checkpoint as the JSON file `lienthong audit verify --checkpoint` takes (verifiable offline: docs/signature-log.md)',
      tags: TAGS,
      params: CheckpointIdParams,
      response: { 200: Type.String({ description: 'the signed checkpoint document' }), ...commonErrors }
    }
  }, async (request, reply) => {
    const stored = await readCheckpoint(ctx.db, Number(request.params.id))
    if (stored == null) throw new HubProblem('NOT_FOUND', `no checkpoint ${request.params.id}`)
    return await reply.type('application/json; charset=utf-8')
      .header('content-disposition', `attachment; filename="signature-log-checkpoint-${stored.id}.json"`)
      .send(stored.text)
  })

  app.get('/signature-log/:id', {
    schema: { summary: 'One entry with its neighbours in the hash chain and whether each link holds', tags: TAGS, params: EntryIdParams, response: { 200: EntryWithNeighbours, ...commonErrors } }
  }, async (request) => {
    const found = await signatureLogEntryWithNeighbours(ctx.db, request.params.id)
    if (found == null) throw new HubProblem('NOT_FOUND', `no signature-log entry ${request.params.id}`)
    return found
  })
}
