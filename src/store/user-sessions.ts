import { createHash, randomBytes } from 'node:crypto'
import type { Queryable } from '../db/database.js'
import type { Principal } from '../domain/principal.js'

/**
 * Console sessions, kept server-side. The cookie carries `ls_<256 random bits>`; the table holds
 * only its SHA-256, so a leaked table or backup opens no session. A session ends at whichever
 * comes first: idle for longer than the idle time, the absolute expiry, logout, or its user
 * being disabled (checked on every request: a disabled user's session stops at once).
 */
export interface SessionTimes {
  /** Longest pause between two requests. */
  idleMs: number
  /** Longest life from login, however active. */
  absoluteMs: number
}

const SECRET = /^ls_[A-Za-z0-9_-]{43}$/

/** last_seen_at is written at most this often (not on every request of a busy console). */
const TOUCH_EVERY_MS = 30_000

export function sessionSha256 (secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}

export async function createSession (db: Queryable, userId: string, times: SessionTimes, source: string | null): Promise<string> {
  const secret = `ls_${randomBytes(32).toString('base64url')}`
  // Expired sessions of this user go now: the table does not grow with every login.
  await db.query('DELETE FROM user_sessions WHERE user_id = $1 AND (expires_at <= now() OR last_seen_at <= now() - make_interval(secs => $2))', [userId, times.idleMs / 1000])
  await db.query(
    'INSERT INTO user_sessions (secret_sha256, user_id, expires_at, source) VALUES ($1, $2, now() + make_interval(secs => $3), $4)',
    [sessionSha256(secret), userId, times.absoluteMs / 1000, source]
  )
  return secret
}

/** The principal of a live session of an enabled user, or undefined. */
export async function resolveSession (db: Queryable, secret: string, times: SessionTimes): Promise<Principal | undefined> {
  if (!SECRET.test(secret)) return undefined
  const hash = sessionSha256(secret)
  const { rows } = await db.query<{ user_id: string, username: string, role: Principal['role'], agency_code: string | null, idle_ms: number }>(
    `SELECT s.user_id, u.username, u.role, u.agency_code, (extract(epoch FROM now() - s.last_seen_at) * 1000)::float8 AS idle_ms
       FROM user_sessions s JOIN users u ON u.id = s.user_id
      WHERE s.secret_sha256 = $1 AND NOT u.disabled AND s.expires_at > now()
        AND s.last_seen_at > now() - make_interval(secs => $2)`,
    [hash, times.idleMs / 1000]
  )
  const row = rows[0]
  if (row == null) return undefined
  if (row.idle_ms >= TOUCH_EVERY_MS) await db.query('UPDATE user_sessions SET last_seen_at = now() WHERE secret_sha256 = $1', [hash])
  return { userId: row.user_id, username: row.username, role: row.role, agencyCode: row.agency_code, via: 'session' }
}

export async function deleteSession (db: Queryable, secret: string): Promise<boolean> {
  const { rows } = await db.query('DELETE FROM user_sessions WHERE secret_sha256 = $1 RETURNING user_id', [sessionSha256(secret)])
  return rows.length > 0
}

/** Ends every session of a user (disabled, password reset). */
export async function deleteSessionsOfUser (db: Queryable, userId: string): Promise<number> {
  const { rows } = await db.query('DELETE FROM user_sessions WHERE user_id = $1 RETURNING user_id', [userId])
  return rows.length
}
