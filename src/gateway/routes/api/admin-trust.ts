import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { addTrustCa, importCrl, trustOverview } from '../../../admin/trust-admin.js'
import { HubProblem } from '../../../errors/problem.js'
import type { TrustStore } from '../../../pki/trust-store.js'
import type { HubContext } from '../../hub-context.js'
import { auditActorOf } from '../../scopes/audit-actor.js'
import { requireRole } from '../../scopes/role-guard.js'
import { AddedTrustCa, TrustCaBody } from '../../schemas/admin-registry.js'
import { commonErrors } from '../../schemas/problem.js'
import { propagate } from './admin-agencies.js'

const CrlBody = Type.Object({ pem: Type.String({ minLength: 1, description: 'the CRL as PEM (-----BEGIN X509 CRL-----)' }) }, { additionalProperties: false })
const Imported = Type.Object({
  outcome: Type.Union([Type.Literal('stored'), Type.Literal('unchanged')]),
  issuer: Type.String(),
  crlNumber: Type.Union([Type.String(), Type.Null()]),
  thisUpdate: Type.String(),
  nextUpdate: Type.Union([Type.String(), Type.Null()])
})

/** The trust store: what the hub trusts and how fresh its revocation data is; CRL import (admins only). */
export default async function adminTrustRoutes (fastify: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const ctx = options.context
  app.addHook('onRequest', requireRole('admin'))
  const store = (): TrustStore => {
    if (ctx.trustStore == null) throw new HubProblem('UNAVAILABLE', 'this process holds no trust store', { retryAfterSeconds: 60 })
    return ctx.trustStore()
  }

  app.get('/admin/trust', {
    schema: { summary: 'Trust anchors, intermediate CAs, each CRL\'s freshness, the CRL refresh job\'s last round', tags: ['admin: trust store'], response: { 200: Type.Object({}, { additionalProperties: true }), ...commonErrors } }
  }, async () => await trustOverview(ctx.db, store()))

  app.post('/admin/trust/cas', {
    bodyLimit: 128 * 1024,
    schema: {
      summary: 'Add a trust anchor (self-signed CA) or an intermediate CA (issued by a trusted CA): checked to be a CA, current; every gateway and worker uses it from its next registry poll',
      tags: ['admin: trust store'],
      body: TrustCaBody,
      response: { 201: AddedTrustCa, ...commonErrors, 409: Type.Ref('Problem') }
    }
  }, async (request, reply) => {
    const added = await addTrustCa(ctx.db, store(), auditActorOf(request), request.body.pem)
    await propagate(ctx, request.log)
    return await reply.code(201).send(added)
  })

  app.post('/admin/trust/crls', {
    bodyLimit: ctx.maxBytes,
    schema: { summary: 'Import a CRL (checked like a fetched one: a trusted CA\'s, current, newer than the one held); gateways use it from their next poll', tags: ['admin: trust store'], body: CrlBody, response: { 200: Imported, ...commonErrors, 409: Type.Ref('Problem') } }
  }, async (request) => {
    const result = await importCrl(ctx.db, store(), auditActorOf(request), Buffer.from(request.body.pem, 'latin1'))
    if (result.outcome === 'older') throw new Error('unreachable: importCrl refuses older CRLs')
    return { ...result, outcome: result.outcome }
  })
}
