import { readFile } from 'node:fs/promises'
import { X509Certificate } from 'node:crypto'
import { Command } from 'commander'
import { loadConfig } from '../config/config.js'
import type { Database } from '../db/database.js'
import { cliActor } from './user-command.js'

/** Operator commands for agency credentials (same configuration as the hub: DATABASE_URL etc.). */
export function agencyCommand (): Command {
  const agency = new Command('agency').description('agency credentials (API keys, TLS client certificates)')
  const key = new Command('key').description('API keys')
  key.command('create <agencyCode>')
    .description('create an API key for an agency; the key is shown once')
    .option('--label <text>', 'what the key is for', '')
    .action(async (code: string, options: { label: string }) => {
      await withDb(async (db) => {
        await assertAgency(db, code)
        const { createApiKey } = await import('../store/credentials.js')
        const created = await createApiKey(db, code, options.label)
        const { recordAudit } = await import('../store/admin-audit.js')
        await recordAudit(db, cliActor(), { action: 'agency.api_key_create', target: `agency:${code}`, after: { credentialId: created.id, label: options.label, keyPrefix: created.key.split('_')[1] } })
        process.stdout.write(`${created.key}\n`)
        process.stderr.write(`created API key ${created.id} for ${code}; store it now, it cannot be shown again\n`)
      })
    })
  key.command('revoke <credentialId>')
    .description('revoke an API key or client certificate by its id')
    .action(async (id: string) => {
      await withDb(async (db) => {
        const { revokeCredential } = await import('../store/credentials.js')
        const { findAgencyCredential } = await import('../store/agency-overview.js')
        const found = await findAgencyCredential(db, id)
        if (!(await revokeCredential(db, id))) throw new Error(`no active credential ${id}`)
        const { recordAudit } = await import('../store/admin-audit.js')
        await recordAudit(db, cliActor(), { action: 'agency.credential_revoke', target: `agency:${found?.agencyCode ?? '?'}`, before: { credentialId: id, kind: found?.kind, label: found?.label } })
        process.stdout.write(`revoked ${id}\n`)
      })
    })
  agency.addCommand(key)
  agency.command('add-client-cert <agencyCode> <certPem>')
    .description('register a TLS client certificate for an agency system')
    .action(async (code: string, file: string) => {
      await withDb(async (db) => {
        await assertAgency(db, code)
        const { registerClientCertificate } = await import('../store/credentials.js')
        const cert = new X509Certificate(await readFile(file))
        const id = await registerClientCertificate(db, code, cert.fingerprint256, cert.subject.replaceAll('\n', ', '))
        const { recordAudit } = await import('../store/admin-audit.js')
        await recordAudit(db, cliActor(), { action: 'agency.client_cert_add', target: `agency:${code}`, after: { credentialId: id, fingerprintSha256: cert.fingerprint256, subject: cert.subject.replaceAll('\n', ', ') } })
        process.stdout.write(`registered client certificate ${id} (${cert.fingerprint256}) for ${code}\n`)
      })
    })
  return agency
}

async function withDb (fn: (db: Database) => Promise<void>): Promise<void> {
  // Loaded here, not at the top: the CLI starts fast for every other command.
  const { openHubDatabase } = await import('../hub/open-database.js')
  const { AgencyRegistry } = await import('../registry/agency-registry.js')
  const { syncAgencies } = await import('../store/agencies.js')
  const config = loadConfig()
  const db = await openHubDatabase(config.databaseUrl, config.dataDir)
  try {
    await syncAgencies(db, await AgencyRegistry.load(config.registryFile))
    await fn(db)
  } finally {
    await db.close()
  }
}

async function assertAgency (db: Database, code: string): Promise<void> {
  const { agencyExists } = await import('../store/agencies.js')
  if (!(await agencyExists(db, code))) throw new Error(`agency ${code} is not in the registry`)
}
