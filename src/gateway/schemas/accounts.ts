import { Type, type Static } from '@sinclair/typebox'
import { HubId } from './hub-id.js'

const RoleType = Type.Union([Type.Literal('clerk'), Type.Literal('auditor'), Type.Literal('admin')])
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()])

export const LoginBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 200 }),
  password: Type.String({ minLength: 1, maxLength: 1024 })
}, { additionalProperties: false })
export type LoginBody = Static<typeof LoginBody>

export const PrincipalAnswer = Type.Object({
  userId: Type.String(),
  username: Type.String(),
  role: RoleType,
  agencyCode: Nullable(Type.String()),
  via: Type.Union([Type.Literal('session'), Type.Literal('token')])
})

export const SessionAnswer = Type.Object({
  user: PrincipalAnswer,
  csrfToken: Type.Optional(Type.String({ description: 'send as X-CSRF-Token on every POST/PUT/PATCH/DELETE made with the session cookie' }))
})

export const UserAnswer = Type.Object({
  id: Type.String(),
  username: Type.String(),
  displayName: Type.String(),
  role: RoleType,
  agencyCode: Nullable(Type.String()),
  disabled: Type.Boolean(),
  hasPassword: Type.Boolean(),
  createdAt: Type.String(),
  updatedAt: Type.String()
})

export const UserList = Type.Object({ users: Type.Array(UserAnswer) })

export const UserListQuery = Type.Object({
  role: Type.Optional(RoleType),
  agency: Type.Optional(Type.String({ maxLength: 64 }))
}, { additionalProperties: false })

export const NewUserBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 64, description: 'lower-case letters, digits, . _ -' }),
  displayName: Type.Optional(Type.String({ maxLength: 200 })),
  role: RoleType,
  agencyCode: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  password: Type.Optional(Type.String({ maxLength: 1024 }))
}, { additionalProperties: false })
export type NewUserBody = Static<typeof NewUserBody>

export const UserPatchBody = Type.Object({
  displayName: Type.Optional(Type.String({ maxLength: 200 })),
  role: Type.Optional(RoleType),
  agencyCode: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  disabled: Type.Optional(Type.Boolean())
}, { additionalProperties: false, minProperties: 1 })
export type UserPatchBody = Static<typeof UserPatchBody>

export const PasswordBody = Type.Object({ password: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false })

export const IdParams = Type.Object({ id: HubId() })

export const NewTokenBody = Type.Object({
  label: Type.Optional(Type.String({ maxLength: 200 })),
  expiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'when the token stops working; absent: never (until revoked)' }))
}, { additionalProperties: false })
export type NewTokenBody = Static<typeof NewTokenBody>

export const TokenAnswer = Type.Object({
  id: Type.String(),
  userId: Type.String(),
  label: Type.String(),
  prefix: Type.String(),
  createdBy: Nullable(Type.String()),
  createdAt: Type.String(),
  expiresAt: Nullable(Type.String()),
  lastUsedAt: Nullable(Type.String()),
  revokedAt: Nullable(Type.String())
})
export const TokenList = Type.Object({ tokens: Type.Array(TokenAnswer) })
export const CreatedToken = Type.Object({
  token: TokenAnswer,
  secret: Type.String({ description: 'the token itself (Authorization: Bearer <secret>); shown only in this answer' })
})

export const AuditQuery = Type.Object({
  before: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,18}$', description: 'the `next` of the previous page' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  action: Type.Optional(Type.String({ maxLength: 100 })),
  actorUserId: Type.Optional(HubId()),
  target: Type.Optional(Type.String({ maxLength: 300 }))
}, { additionalProperties: false })

export const AuditPage = Type.Object({
  entries: Type.Array(Type.Object({
    id: Type.String(),
    at: Type.String(),
    actorUserId: Nullable(Type.String()),
    actor: Type.String(),
    actorVia: Type.String(),
    action: Type.String(),
    target: Nullable(Type.String()),
    source: Nullable(Type.String()),
    requestId: Nullable(Type.String()),
    before: Type.Unknown(),
    after: Type.Unknown(),
    detail: Nullable(Type.String())
  })),
  next: Nullable(Type.String({ description: 'pass as `before` for the next (older) page; null: no more' }))
})
