import { readFile, writeFile } from 'node:fs/promises'
import { Command } from 'commander'
import { loadConfig } from '../config/config.js'
import { cliActor } from './user-command.js'
import { withRegistryDb } from './agency-command.js'

/**
 * `lienthong trust add|list` and `lienthong registry export`: the trust store's CAs held in the
 * database and the registry as a file (docs/agency-registry.md, "Registry in the database").
 * Running hubs pick a change up at their next registry poll.
 */
export function trustCommand (): Command {
  const trust = new Command('trust').description('trust store: CAs added over the trust directory, CRL freshness')
  trust.command('add <caPem>')
    .description('add a trust anchor (self-signed CA) or an intermediate CA issued by a trusted CA; checked: a CA, currently valid')
    .action(async (file: string) => {
      const pem = await readFile(file, 'latin1')
      await withRegistryDb(async (db) => {
        const { addTrustCa } = await import('../admin/trust-admin.js')
        const added = await addTrustCa(db, await currentTrustStore(db), cliActor(), pem)
        process.stdout.write(`added ${added.kind} ${added.subject} (${added.fingerprintSha256}), valid until ${added.notAfter}${added.issuer != null ? `, issued by ${added.issuer}` : ''}\n`)
      })
    })
  trust.command('list')
    .description('trust anchors and intermediates (directory and database) with their expiry; every CRL\'s freshness')
    .option('--json', 'print JSON', false)
    .action(async (options: { json: boolean }) => {
      await withRegistryDb(async (db) => {
        const { trustOverview } = await import('../admin/trust-admin.js')
        const view = await trustOverview(db, await currentTrustStore(db)) as {
          anchors: CaLine[], intermediates: CaLine[], crls: Array<{ issuer: string, nextUpdate: string | null, fresh: boolean, file: string }>
        }
        if (options.json) {
          process.stdout.write(`${JSON.stringify(view, null, 2)}\n`)
          return
        }
        for (const [kind, list] of [['anchor', view.anchors], ['intermediate', view.intermediates]] as const) {
          for (const ca of list) process.stdout.write(`${kind}\t${ca.subject}\tuntil ${ca.notAfter}${ca.expired ? ' EXPIRED' : ''}\t${ca.source}\n`)
        }
        for (const crl of view.crls) process.stdout.write(`crl\t${crl.issuer}\tnext update ${crl.nextUpdate ?? '-'}\t${crl.fresh ? 'fresh' : 'STALE'}\t${crl.file}\n`)
      })
    })
  return trust
}

interface CaLine { subject: string, notAfter: string, expired: boolean, source: string }

export function registryCommand (): Command {
  const registry = new Command('registry').description('the agency registry held in the database')
  registry.command('export')
    .description('write the registry as it rules now (the database\'s agencies, the file\'s peers and routes) as a registry file')
    .option('--out <file>', 'write to this file instead of standard output')
    .action(async (options: { out?: string }) => {
      const config = loadConfig()
      const { RegistryFile } = await import('./../registry/registry-format.js')
      const { Value } = await import('@sinclair/typebox/value')
      const raw = Value.Default(RegistryFile, JSON.parse(await readFile(config.registryFile, 'utf8'))) as import('../registry/registry-format.js').RegistryFile
      await withRegistryDb(async (db) => {
        const { exportRegistry } = await import('../registry/registry-export.js')
        const { registry: exported, warnings } = await exportRegistry(db, raw)
        for (const w of warnings) process.stderr.write(`lienthong: warning: ${w}\n`)
        const text = `${JSON.stringify(exported, null, 2)}\n`
        if (options.out != null) {
          await writeFile(options.out, text)
          process.stderr.write(`wrote ${exported.agencies.length} agencies to ${options.out}\n`)
        } else {
          process.stdout.write(text)
        }
      })
    })
  return registry
}

/** The trust directory with the database's CAs: what the hub verifies with (CRLs aside). */
async function currentTrustStore (db: import('../db/database.js').Queryable): Promise<import('../pki/trust-store.js').TrustStore> {
  const { TrustStore } = await import('../pki/trust-store.js')
  const { caSources, storedCas } = await import('../pki/stored-cas.js')
  const { mergeCrls } = await import('../pki/crl-verify.js')
  const { storedCrls } = await import('../store/crls.js')
  const store = (await TrustStore.load(loadConfig().trustDir)).withCertificates(caSources(await storedCas(db)))
  // The stored CRLs too, so that `trust list` shows the freshness the hub works with.
  return (await mergeCrls(store, (await storedCrls(db)).map((c) => ({ der: c.der, source: c.sourceUrl })))).store
}
