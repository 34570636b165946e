import { randomBytes } from 'node:crypto'
import type { Database } from '../../src/db/database.js'
import type { Role } from '../../src/domain/principal.js'
import { createToken, createUser } from '../../src/accounts/user-admin.js'
import type { AuditActor } from '../../src/store/admin-audit.js'
import type { User } from '../../src/store/users.js'

/** Cheap scrypt parameters for test users (the default costs 128 MiB and most of a second). */
export const TEST_SCRYPT = { logN: 12, r: 8, p: 1 }

export const TEST_ACTOR: AuditActor = { userId: null, name: 'cli:test', via: 'cli', source: 'cli@test', requestId: null }

export interface TestUser { user: User, password: string, token: string }

/** A user with a password and a personal API token. */
export async function testUser (db: Database, username: string, role: Role, agencyCode: string | null = null): Promise<TestUser> {
  const password = `correct horse ${randomBytes(6).toString('hex')}`
  const user = await createUser(db, TEST_ACTOR, { username, role, agencyCode, password, displayName: `Test ${username}` }, TEST_SCRYPT)
  const { secret } = await createToken(db, TEST_ACTOR, user, { label: 'test' })
  return { user, password, token: secret }
}
