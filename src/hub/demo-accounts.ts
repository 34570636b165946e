import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DEFAULT_SCRYPT, type ScryptParams } from '../accounts/password-hash.js'
import { createUser, resetPassword } from '../accounts/user-admin.js'
import type { Database } from '../db/database.js'
import type { Role } from '../domain/principal.js'
import type { AuditActor } from '../store/admin-audit.js'
import { listAgencyCodes } from '../store/agencies.js'
import { findUserByUsername } from '../store/users.js'

export interface DemoAccount { username: string, password: string, role: Role, agencyCode: string | null }

const DEMO_ACTOR: AuditActor = { userId: null, name: 'cli:demo-setup', via: 'cli', source: 'npm start (demo)', requestId: null }

/** clerk.h41 for 000.00.00.H41; the whole code where two agencies end alike. */
function clerkNames (codes: readonly string[]): Map<string, string> {
  const last = (code: string): string => (code.split('.').pop() ?? code).toLowerCase()
  return new Map(codes.map((code) => [code, codes.filter((c) => last(c) === last(code)).length > 1 ? `clerk.${code.toLowerCase()}` : `clerk.${last(code)}`]))
}

/**
 * The demo's people: a clerk per demo agency, an auditor and an admin, with random passwords
 * (a public demo default would open every demo installation left on a network), kept in
 * data/demo-accounts.json (mode 600) so that they survive restarts, like the demo API keys. A
 * demo user missing from the file gets a new password (the file is the only place it is shown).
 */
export async function demoAccounts (db: Database, dataDir: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<DemoAccount[]> {
  const file = join(dataDir, 'demo-accounts.json')
  let known: Record<string, DemoAccount> = {}
  try {
    known = JSON.parse(await readFile(file, 'utf8')) as Record<string, DemoAccount>
  } catch {
    // First start (no file) or a damaged file: accounts are made or reset below and the file rewritten.
  }
  const wanted: Array<Omit<DemoAccount, 'password'>> = [
    ...[...clerkNames(await listAgencyCodes(db))].map(([code, username]) => ({ username, role: 'clerk' as const, agencyCode: code })),
    { username: 'auditor', role: 'auditor', agencyCode: null },
    { username: 'admin', role: 'admin', agencyCode: null }
  ]
  const accounts: DemoAccount[] = []
  let changed = false
  for (const account of wanted) {
    const existing = await findUserByUsername(db, account.username)
    const remembered = known[account.username]
    if (existing != null && remembered != null) {
      accounts.push(remembered)
      continue
    }
    const password = randomBytes(12).toString('base64url')
    if (existing == null) await createUser(db, DEMO_ACTOR, { ...account, password, displayName: `Demo ${account.username}` }, params)
    else await resetPassword(db, DEMO_ACTOR, existing.id, password, params)
    accounts.push({ ...account, password })
    changed = true
  }
  if (changed) {
    await mkdir(dataDir, { recursive: true })
    await writeFile(file, JSON.stringify(Object.fromEntries(accounts.map((a) => [a.username, a])), null, 2) + '\n', { mode: 0o600 })
  }
  return accounts
}

export class TestScryptRefused extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'TestScryptRefused'
  }
}

/**
 * Test-only setting TEST_DEMO_SCRYPT_LOGN (test/helpers/hub-process.ts sets it for the hubs the
 * tests start): the scrypt cost of the demo accounts' password hashes, which otherwise take
 * ~0.5 s of CPU each, eight per new demo hub. Only the demo accounts (demo registry, embedded
 * database) use it, and only with LIENTHONG_DEMO=1: any other hub given it refuses to start, so
 * it can never weaken the hashes of a real installation's people. Unset: the default cost.
 */
export function demoAccountsScrypt (env: NodeJS.ProcessEnv, demo: boolean): ScryptParams {
  const value = env.TEST_DEMO_SCRYPT_LOGN
  if (value == null || value === '') return DEFAULT_SCRYPT
  if (!demo) throw new TestScryptRefused('TEST_DEMO_SCRYPT_LOGN is a test setting (cheaper demo password hashes): refused without LIENTHONG_DEMO=1')
  const logN = Number(value)
  if (!Number.isInteger(logN) || logN < 10 || logN > DEFAULT_SCRYPT.logN) throw new TestScryptRefused(`TEST_DEMO_SCRYPT_LOGN=${value}: must be an integer from 10 to ${DEFAULT_SCRYPT.logN}`)
  return { ...DEFAULT_SCRYPT, logN }
}
