import type { Database, Queryable } from '../db/database.js'
import type { Role } from '../domain/principal.js'
import { HubProblem } from '../errors/problem.js'
import { recordAudit, type AuditActor } from '../store/admin-audit.js'
import { agencyExists } from '../store/agencies.js'
import { deleteSessionsOfUser } from '../store/user-sessions.js'
import { createUserToken, findUserToken, revokeUserToken, revokeUserTokensOfUser, type UserToken } from '../store/user-tokens.js'
import { countActiveAdmins, findUserById, findUserByUsername, insertUser, updateUser, type User } from '../store/users.js'
import { DEFAULT_SCRYPT, hashPassword, type ScryptParams } from './password-hash.js'
import { passwordProblem } from './password-policy.js'

/**
 * Changes to users and their tokens, as the admin API and the CLI make them: checked, applied and
 * recorded in the admin audit trail in one transaction. Errors are HubProblems (the API answers
 * them as problem+json, the CLI prints their detail).
 */

const USERNAME = /^[a-z0-9][a-z0-9._-]{0,63}$/

/** What the audit trail keeps of a user: never a password or its hash. */
const summary = (u: User): Record<string, unknown> => ({ username: u.username, displayName: u.displayName, role: u.role, agencyCode: u.agencyCode, disabled: u.disabled, hasPassword: u.hasPassword })

async function checkRoleAgency (db: Queryable, role: Role, agencyCode: string | null): Promise<void> {
  if (role === 'clerk') {
    if (agencyCode == null) throw new HubProblem('BAD_REQUEST', 'a clerk works for one agency: give its agency code')
    if (!(await agencyExists(db, agencyCode))) throw new HubProblem('BAD_REQUEST', `agency ${agencyCode} is not in the registry`)
  } else if (agencyCode != null) {
    throw new HubProblem('BAD_REQUEST', `an ${role} is not bound to an agency: give no agency code`)
  }
}

export interface NewUserInput {
  username: string
  displayName?: string
  role: Role
  agencyCode?: string | null
  password?: string
}

export async function createUser (db: Database, actor: AuditActor, input: NewUserInput, params: ScryptParams = DEFAULT_SCRYPT): Promise<User> {
  const username = input.username.trim().toLowerCase()
  if (!USERNAME.test(username)) throw new HubProblem('BAD_REQUEST', 'a username is 1-64 lower-case letters, digits, dots, dashes and underscores, starting with a letter or digit')
  const agencyCode = input.agencyCode ?? null
  await checkRoleAgency(db, input.role, agencyCode)
  let passwordHash: string | null = null
  if (input.password != null) {
    const problem = passwordProblem(input.password, username)
    if (problem != null) throw new HubProblem('BAD_REQUEST', problem)
    passwordHash = await hashPassword(input.password, params)
  }
  return await db.transaction(async (tx) => {
    const user = await insertUser(tx, { username, displayName: input.displayName ?? '', role: input.role, agencyCode, passwordHash })
    if (user == null) throw new HubProblem('CONFLICT', `the username ${username} is taken`)
    await recordAudit(tx, actor, { action: 'user.create', target: `user:${username}`, after: summary(user) })
    return user
  })
}

export interface UserChangeInput {
  displayName?: string
  role?: Role
  agencyCode?: string | null
  disabled?: boolean
}

/**
 * Updates a user. Disabling ends the user's sessions at once (and the authenticators refuse a
 * disabled user's tokens on the next request). The last enabled admin can be neither disabled
 * nor demoted: nobody could manage users any more.
 */
export async function changeUser (db: Database, actor: AuditActor, id: string, change: UserChangeInput): Promise<User> {
  return await db.transaction(async (tx) => {
    // Locks the row: two admins changing one user serialise, and the audit before/after is exact.
    await tx.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [id])
    const before = await findUserById(tx, id)
    if (before == null) throw new HubProblem('NOT_FOUND', `no user ${id}`)
    const role = change.role ?? before.role
    // A clerk moved to another role leaves its agency behind unless told otherwise.
    const agencyCode = change.agencyCode !== undefined ? change.agencyCode : (role === 'clerk' ? before.agencyCode : null)
    await checkRoleAgency(tx, role, agencyCode)
    const losesAdmin = before.role === 'admin' && !before.disabled && (role !== 'admin' || change.disabled === true)
    if (losesAdmin) {
      await tx.query('SELECT pg_advisory_xact_lock(727019)')
      if (await countActiveAdmins(tx) <= 1) throw new HubProblem('CONFLICT', `${before.username} is the last enabled admin: create or enable another admin first`)
    }
    const after = await updateUser(tx, id, { ...change, role, agencyCode }) as User
    if (after.disabled && !before.disabled) await deleteSessionsOfUser(tx, id)
    const action = after.disabled !== before.disabled ? (after.disabled ? 'user.disable' : 'user.enable') : 'user.update'
    await recordAudit(tx, actor, { action, target: `user:${before.username}`, before: summary(before), after: summary(after) })
    return after
  })
}

/**
 * Sets a new password (an admin's reset) and, in the same transaction, ends the user's sessions
 * and revokes their personal tokens: a reset answers a suspected compromise, and a token made
 * with the old password would otherwise outlive it.
 */
export async function resetPassword (db: Database, actor: AuditActor, id: string, password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<User> {
  const user = await findUserById(db, id)
  if (user == null) throw new HubProblem('NOT_FOUND', `no user ${id}`)
  const problem = passwordProblem(password, user.username)
  if (problem != null) throw new HubProblem('BAD_REQUEST', problem)
  const hash = await hashPassword(password, params)
  return await db.transaction(async (tx) => {
    const after = await updateUser(tx, id, { passwordHash: hash })
    if (after == null) throw new HubProblem('NOT_FOUND', `no user ${id}`)
    const ended = await deleteSessionsOfUser(tx, id)
    const revoked = await revokeUserTokensOfUser(tx, id)
    await recordAudit(tx, actor, { action: 'user.reset_password', target: `user:${user.username}`, detail: `${ended} session(s) ended, ${revoked} token(s) revoked` })
    return after
  })
}

/** A user by id or username (the CLI takes either). */
export async function findUser (db: Queryable, idOrUsername: string): Promise<User | undefined> {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrUsername)) return await findUserById(db, idOrUsername.toLowerCase())
  return await findUserByUsername(db, idOrUsername.trim().toLowerCase())
}

export async function createToken (db: Database, actor: AuditActor, user: User, options: { label?: string, expiresAt?: Date | null }): Promise<{ token: UserToken, secret: string }> {
  if (options.expiresAt != null && options.expiresAt.getTime() <= Date.now()) throw new HubProblem('BAD_REQUEST', 'expiresAt must be in the future')
  return await db.transaction(async (tx) => {
    const created = await createUserToken(tx, user.id, { label: options.label ?? '', expiresAt: options.expiresAt ?? null, createdBy: actor.userId })
    await recordAudit(tx, actor, { action: 'token.create', target: `user:${user.username}`, after: { tokenId: created.token.id, prefix: created.token.prefix, label: created.token.label, expiresAt: created.token.expiresAt } })
    return created
  })
}

/**
 * Revokes a token. `owner`: only a token of this user (a person revoking their own); a token of
 * somebody else is NOT_FOUND, as if it did not exist.
 */
export async function revokeToken (db: Database, actor: AuditActor, tokenId: string, owner?: string): Promise<UserToken> {
  return await db.transaction(async (tx) => {
    const token = await findUserToken(tx, tokenId)
    if (token == null || (owner != null && token.userId !== owner)) throw new HubProblem('NOT_FOUND', `no token ${tokenId}`)
    const revoked = await revokeUserToken(tx, tokenId)
    if (revoked == null) throw new HubProblem('CONFLICT', `token ${tokenId} is already revoked`)
    const user = await findUserById(tx, token.userId)
    await recordAudit(tx, actor, { action: 'token.revoke', target: `user:${user?.username ?? token.userId}`, before: { tokenId, prefix: token.prefix, label: token.label } })
    return revoked
  })
}
