import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { createAgencyApiKey, revokeAgencyCredential } from '../../../admin/agency-admin.js'
import { agencyOverview } from '../../../store/agency-overview.js'
import type { HubContext } from '../../hub-context.js'
import { auditActorOf } from '../../scopes/audit-actor.js'
import { requireRole } from '../../scopes/role-guard.js'
import { IdParams } from '../../schemas/accounts.js'
import { commonErrors } from '../../schemas/problem.js'

const AgencyList = Type.Object({
  agencies: Type.Array(Type.Object({
    code: Type.String(),
    name: Type.String(),
    deliveryMode: Type.String(),
    pushUrl: Type.Union([Type.String(), Type.Null()]),
    allowWeakAlgorithms: Type.Boolean(),
    credentials: Type.Array(Type.Object({
      id: Type.String(),
      kind: Type.String(),
      label: Type.String(),
      keyPrefix: Type.Union([Type.String(), Type.Null()]),
      certFingerprint: Type.Union([Type.String(), Type.Null()]),
      createdAt: Type.String(),
      revokedAt: Type.Union([Type.String(), Type.Null()])
    }))
  }))
})
const CodeParams = Type.Object({ code: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9.]+$' }) })
const NewKeyBody = Type.Object({ label: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false })
const CreatedKey = Type.Object({ id: Type.String(), key: Type.String({ description: 'the API key (Authorization: Bearer <key> on /v1); shown in this answer only' }) })
const errors = { ...commonErrors, 409: Type.Ref('Problem') }

/** Agencies and their credentials, for admins only. */
export default async function adminAgencyRoutes (fastify: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const ctx = options.context
  app.addHook('onRequest', requireRole('admin'))

  app.get('/admin/agencies', {
    schema: { summary: 'Agencies of the registry with their delivery and credentials (never a secret)', tags: ['admin: agencies'], response: { 200: AgencyList, ...commonErrors } }
  }, async () => ({ agencies: await agencyOverview(ctx.db) }))

  app.post('/admin/agencies/:code/api-keys', {
    bodyLimit: 16 * 1024,
    schema: { summary: 'Create an API key for an agency system; shown in this answer only', tags: ['admin: agencies'], params: CodeParams, body: NewKeyBody, response: { 201: CreatedKey, ...errors } }
  }, async (request, reply) => {
    const created = await createAgencyApiKey(ctx.db, auditActorOf(request), request.params.code, request.body.label ?? '')
    return await reply.code(201).header('cache-control', 'no-store').send(created)
  })

  app.delete('/admin/agency-credentials/:id', {
    schema: { summary: 'Revoke an agency API key or TLS client certificate', tags: ['admin: agencies'], params: IdParams, response: { 200: Type.Object({ id: Type.String(), agencyCode: Type.String() }), ...errors } }
  }, async (request) => await revokeAgencyCredential(ctx.db, auditActorOf(request), request.params.id))
}
