import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { createToken, revokeToken } from '../../../accounts/user-admin.js'
import { HubProblem } from '../../../errors/problem.js'
import { listUserTokens } from '../../../store/user-tokens.js'
import { findUserById } from '../../../store/users.js'
import type { HubContext } from '../../hub-context.js'
import { auditActorOf } from '../../scopes/audit-actor.js'
import { principalOf } from '../../scopes/role-guard.js'
import { CreatedToken, IdParams, NewTokenBody, TokenAnswer, TokenList } from '../../schemas/accounts.js'
import { commonErrors } from '../../schemas/problem.js'

/** A person's own personal API tokens (every role), in the /api scope. */
export default async function myTokenRoutes (fastify: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const ctx = options.context

  app.get('/me/tokens', {
    schema: { summary: 'My personal API tokens (never their secrets)', tags: ['tokens'], response: { 200: TokenList, ...commonErrors } }
  }, async (request) => ({ tokens: await listUserTokens(ctx.db, principalOf(request).userId) }))

  app.post('/me/tokens', {
    bodyLimit: 16 * 1024,
    schema: { summary: 'Create a personal API token for my scripts; the secret is shown in this answer only', tags: ['tokens'], body: NewTokenBody, response: { 201: CreatedToken, ...commonErrors } }
  }, async (request, reply) => {
    const user = await findUserById(ctx.db, principalOf(request).userId)
    if (user == null) throw new HubProblem('NOT_FOUND', 'no such user')
    const created = await createToken(ctx.db, auditActorOf(request), user, {
      ...(request.body.label != null ? { label: request.body.label } : {}),
      expiresAt: request.body.expiresAt != null ? new Date(request.body.expiresAt) : null
    })
    return await reply.code(201).header('cache-control', 'no-store').send(created)
  })

  app.delete('/me/tokens/:id', {
    schema: { summary: 'Revoke one of my personal API tokens', tags: ['tokens'], params: IdParams, response: { 200: TokenAnswer, ...commonErrors, 409: Type.Ref('Problem') } }
  }, async (request) => await revokeToken(ctx.db, auditActorOf(request), request.params.id, principalOf(request).userId))
}
