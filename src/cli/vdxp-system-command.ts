import { Command } from 'commander'
import { loadConfig } from '../config/config.js'
import type { Database } from '../db/database.js'

/**
 * `lienthong vdxp-system add|rotate|list|remove`: the systems that connect through /vdxp with the
 * national axis SDK (docs/vdxp-compat.md). A secret is shown once, when it is created or rotated.
 */
export function vdxpSystemCommand (): Command {
  const command = new Command('vdxp-system').description('VDXP systems (agency software on the national axis SDK): system id, agencies, secret')
  const list = (value: string, previous: string[]): string[] => [...previous, ...value.split(',').map((v) => v.trim()).filter((v) => v !== '')]
  command.command('add <systemId>')
    .description('register a system serving one or more agencies; prints its new secret once')
    .requiredOption('--agency <code...>', 'an agency the system serves (repeat or comma-separate)', list, [])
    .option('--allow-ip <cidr...>', 'client address or CIDR range the system may call from (default: any)', list, [])
    .option('--allow-directory-changes', 'let the system call registerAgency/deleteAgency', false)
    .action(async (systemId: string, options: { agency: string[], allowIp: string[], allowDirectoryChanges: boolean }) => {
      if (!/^[A-Za-z0-9._-]{1,100}$/.test(systemId)) throw new Error('a system id is 1-100 letters, digits, dots, dashes or underscores')
      const { checkAllowListEntry } = await import('../vdxp/ip-allow-list.js')
      for (const entry of options.allowIp) checkAllowListEntry(entry)
      await withDb(async (db, key) => {
        const { agencyExists } = await import('../store/agencies.js')
        for (const code of options.agency) if (!(await agencyExists(db, code))) throw new Error(`agency ${code} is not in the registry`)
        const { newSecret, sealSecret } = await import('../vdxp/secret-box.js')
        const { insertVdxpSystem } = await import('../store/vdxp-systems.js')
        const secret = newSecret()
        const added = await insertVdxpSystem(db, {
          systemId, agencies: [...new Set(options.agency)], sealed: sealSecret(key, systemId, secret), allowDirectoryChanges: options.allowDirectoryChanges, ipAllowList: options.allowIp
        })
        if (!added) throw new Error(`system ${systemId} exists already (rotate its secret or remove it first)`)
        process.stdout.write(`${secret}\n`)
        process.stderr.write(`added VDXP system ${systemId} for ${options.agency.join(', ')}; give its IT staff this secret now, it cannot be shown again\n`)
      })
    })
  command.command('rotate <systemId>')
    .description('replace the secret of a system; prints the new secret once (the old one stops working at once)')
    .action(async (systemId: string) => {
      await withDb(async (db, key) => {
        const { newSecret, sealSecret } = await import('../vdxp/secret-box.js')
        const { rotateVdxpSecret } = await import('../store/vdxp-systems.js')
        const secret = newSecret()
        if (!(await rotateVdxpSecret(db, systemId, sealSecret(key, systemId, secret)))) throw new Error(`no VDXP system ${systemId}`)
        process.stdout.write(`${secret}\n`)
      })
    })
  command.command('list')
    .description('the registered systems (never their secrets)')
    .action(async () => {
      await withDb(async (db) => {
        const { listVdxpSystems } = await import('../store/vdxp-systems.js')
        for (const s of await listVdxpSystems(db)) {
          process.stdout.write(`${s.system_id}\tagencies=${s.agencies.join(',')}\tdirectory-changes=${s.allow_directory_changes ? 'yes' : 'no'}\tallow-ip=${s.ip_allow_list.length === 0 ? 'any' : s.ip_allow_list.join(',')}\n`)
        }
      })
    })
  command.command('remove <systemId>')
    .description('remove a system: its secret stops working at once')
    .action(async (systemId: string) => {
      await withDb(async (db) => {
        const { removeVdxpSystem } = await import('../store/vdxp-systems.js')
        if (!(await removeVdxpSystem(db, systemId))) throw new Error(`no VDXP system ${systemId}`)
        process.stdout.write(`removed ${systemId}\n`)
      })
    })
  return command
}

async function withDb (fn: (db: Database, key: Buffer) => Promise<void>): Promise<void> {
  // Loaded here, not at the top: the CLI starts fast for every other command.
  const { openHubDatabase } = await import('../hub/open-database.js')
  const { AgencyRegistry } = await import('../registry/agency-registry.js')
  const { syncAgencies } = await import('../store/agencies.js')
  const { loadVdxpKey } = await import('../vdxp/load-vdxp-key.js')
  const config = loadConfig()
  const key = await loadVdxpKey(config)
  const db = await openHubDatabase(config.databaseUrl, config.dataDir)
  try {
    await syncAgencies(db, await AgencyRegistry.load(config.registryFile))
    await fn(db, key)
  } finally {
    await db.close()
  }
}
