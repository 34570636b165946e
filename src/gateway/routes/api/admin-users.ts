import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { changeUser, createToken, createUser, resetPassword, revokeToken } from '../../../accounts/user-admin.js'
import { HubProblem } from '../../../errors/problem.js'
import { listUserTokens } from '../../../store/user-tokens.js'
import { findUserById, listUsers } from '../../../store/users.js'
import type { HubContext } from '../../hub-context.js'
import { auditActorOf } from '../../scopes/audit-actor.js'
import { requireRole } from '../../scopes/role-guard.js'
import { CreatedToken, IdParams, NewTokenBody, NewUserBody, PasswordBody, TokenAnswer, TokenList, UserAnswer, UserList, UserListQuery, UserPatchBody } from '../../schemas/accounts.js'
import { commonErrors } from '../../schemas/problem.js'

const errors = { ...commonErrors, 409: Type.Ref('Problem') }

/** Users and their tokens, for admins only (every route of this plugin), in the /api scope. */
export default async function adminUserRoutes (fastify: FastifyInstance, options: { context: HubContext }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const ctx = options.context
  app.addHook('onRequest', requireRole('admin'))

  app.get('/admin/users', {
    schema: { summary: 'Users (filter by role or agency)', tags: ['admin: users'], querystring: UserListQuery, response: { 200: UserList, ...commonErrors } }
  }, async (request) => ({
    users: await listUsers(ctx.db, { ...(request.query.role != null ? { role: request.query.role } : {}), ...(request.query.agency != null ? { agencyCode: request.query.agency } : {}) })
  }))

  app.post('/admin/users', {
    bodyLimit: 16 * 1024,
    schema: { summary: 'Create a user (a clerk with its agency); the password is optional (tokens only until one is set)', tags: ['admin: users'], body: NewUserBody, response: { 201: UserAnswer, ...errors } }
  }, async (request, reply) => {
    const { password, displayName, agencyCode, ...rest } = request.body
    const user = await createUser(ctx.db, auditActorOf(request), {
      ...rest,
      ...(password != null ? { password } : {}),
      ...(displayName != null ? { displayName } : {}),
      ...(agencyCode !== undefined ? { agencyCode } : {})
    })
    return await reply.code(201).send(user)
  })

  app.get('/admin/users/:id', {
    schema: { summary: 'One user', tags: ['admin: users'], params: IdParams, response: { 200: UserAnswer, ...commonErrors } }
  }, async (request) => {
    const user = await findUserById(ctx.db, request.params.id)
    if (user == null) throw new HubProblem('NOT_FOUND', `no user ${request.params.id}`)
    return user
  })

  app.patch('/admin/users/:id', {
    bodyLimit: 16 * 1024,
    schema: { summary: 'Change a user: display name, role, agency, disabled (a disabled user\'s sessions and tokens stop at once)', tags: ['admin: users'], params: IdParams, body: UserPatchBody, response: { 200: UserAnswer, ...errors } }
  }, async (request) => {
    const { displayName, role, agencyCode, disabled } = request.body
    return await changeUser(ctx.db, auditActorOf(request), request.params.id, {
      ...(displayName != null ? { displayName } : {}),
      ...(role != null ? { role } : {}),
      ...(agencyCode !== undefined ? { agencyCode } : {}),
      ...(disabled != null ? { disabled } : {})
    })
  })

  app.post('/admin/users/:id/password', {
    bodyLimit: 16 * 1024,
    schema: { summary: 'Set a user\'s password (ends the user\'s sessions)', tags: ['admin: users'], params: IdParams, body: PasswordBody, response: { 200: UserAnswer, ...errors } }
  }, async (request) => await resetPassword(ctx.db, auditActorOf(request), request.params.id, request.body.password))

  app.get('/admin/users/:id/tokens', {
    schema: { summary: 'A user\'s personal API tokens (never their secrets)', tags: ['admin: users'], params: IdParams, response: { 200: TokenList, ...commonErrors } }
  }, async (request) => {
    if (await findUserById(ctx.db, request.params.id) == null) throw new HubProblem('NOT_FOUND', `no user ${request.params.id}`)
    return { tokens: await listUserTokens(ctx.db, request.params.id) }
  })

  app.post('/admin/users/:id/tokens', {
    bodyLimit: 16 * 1024,
    schema: { summary: 'Create a personal API token for a user; the secret is shown in this answer only', tags: ['admin: users'], params: IdParams, body: NewTokenBody, response: { 201: CreatedToken, ...errors } }
  }, async (request, reply) => {
    const user = await findUserById(ctx.db, request.params.id)
    if (user == null) throw new HubProblem('NOT_FOUND', `no user ${request.params.id}`)
    const created = await createToken(ctx.db, auditActorOf(request), user, {
      ...(request.body.label != null ? { label: request.body.label } : {}),
      expiresAt: request.body.expiresAt != null ? new Date(request.body.expiresAt) : null
    })
    return await reply.code(201).header('cache-control', 'no-store').send(created)
  })

  app.delete('/admin/tokens/:id', {
    schema: { summary: 'Revoke any user\'s personal API token', tags: ['admin: users'], params: IdParams, response: { 200: TokenAnswer, ...errors } }
  }, async (request) => await revokeToken(ctx.db, auditActorOf(request), request.params.id))
}
