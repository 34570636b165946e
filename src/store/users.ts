import { randomUUID } from 'node:crypto'
import type { Queryable } from '../db/database.js'
import type { Role } from '../domain/principal.js'

/** A user as the admin API and CLI show it (never the password hash). */
export interface User {
  id: string
  username: string
  displayName: string
  role: Role
  agencyCode: string | null
  disabled: boolean
  hasPassword: boolean
  createdAt: string
  updatedAt: string
}

interface UserRow {
  id: string
  username: string
  display_name: string
  role: Role
  agency_code: string | null
  disabled: boolean
  has_password: boolean
  created_at: Date
  updated_at: Date
}

const COLUMNS = 'id, username, display_name, role, agency_code, disabled, password_hash IS NOT NULL AS has_password, created_at, updated_at'

function toUser (row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    role: row.role,
    agencyCode: row.agency_code,
    disabled: row.disabled,
    hasPassword: row.has_password,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString()
  }
}

export interface NewUser {
  username: string
  displayName: string
  role: Role
  agencyCode: string | null
  passwordHash: string | null
}

/** Inserts a user; undefined when the username is taken. */
export async function insertUser (db: Queryable, user: NewUser): Promise<User | undefined> {
  const { rows } = await db.query<UserRow>(
    `INSERT INTO users (id, username, display_name, role, agency_code, password_hash)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (username) DO NOTHING RETURNING ${COLUMNS}`,
    [randomUUID(), user.username, user.displayName, user.role, user.agencyCode, user.passwordHash]
  )
  return rows[0] != null ? toUser(rows[0]) : undefined
}

export async function findUserById (db: Queryable, id: string): Promise<User | undefined> {
  const { rows } = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id])
  return rows[0] != null ? toUser(rows[0]) : undefined
}

export async function findUserByUsername (db: Queryable, username: string): Promise<User | undefined> {
  const { rows } = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE username = $1`, [username])
  return rows[0] != null ? toUser(rows[0]) : undefined
}

/** The user and stored hash a login checks (undefined: no such user). */
export async function loginRecord (db: Queryable, username: string): Promise<{ user: User, passwordHash: string | null } | undefined> {
  const { rows } = await db.query<UserRow & { password_hash: string | null }>(`SELECT ${COLUMNS}, password_hash FROM users WHERE username = $1`, [username])
  const row = rows[0]
  return row != null ? { user: toUser(row), passwordHash: row.password_hash } : undefined
}

export async function listUsers (db: Queryable, filter: { role?: Role, agencyCode?: string } = {}): Promise<User[]> {
  const { rows } = await db.query<UserRow>(
    `SELECT ${COLUMNS} FROM users WHERE ($1::text IS NULL OR role = $1) AND ($2::text IS NULL OR agency_code = $2) ORDER BY username`,
    [filter.role ?? null, filter.agencyCode ?? null]
  )
  return rows.map(toUser)
}

export interface UserChange {
  displayName?: string
  role?: Role
  agencyCode?: string | null
  disabled?: boolean
  passwordHash?: string | null
}

/** Applies the given fields; undefined when there is no such user. */
export async function updateUser (db: Queryable, id: string, change: UserChange): Promise<User | undefined> {
  const sets: string[] = []
  const params: unknown[] = [id]
  const set = (column: string, value: unknown): void => { params.push(value); sets.push(`${column} = $${params.length}`) }
  if (change.displayName !== undefined) set('display_name', change.displayName)
  if (change.role !== undefined) set('role', change.role)
  if (change.agencyCode !== undefined) set('agency_code', change.agencyCode)
  if (change.disabled !== undefined) set('disabled', change.disabled)
  if (change.passwordHash !== undefined) set('password_hash', change.passwordHash)
  sets.push('updated_at = now()')
  const { rows } = await db.query<UserRow>(`UPDATE users SET ${sets.join(', ')} WHERE id = $1 RETURNING ${COLUMNS}`, params)
  return rows[0] != null ? toUser(rows[0]) : undefined
}

/** How many enabled admins there are (the last one may not be disabled or demoted). */
export async function countActiveAdmins (db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE role = \'admin\' AND NOT disabled')
  return rows[0]?.n ?? 0
}
