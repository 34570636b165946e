import { Command } from 'commander'
import { loadConfig } from '../config/config.js'
import type { Database } from '../db/database.js'

/**
 * `lienthong route list|add|remove|resolve` and `lienthong peer list|add|remove`: the routing
 * rules and peer hubs in the hub's database (docs/deployment.md). Rows added here are kept across
 * restarts (the registry file's are replaced from the file at each start); running hubs see a
 * change within 5 s. Mistakes exit 2 with a message.
 */
export function routeCommand (): Command {
  const command = new Command('route').description('routes to peer hubs and upstream axes: explicit codes, prefix rules (H98, 31.H98, 0201.*), the default (*)')
  command.command('list')
    .description('every rule: kind, pattern, target, source (registry file or cli)')
    .action(async () => {
      await withDb(async (db) => {
        const { listRules } = await import('../store/routes.js')
        for (const r of await listRules(db)) process.stdout.write(`${r.rule_kind}\t${r.pattern}\t${r.target_kind}:${r.target_id}\t${r.source}\n`)
      })
    })
  command.command('add <pattern> <target>')
    .description('route a code (--prefix: a prefix rule; "*": the default) to peer:<hub-id> or upstream:<id>')
    .option('--prefix', 'the pattern is a prefix rule, not one agency code', false)
    .action(async (pattern: string, targetText: string, options: { prefix: boolean }) => {
      const target = parseTarget(targetText)
      const kind = pattern === '*' ? 'default' : options.prefix ? 'prefix' : 'explicit'
      if (kind === 'prefix') {
        const { parseRoutePattern } = await import('../domain/route-pattern.js')
        parseRoutePattern(pattern)
      } else if (kind === 'explicit' && !/^[A-Za-z0-9]+(\.[A-Za-z0-9]+){0,4}$/.test(pattern)) {
        throw new Error(`"${pattern}" is not an agency code (use --prefix for a prefix rule)`)
      }
      await withDb(async (db) => {
        const { listPeers, listUpstreams, upsertRule } = await import('../store/routes.js')
        const { agencyExists } = await import('../store/agencies.js')
        const known = target.kind === 'peer' ? (await listPeers(db)).map((p) => p.hub_id) : (await listUpstreams(db)).map((u) => u.upstream_id)
        if (!known.includes(target.id)) throw new Error(`no ${target.kind} ${target.id} (add it first${target.kind === 'peer' ? ' with `lienthong peer add`' : ' in the registry file'})`)
        if (kind === 'explicit' && await agencyExists(db, pattern)) throw new Error(`${pattern} is an agency of this hub: a route to it would never be used`)
        await upsertRule(db, { rule_kind: kind, pattern, target_kind: target.kind, target_id: target.id, source: 'cli' })
        process.stdout.write(`${kind} ${pattern} -> ${target.kind}:${target.id}\n`)
      })
    })
  command.command('remove <pattern>')
    .description('remove a rule (--prefix for a prefix rule; "*" for the default)')
    .option('--prefix', 'the pattern is a prefix rule', false)
    .action(async (pattern: string, options: { prefix: boolean }) => {
      await withDb(async (db) => {
        const { removeRule } = await import('../store/routes.js')
        const removed = await removeRule(db, pattern === '*' ? 'default' : options.prefix ? 'prefix' : 'explicit', pattern)
        if (removed == null) throw new Error(`no ${options.prefix ? 'prefix rule' : 'route'} ${pattern}`)
        process.stdout.write(`removed ${removed.rule_kind} ${pattern}\n`)
        if (removed.source === 'registry') process.stderr.write('lienthong: this rule comes from the registry file: it is back at the next start unless removed there too\n')
      })
    })
  command.command('resolve <code>')
    .description('where a recipient code leads from this hub, and by which rule (the signed directory is not consulted here)')
    .action(async (code: string) => {
      await withDb(async (db) => {
        const { agencyExists } = await import('../store/agencies.js')
        const { StoredRoutes } = await import('../routing/stored-routes.js')
        const { describeTarget } = await import('../routing/route.js')
        if (await agencyExists(db, code)) {
          process.stdout.write(`${code}\tlocal\tagency\n`)
          return
        }
        const route = (await new StoredRoutes(db).refresh()).resolveRemote(code)
        if (route == null) {
          process.stdout.write(`${code}\tunroutable\n`)
          process.exitCode = 1
          return
        }
        process.stdout.write(`${code}\t${describeTarget(route.target)}\t${route.source}\t${route.rule}\n`)
      })
    })
  return command
}

export function peerCommand (): Command {
  const command = new Command('peer').description('peer lienthong hubs: base URL and the certificates that identify them')
  const list = (value: string, previous: string[]): string[] => [...previous, ...value.split(',').map((v) => v.trim()).filter((v) => v !== '')]
  command.command('list')
    .description('the peer hubs (id, URL, certificate fingerprints, source)')
    .action(async () => {
      await withDb(async (db) => {
        const { listPeers } = await import('../store/routes.js')
        for (const p of await listPeers(db)) {
          process.stdout.write(`${p.hub_id}\t${p.base_url}\tserver=${p.server_certificates.join(',')}\tclient=${p.client_certificates.join(',')}\tsigning=${p.signing_certificates.join(',')}\t${p.source}\n`)
        }
      })
    })
  command.command('add <hubId> <url>')
    .description('add or replace a peer hub')
    .requiredOption('--server-cert <sha256...>', 'fingerprint of its TLS server certificate (pinned when we call it)', list, [])
    .requiredOption('--client-cert <sha256...>', 'fingerprint of the TLS client certificate it presents when it calls us', list, [])
    .requiredOption('--signing-cert <sha256...>', 'fingerprint of the certificate signing its directory and receipts', list, [])
    .action(async (hubId: string, url: string, options: { serverCert: string[], clientCert: string[], signingCert: string[] }) => {
      if (!/^[a-z0-9][a-z0-9.-]{0,62}$/.test(hubId)) throw new Error('a hub id is lower-case letters, digits, dots and dashes, at most 63')
      if (!/^https?:\/\//.test(url)) throw new Error('the peer URL must start with https:// (http:// only for development)')
      const { normaliseFingerprint } = await import('../registry/agency-registry.js')
      const fps = (values: string[], name: string): string[] => {
        if (values.length === 0) throw new Error(`--${name} is required`)
        for (const v of values) if (!/^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/.test(v)) throw new Error(`--${name} ${v} is not a SHA-256 fingerprint`)
        return values.map(normaliseFingerprint)
      }
      const row = { hub_id: hubId, base_url: url, server_certificates: fps(options.serverCert, 'server-cert'), client_certificates: fps(options.clientCert, 'client-cert'), signing_certificates: fps(options.signingCert, 'signing-cert'), source: 'cli' as const }
      await withDb(async (db) => {
        const { upsertPeer } = await import('../store/routes.js')
        await upsertPeer(db, row)
        process.stdout.write(`peer ${hubId} at ${url}\n`)
      })
    })
  command.command('remove <hubId>')
    .description('remove a peer; refused while routes lead to it')
    .action(async (hubId: string) => {
      await withDb(async (db) => {
        const { removePeer } = await import('../store/routes.js')
        const result = await removePeer(db, hubId)
        if (result.rulesLeft.length > 0) throw new Error(`routes still lead to ${hubId}: ${result.rulesLeft.map((r) => `${r.rule_kind} ${r.pattern}`).join(', ')} (remove them first)`)
        if (!result.removed) throw new Error(`no peer ${hubId}`)
        process.stdout.write(`removed ${hubId}\n`)
      })
    })
  return command
}

function parseTarget (text: string): { kind: 'peer' | 'upstream', id: string } {
  const match = /^(peer|upstream):([a-z0-9][a-z0-9.-]{0,62})$/.exec(text)
  if (match == null) throw new Error(`"${text}" is not a target: write peer:<hub-id> or upstream:<id>`)
  return { kind: match[1] as 'peer' | 'upstream', id: match[2] as string }
}

async function withDb (fn: (db: Database) => Promise<void>): Promise<void> {
  // Loaded here, not at the top: the CLI starts fast for every other command.
  const { openHubDatabase } = await import('../hub/open-database.js')
  const { AgencyRegistry } = await import('../registry/agency-registry.js')
  const { syncAgencies } = await import('../store/agencies.js')
  const { syncRoutes } = await import('../store/routes.js')
  const config = loadConfig()
  const db = await openHubDatabase(config.databaseUrl, config.dataDir)
  try {
    // The registry file's agencies and routes first, as the hub does at start.
    const registry = await AgencyRegistry.load(config.registryFile)
    await syncAgencies(db, registry)
    await db.transaction(async (tx) => await syncRoutes(tx, registry.routing))
    await fn(db)
  } finally {
    await db.close()
  }
}
