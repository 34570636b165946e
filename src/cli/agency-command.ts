import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { X509Certificate } from 'node:crypto'
import { Command } from 'commander'
import { loadConfig } from '../config/config.js'
import type { Database } from '../db/database.js'
import type { AgencyEntry } from '../registry/registry-format.js'
import { cliActor } from './user-command.js'

/**
 * Operator commands for agencies and their credentials (same configuration as the hub:
 * DATABASE_URL etc.). Changes go to the database, audited as cli:<os user>; running hubs pick
 * them up at their next registry poll (docs/agency-registry.md, "Registry in the database").
 */
export function agencyCommand (): Command {
  const agency = new Command('agency').description('agencies of the registry (held in the database), their signing certificates and credentials')
  agency.command('list')
    .description('agencies with delivery, who manages them (file or admin) and their signing certificates')
    .option('--json', 'print JSON', false)
    .action(async (options: { json: boolean }) => {
      await withDb(async (db) => {
        const { storedAgencies } = await import('../registry/registry-db.js')
        const agencies = await storedAgencies(db)
        if (options.json) {
          process.stdout.write(`${JSON.stringify(agencies.map((a) => ({ ...a.entry, managedBy: a.managedBy, signingCertificates: a.signingCertificates })), null, 2)}\n`)
          return
        }
        for (const a of agencies) {
          const d = a.entry.delivery
          const live = a.signingCertificates.filter((c) => c.revokedAt == null).length
          const revoked = a.signingCertificates.length - live
          process.stdout.write(`${a.entry.code}\t${a.entry.name}\t${d.mode === 'push' ? `push ${d.url}` : 'pull'}\t${a.managedBy}\t${live} certificate(s)${revoked > 0 ? ` (+${revoked} revoked)` : ''}${a.entry.subjectRule != null ? ' + subject rule' : ''}\n`)
        }
      })
    })
  agency.command('add <code>')
    .description('create an agency (its row rules from now on; then `agency key create` for its system)')
    .requiredOption('--name <name>', 'the agency\'s name')
    .option('--pull', 'it fetches its documents from its inbox (default)')
    .option('--push <url>', 'the hub pushes its documents to this https:// endpoint')
    .option('--server-cert <fingerprint...>', 'push: SHA-256 of the endpoint\'s TLS server certificate (pin)')
    .option('--server-subject <attr=value...>', 'push: subject attributes the endpoint\'s certificate must carry (pin)')
    .option('--cert <pemFile...>', 'its signing certificate(s), PEM')
    .option('--subject-rule <attr=value...>', 'bind every trusted certificate whose subject carries these attributes')
    .option('--allow-weak', 'accept its RSA-SHA1/SHA-1 signatures (flagged weak)')
    .action(async (code: string, options: DeliveryOptions & { name: string, cert?: string[], subjectRule?: string[], allowWeak?: boolean }) => {
      const certs = await Promise.all((options.cert ?? []).map(async (f) => ({ pem: await readFile(f, 'latin1'), label: basename(f) })))
      await withDb(async (db) => {
        const { createAgency } = await import('../admin/agency-admin.js')
        const created = await createAgency(db, cliActor(), {
          code,
          name: options.name,
          delivery: deliveryOf(options, undefined) ?? { mode: 'pull' },
          ...(options.subjectRule != null ? { subjectRule: attributes(options.subjectRule) } : {}),
          ...(options.allowWeak === true ? { allowWeakAlgorithms: true } : {}),
          signingCertificates: certs
        })
        process.stdout.write(`created agency ${code} (${created.entry.delivery.mode}, ${created.signingCertificates.length} signing certificate(s))\n`)
      })
    })
  agency.command('update <code>')
    .description('change an agency\'s name, delivery, subject rule or weak-algorithm setting (an agency of the file becomes admin-managed)')
    .option('--name <name>', 'new name')
    .option('--pull', 'switch to pull delivery')
    .option('--push <url>', 'switch to (or change the endpoint of) push delivery')
    .option('--server-cert <fingerprint...>', 'push: replace the server-certificate pins')
    .option('--server-subject <attr=value...>', 'push: replace the server-subject pin')
    .option('--subject-rule <attr=value...>', 'replace the subject rule')
    .option('--no-subject-rule', 'remove the subject rule')
    .option('--allow-weak', 'accept RSA-SHA1/SHA-1 signatures (flagged weak)')
    .option('--no-allow-weak', 'refuse RSA-SHA1/SHA-1 signatures')
    .action(async (code: string, options: DeliveryOptions & { name?: string, subjectRule?: string[] | false, allowWeak?: boolean }) => {
      await withDb(async (db) => {
        const { updateAgency } = await import('../admin/agency-admin.js')
        const { storedAgencies } = await import('../registry/registry-db.js')
        const current = (await storedAgencies(db, code))[0]
        if (current == null) throw new Error(`no agency ${code}`)
        const delivery = deliveryOf(options, current.entry.delivery)
        const updated = await updateAgency(db, cliActor(), code, {
          ...(options.name != null ? { name: options.name } : {}),
          ...(delivery != null ? { delivery } : {}),
          ...(options.subjectRule === false ? { subjectRule: null } : options.subjectRule != null ? { subjectRule: attributes(options.subjectRule) } : {}),
          ...(options.allowWeak != null ? { allowWeakAlgorithms: options.allowWeak } : {})
        })
        const d = updated.entry.delivery
        process.stdout.write(`updated agency ${code}: ${updated.entry.name}, ${d.mode === 'push' ? `push ${d.url}` : 'pull'}\n`)
      })
    })
  agency.command('cert-add <code> <certPem>')
    .description('register a signing certificate for an agency (its SHA-256 fingerprint binds it)')
    .option('--label <text>', 'what it is (whose, which token)', '')
    .action(async (code: string, file: string, options: { label: string }) => {
      const pem = await readFile(file, 'latin1')
      await withDb(async (db) => {
        const { addSigningCertificate } = await import('../admin/agency-admin.js')
        const added = await addSigningCertificate(db, cliActor(), code, pem, options.label)
        process.stdout.write(`registered ${added.fingerprint} (${added.subject}, until ${added.notAfter.toISOString()}) for ${code}\n`)
      })
    })
  agency.command('cert-revoke <code> <fingerprint>')
    .description('revoke a signing certificate of an agency: its documents signed with it are refused (SENDER_MISMATCH)')
    .action(async (code: string, fingerprint: string) => {
      await withDb(async (db) => {
        const { revokeAgencySigningCertificate } = await import('../admin/agency-admin.js')
        const revoked = await revokeAgencySigningCertificate(db, cliActor(), code, fingerprint)
        process.stdout.write(`revoked ${revoked.fingerprint} for ${code}\n`)
      })
    })
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

interface DeliveryOptions { pull?: boolean, push?: string, serverCert?: string[], serverSubject?: string[] }

/** The delivery the options ask for, starting from `current` (undefined: the options name none). */
function deliveryOf (options: DeliveryOptions, current: AgencyEntry['delivery'] | undefined): AgencyEntry['delivery'] | undefined {
  if (options.pull === true && (options.push != null || options.serverCert != null || options.serverSubject != null)) throw new Error('--pull takes no --push, --server-cert or --server-subject')
  if (options.pull === true) return { mode: 'pull' }
  if (options.push == null && options.serverCert == null && options.serverSubject == null) return undefined
  const base = current?.mode === 'push' ? current : undefined
  const url = options.push ?? base?.url
  if (url == null) throw new Error('--server-cert and --server-subject need --push <url> (the agency receives by pull)')
  const serverCertificates = options.serverCert ?? base?.serverCertificates
  const serverSubject = options.serverSubject != null ? attributes(options.serverSubject) : base?.serverSubject
  return { mode: 'push', url, ...(serverCertificates != null ? { serverCertificates } : {}), ...(serverSubject != null ? { serverSubject } : {}) }
}

/** `CN=x O=y` pairs (as --subject-rule and --server-subject take them) as an object. */
function attributes (pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(pairs.map((pair) => {
    const at = pair.indexOf('=')
    if (at <= 0 || at === pair.length - 1) throw new Error(`"${pair}" is not attribute=value`)
    return [pair.slice(0, at), pair.slice(at + 1)]
  }))
}

const withDb = async (fn: (db: Database) => Promise<void>): Promise<void> => { await withRegistryDb(fn) }

/**
 * The hub's database, seeded from the registry file first as the hub does at start (an agency
 * of the file exists before the first start). A refusal (HubProblem: unknown agency, a code taken,
 * a certificate that does not qualify) is an operator error: its sentence, exit 2.
 */
export async function withRegistryDb (fn: (db: Database) => Promise<void>): Promise<void> {
  // Loaded here, not at the top: the CLI starts fast for every other command.
  const { openHubDatabase } = await import('../hub/open-database.js')
  const { AgencyRegistry } = await import('../registry/agency-registry.js')
  const { syncAgencies } = await import('../store/agencies.js')
  const { HubProblem } = await import('../errors/problem.js')
  const config = loadConfig()
  const db = await openHubDatabase(config.databaseUrl, config.dataDir)
  try {
    await syncAgencies(db, await AgencyRegistry.load(config.registryFile))
    await fn(db)
  } catch (err) {
    if (err instanceof HubProblem) throw new Error(err.detail)
    throw err
  } finally {
    await db.close()
  }
}

async function assertAgency (db: Database, code: string): Promise<void> {
  const { agencyExists } = await import('../store/agencies.js')
  if (!(await agencyExists(db, code))) throw new Error(`agency ${code} is not in the registry`)
}
