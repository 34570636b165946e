import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import type { Queryable } from '../db/database.js'
import type { Principal } from '../domain/principal.js'

/**
 * Personal API tokens, for a person's scripts: `lu_<prefix>_<secret>`, the prefix (public, 12 hex
 * digits) finds the row and the SHA-256 of the whole token is compared in constant time (256
 * random bits: a slow hash would add nothing). Shown once; revocable; optionally expiring. The
 * `lu_` start keeps them apart from agency API keys (`lt_`), which open other scopes.
 */
const TOKEN = /^lu_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/

export interface UserToken {
  id: string
  userId: string
  label: string
  prefix: string
  createdBy: string | null
  createdAt: string
  expiresAt: string | null
  lastUsedAt: string | null
  revokedAt: string | null
}

interface TokenRow {
  id: string
  user_id: string
  label: string
  token_prefix: string
  created_by: string | null
  created_at: Date
  expires_at: Date | null
  last_used_at: Date | null
  revoked_at: Date | null
}

const iso = (d: Date | null): string | null => d == null ? null : new Date(d).toISOString()

function toToken (row: TokenRow): UserToken {
  return {
    id: row.id,
    userId: row.user_id,
    label: row.label,
    prefix: row.token_prefix,
    createdBy: row.created_by,
    createdAt: new Date(row.created_at).toISOString(),
    expiresAt: iso(row.expires_at),
    lastUsedAt: iso(row.last_used_at),
    revokedAt: iso(row.revoked_at)
  }
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

export async function createUserToken (db: Queryable, userId: string, options: { label: string, expiresAt: Date | null, createdBy: string | null }): Promise<{ token: UserToken, secret: string }> {
  const prefix = randomBytes(6).toString('hex')
  const secret = `lu_${prefix}_${randomBytes(32).toString('base64url')}`
  const { rows } = await db.query<TokenRow>(
    `INSERT INTO user_tokens (id, user_id, token_prefix, secret_sha256, label, created_by, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
    [randomUUID(), userId, prefix, sha256(secret), options.label, options.createdBy, options.expiresAt]
  )
  return { token: toToken(rows[0] as TokenRow), secret }
}

/** Whether a bearer value is shaped like a personal token (else it is not ours to check). */
export const looksLikeUserToken = (value: string): boolean => TOKEN.test(value)

/** The principal of a live token of an enabled user, or undefined. */
export async function authenticateUserToken (db: Queryable, value: string): Promise<(Principal & { tokenId: string }) | undefined> {
  const match = TOKEN.exec(value)
  if (match == null) return undefined
  const { rows } = await db.query<{ id: string, secret_sha256: string, user_id: string, username: string, role: Principal['role'], agency_code: string | null, stale: boolean }>(
    `SELECT t.id, t.secret_sha256, t.user_id, u.username, u.role, u.agency_code,
            (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute') AS stale
       FROM user_tokens t JOIN users u ON u.id = t.user_id
      WHERE t.token_prefix = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now()) AND NOT u.disabled`,
    [match[1]]
  )
  const row = rows[0]
  if (row == null) return undefined
  const expected = Buffer.from(row.secret_sha256, 'hex')
  const actual = Buffer.from(sha256(value), 'hex')
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return undefined
  // When a token was last used tells its owner whether a forgotten script still runs; written
  // at most once a minute.
  if (row.stale) await db.query('UPDATE user_tokens SET last_used_at = now() WHERE id = $1', [row.id])
  return { userId: row.user_id, username: row.username, role: row.role, agencyCode: row.agency_code, via: 'token', tokenId: row.id }
}

export async function listUserTokens (db: Queryable, userId: string): Promise<UserToken[]> {
  const { rows } = await db.query<TokenRow>('SELECT * FROM user_tokens WHERE user_id = $1 ORDER BY created_at, id', [userId])
  return rows.map(toToken)
}

export async function findUserToken (db: Queryable, id: string): Promise<UserToken | undefined> {
  const { rows } = await db.query<TokenRow>('SELECT * FROM user_tokens WHERE id = $1', [id])
  return rows[0] != null ? toToken(rows[0]) : undefined
}

/** Revokes a live token; the revoked token, or undefined when there was none to revoke. */
export async function revokeUserToken (db: Queryable, id: string): Promise<UserToken | undefined> {
  const { rows } = await db.query<TokenRow>('UPDATE user_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING *', [id])
  return rows[0] != null ? toToken(rows[0]) : undefined
}

/** Revokes every live token of a user (a password reset); how many were revoked. */
export async function revokeUserTokensOfUser (db: Queryable, userId: string): Promise<number> {
  const { rows } = await db.query('UPDATE user_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL RETURNING id', [userId])
  return rows.length
}
