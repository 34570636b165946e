import { randomBytes } from 'node:crypto'
import { hostname, userInfo } from 'node:os'
import { Command, Option } from 'commander'
import { loadConfig } from '../config/config.js'
import type { Database } from '../db/database.js'
import type { Role } from '../domain/principal.js'
import type { AuditActor } from '../store/admin-audit.js'

/**
 * `lienthong user ...` and `lienthong token ...`: people's accounts, against the hub's database
 * (same configuration as the hub). Every change is recorded in the admin audit trail as
 * `cli:<os user>` from `cli@<host>`: an operator at the console of the server is a person too.
 */
export function userCommand (): Command {
  const user = new Command('user').description('people\'s accounts: clerks (one agency), auditors, admins')
  user.command('add <username>')
    .description('create a user; prints a generated password once unless --password-stdin')
    .addOption(new Option('--role <role>', 'clerk, auditor or admin').choices(['clerk', 'auditor', 'admin']).makeOptionMandatory())
    .option('--agency <code>', 'the clerk\'s agency (clerks only)')
    .option('--display-name <text>', 'full name as shown in the console', '')
    .option('--password-stdin', 'read the password from standard input instead of generating one')
    .option('--no-password', 'no password: API tokens only, until reset-password')
    .action(async (username: string, options: { role: Role, agency?: string, displayName: string, passwordStdin?: boolean, password: boolean }) => {
      await withDb(async (db) => {
        const { createUser } = await import('../accounts/user-admin.js')
        const password = options.password ? (options.passwordStdin === true ? await readStdin() : generatedPassword()) : undefined
        const created = await createUser(db, cliActor(), { username, role: options.role, agencyCode: options.agency ?? null, displayName: options.displayName, ...(password != null ? { password } : {}) })
        process.stdout.write(`created ${created.role} ${created.username} (${created.id})${created.agencyCode != null ? ` of ${created.agencyCode}` : ''}\n`)
        if (password != null && options.passwordStdin !== true) process.stdout.write(`password: ${password}\n(shown once; give it to ${created.username} over a safe channel)\n`)
      })
    })
  user.command('list')
    .description('list users')
    .option('--json', 'one JSON array')
    .action(async (options: { json?: boolean }) => {
      await withDb(async (db) => {
        const { listUsers } = await import('../store/users.js')
        const users = await listUsers(db)
        if (options.json === true) {
          process.stdout.write(`${JSON.stringify(users, null, 2)}\n`)
          return
        }
        for (const u of users) {
          process.stdout.write(`${u.username.padEnd(24)} ${u.role.padEnd(8)} ${(u.agencyCode ?? '-').padEnd(16)} ${u.disabled ? 'disabled' : 'enabled '} ${u.id} ${u.displayName}\n`)
        }
      })
    })
  for (const [verb, disabled] of [['disable', true], ['enable', false]] as const) {
    user.command(`${verb} <user>`)
      .description(`${verb} a user (by username or id)${disabled ? ': sessions and tokens stop at once' : ''}`)
      .action(async (who: string) => {
        await withDb(async (db) => {
          const { changeUser } = await import('../accounts/user-admin.js')
          const found = await mustFind(db, who)
          const changed = await changeUser(db, cliActor(), found.id, { disabled })
          process.stdout.write(`${changed.username} ${changed.disabled ? 'disabled' : 'enabled'}\n`)
        })
      })
  }
  user.command('reset-password <user>')
    .description('set a new password (ends the user\'s sessions); prints a generated one unless --password-stdin')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (who: string, options: { passwordStdin?: boolean }) => {
      await withDb(async (db) => {
        const { resetPassword } = await import('../accounts/user-admin.js')
        const found = await mustFind(db, who)
        const password = options.passwordStdin === true ? await readStdin() : generatedPassword()
        await resetPassword(db, cliActor(), found.id, password)
        process.stdout.write(options.passwordStdin === true ? `password of ${found.username} set\n` : `password: ${password}\n(shown once)\n`)
      })
    })
  return user
}

export function tokenCommand (): Command {
  const token = new Command('token').description('personal API tokens of users (for their scripts)')
  token.command('create <user>')
    .description('create a token for a user (by username or id); the token is printed once')
    .option('--label <text>', 'what the token is for', '')
    .option('--expires-in-days <days>', 'the token stops working after this many days (default: never)')
    .action(async (who: string, options: { label: string, expiresInDays?: string }) => {
      await withDb(async (db) => {
        const { createToken } = await import('../accounts/user-admin.js')
        const found = await mustFind(db, who)
        let expiresAt: Date | null = null
        if (options.expiresInDays != null) {
          const days = Number(options.expiresInDays)
          if (!Number.isInteger(days) || days < 1 || days > 3650) throw new Error('--expires-in-days must be a whole number of days, 1-3650')
          expiresAt = new Date(Date.now() + days * 86_400_000)
        }
        const created = await createToken(db, cliActor(), found, { label: options.label, expiresAt })
        process.stdout.write(`${created.secret}\n`)
        process.stderr.write(`created token ${created.token.id} for ${found.username}${expiresAt != null ? `, expiring ${expiresAt.toISOString()}` : ''}; store it now, it cannot be shown again\n`)
      })
    })
  token.command('revoke <tokenId>')
    .description('revoke a personal API token by its id')
    .action(async (id: string) => {
      await withDb(async (db) => {
        const { revokeToken } = await import('../accounts/user-admin.js')
        if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) throw new Error(`${id} is not a token id (a UUID, see the API or the create output)`)
        await revokeToken(db, cliActor(), id)
        process.stdout.write(`revoked ${id}\n`)
      })
    })
  return token
}

/** The operator at the server's shell, as the audit trail records them. */
export function cliActor (): AuditActor {
  let name = 'unknown'
  try { name = userInfo().username } catch { /* no passwd entry (containers): keep 'unknown' */ }
  return { userId: null, name: `cli:${name}`, via: 'cli', source: `cli@${hostname()}`, requestId: null }
}

/** 18 random bytes as base64url: 24 characters, 144 bits. */
function generatedPassword (): string {
  return randomBytes(18).toString('base64url')
}

async function readStdin (): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  // One trailing line break (echo, a heredoc) is not part of the password.
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}

async function mustFind (db: Database, who: string): Promise<import('../store/users.js').User> {
  const { findUser } = await import('../accounts/user-admin.js')
  const found = await findUser(db, who)
  if (found == null) throw new Error(`no user ${who}`)
  return found
}

async function withDb (fn: (db: Database) => Promise<void>): Promise<void> {
  // Loaded here, not at the top: the CLI starts fast for every other command.
  const { openHubDatabase } = await import('../hub/open-database.js')
  const { AgencyRegistry } = await import('../registry/agency-registry.js')
  const { syncAgencies } = await import('../store/agencies.js')
  const { HubProblem } = await import('../errors/problem.js')
  const config = loadConfig()
  const db = await openHubDatabase(config.databaseUrl, config.dataDir)
  try {
    // A clerk's agency must exist: the registry file is seeded first, as the hub does at start.
    await syncAgencies(db, await AgencyRegistry.load(config.registryFile))
    await fn(db)
  } catch (err) {
    // A refusal (taken username, unknown agency, weak password) is an operator error: its sentence.
    if (err instanceof HubProblem) throw new Error(err.detail)
    throw err
  } finally {
    await db.close()
  }
}
