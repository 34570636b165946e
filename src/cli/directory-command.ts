import { Command } from 'commander'
import { loadConfig, type HubConfig } from '../config/config.js'
import type { Database } from '../db/database.js'

/**
 * `lienthong directory show|peers|refresh` (docs/directory.md): what this hub publishes, what it
 * holds from each peer hub, and a refresh of the peers' directories now.
 */
export function directoryCommand (): Command {
  const directory = new Command('directory').description('the signed hub directory: what this hub publishes, what it holds from peer hubs')
  directory.command('show')
    .description('the directory this hub publishes at /.well-known/lienthong/directory (issues a new version when the registry changed)')
    .option('--xml', 'print the signed XML as served')
    .option('--json', 'print as JSON')
    .action(async (options: { xml?: boolean, json?: boolean }) => {
      await withDatabase(async (config, db) => {
        const { AgencyRegistry } = await import('../registry/agency-registry.js')
        const { loadHubIdentity } = await import('../evidence/hub-identity.js')
        const { configuredDirectoryPublisher } = await import('../hub/start-directory.js')
        const registry = await AgencyRegistry.load(config.registryFile)
        const hub = await loadHubIdentity({ keyFile: config.hubKeyFile, certFile: config.hubCertFile, ...(config.hubChainFile != null ? { chainFile: config.hubChainFile } : {}) })
        const published = await configuredDirectoryPublisher(config, db, hub, () => registry.all()).current()
        if (options.xml === true) { process.stdout.write(published.bytes); return }
        const d = published.directory
        if (options.json === true) { process.stdout.write(JSON.stringify({ ...d, etag: published.etag }, null, 2) + '\n'); return }
        process.stdout.write(`hub ${d.hubId}: directory version ${d.version}, issued ${d.issuedAt.toISOString()}, valid until ${d.validUntil.toISOString()}, ${d.agencies.length} agencies, signed by ${hub.fingerprintSha256}\n`)
        for (const a of d.agencies) {
          const rule = Object.entries(a.subjectRule ?? {}).map(([k, v]) => `${k}=${v}`).join(', ')
          process.stdout.write(`  ${a.code}  ${a.receives}  ${a.name}  (${a.signerFingerprints.length} certificates${rule !== '' ? `; subject ${rule}` : ''})\n`)
        }
      })
    })
  directory.command('peers')
    .description('the directory held from each peer hub: version, age, state, last fetch')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }) => {
      await withDatabase(async (_config, db) => {
        const { configuredDirectoryPeers } = await import('../routing/directory/configured-peers.js')
        const { peerDirectoryReports } = await import('../routing/directory/directory-readiness.js')
        const reports = await peerDirectoryReports(db, (await configuredDirectoryPeers(db)).map((p) => p.hubId))
        if (options.json === true) { process.stdout.write(JSON.stringify(reports, null, 2) + '\n'); return }
        if (reports.length === 0) { process.stdout.write('no peer hubs configured and no directory held\n'); return }
        const now = Date.now()
        for (const r of reports) {
          const age = r.acceptedAt == null ? '' : `, accepted ${Math.round((now - Date.parse(r.acceptedAt)) / 60_000)} min ago`
          const held = r.version == null ? 'no directory' : `version ${r.version} (${r.agencies} agencies) valid until ${r.validUntil ?? ''}${age}`
          const last = r.lastCode != null ? `; last fetch ${r.lastAttemptAt ?? ''} REFUSED ${r.lastCode}: ${r.lastDetail ?? ''}` : r.lastSuccessAt != null ? `; last fetch ok ${r.lastSuccessAt}` : ''
          process.stdout.write(`${r.hubId}: ${r.state}, ${held}${last}\n`)
        }
      })
    })
  directory.command('refresh')
    .description('fetch and verify every peer hub\'s directory now; exit 1 when one is refused')
    .action(async () => {
      await withDatabase(async (config, db) => {
        const { readFile } = await import('node:fs/promises')
        const { openRevocationSync } = await import('../hub/revocation-sync.js')
        const { configuredDirectoryPeers } = await import('../routing/directory/configured-peers.js')
        const { refreshDirectories } = await import('../routing/directory/refresh-directories.js')
        const revocation = await openRevocationSync({ db, trustDir: config.trustDir, pollMs: 3_600_000 })
        try {
          const outcomes = await refreshDirectories({
            db,
            peers: async () => await configuredDirectoryPeers(db),
            trustStore: revocation.trustStore,
            requireRevocation: config.requireRevocation,
            maxBytes: config.directory.maxBytes,
            timeoutMs: config.delivery.timeoutMs,
            tls: {
              cert: await readFile(config.delivery.clientCertFile),
              key: await readFile(config.delivery.clientKeyFile),
              ...(config.delivery.serverCaFile != null ? { ca: await readFile(config.delivery.serverCaFile) } : {})
            }
          })
          if (outcomes.length === 0) process.stdout.write('no peer hubs configured\n')
          for (const o of outcomes) {
            process.stdout.write(o.outcome === 'refused'
              ? `${o.hubId}: REFUSED ${o.code}${o.reason != null ? ` (${o.reason})` : ''}: ${o.detail}${o.heldVersion != null ? ` (version ${o.heldVersion} stays in force until its valid-until)` : ''}\n`
              : `${o.hubId}: ${o.outcome} version ${o.version}\n`)
          }
          if (outcomes.some((o) => o.outcome === 'refused')) process.exitCode = 1
        } finally {
          revocation.close()
        }
      })
    })
  return directory
}

async function withDatabase (fn: (config: HubConfig, db: Database) => Promise<void>): Promise<void> {
  const config = loadConfig()
  const { openHubDatabase } = await import('../hub/open-database.js')
  const db = await openHubDatabase(config.databaseUrl, config.dataDir)
  try {
    await fn(config, db)
  } finally {
    await db.close()
  }
}
