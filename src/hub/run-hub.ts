import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { loadConfig } from '../config/config.js'
import { refuseDemoMaterial } from '../config/demo-material.js'
import { startHub, type RunningHub } from './start-hub.js'
import { apiKeyPrefixIsLive, createApiKey } from '../store/credentials.js'
import { listAgencyCodes } from '../store/agencies.js'
import type { Database } from '../db/database.js'
import type { ScryptParams } from '../accounts/password-hash.js'
import { DEMO_REGISTRY } from '../paths.js'
import { demoAccounts, demoAccountsScrypt } from './demo-accounts.js'

export async function runHub (role: 'start' | 'serve'): Promise<void> {
  const config = loadConfig()
  refuseDemoMaterial(config, role)
  // Before anything starts: a hub that is not a demo refuses the test-only hash cost.
  const demoHashCost = demoAccountsScrypt(process.env, config.demo)
  const hub = await startHub(config, { role })
  // Signals are handled from the moment the hub runs: the demo set-up below takes seconds (the
  // demo accounts' password hashes), and a SIGTERM meanwhile must still stop the hub cleanly.
  const stopping = installShutdown(hub, config.shutdownTimeoutMs)
  const out = (line: string): void => { process.stdout.write(line + '\n') }
  out(`lienthong ${role}: listening on ${hub.url}`)
  out(`  console:  ${hub.url}/console`)
  out(`  API:      ${hub.url}/v1/documents`)
  out(`  OpenAPI:  ${hub.url}/openapi.json`)
  out(`  health:   ${hub.url}/health/ready`)
  out(`  database: ${config.databaseUrl != null ? 'PostgreSQL' : `embedded PGlite in ${join(config.dataDir, 'pglite')}`}`)
  if (config.registryFile === DEMO_REGISTRY) {
    try {
      await printDemoCredentials(hub, config, demoHashCost, out)
    } catch (err) {
      // The database closed under the set-up by a stop: nothing to report.
      if (stopping()) return
      throw err
    }
  }
}

/** The demo API keys and (embedded database) the demo accounts, printed and kept under the data directory. */
async function printDemoCredentials (hub: RunningHub, config: ReturnType<typeof loadConfig>, hashCost: ScryptParams, out: (line: string) => void): Promise<void> {
  const keys = await demoApiKeys(hub.db, config.dataDir)
  out('  demo registry and PKI from certs-example/ (NOT FOR PRODUCTION); demo API keys:')
  for (const [agency, key] of Object.entries(keys)) out(`    ${agency}  ${key}`)
  out(`  (also in ${join(config.dataDir, 'demo-api-keys.json')})`)
  // People only on the embedded database: a PostgreSQL hub's users are the operator's to make.
  if (config.databaseUrl == null) {
    out(`  demo accounts (sign in at ${hub.url}/console, or POST ${hub.url}/api/session):`)
    for (const a of await demoAccounts(hub.db, config.dataDir, hashCost)) out(`    ${a.username.padEnd(16)} ${a.password}  ${a.role}${a.agencyCode != null ? ` of ${a.agencyCode}` : ''}`)
    out(`  (also in ${join(config.dataDir, 'demo-accounts.json')})`)
  }
}

/**
 * With the demo registry, each demo agency gets one API key on first start, kept in
 * data/demo-api-keys.json so that the README's curl line keeps working across restarts.
 */
async function demoApiKeys (db: Database, dataDir: string): Promise<Record<string, string>> {
  const file = join(dataDir, 'demo-api-keys.json')
  let keys: Record<string, string> = {}
  try {
    keys = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>
  } catch {
    // First start (no file) or a damaged file: new demo keys are made below and the file rewritten.
  }
  let changed = false
  for (const code of await listAgencyCodes(db)) {
    const existing = keys[code]
    const live = existing != null && await apiKeyPrefixIsLive(db, existing.split('_')[1] ?? '')
    if (!live) {
      keys[code] = (await createApiKey(db, code, 'demo')).key
      changed = true
    }
  }
  if (changed) {
    await mkdir(dataDir, { recursive: true })
    await writeFile(file, JSON.stringify(keys, null, 2) + '\n', { mode: 0o600 })
  }
  return keys
}

/**
 * SIGTERM/SIGINT: the gateway stops taking connections and lets requests in progress finish
 * (`start`: then the worker its deliveries), each for at most `timeoutMs`, then closes the rest
 * and exits 0. Should closing itself hang (a dependency that never answers), the process exits 1
 * once both deadlines and some slack have passed.
 */
function installShutdown (hub: RunningHub, timeoutMs: number): () => boolean {
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    process.stdout.write(`lienthong: ${signal}, stopping\n`)
    const backstop = setTimeout(() => {
      process.stderr.write(`lienthong: did not stop within ${2 * timeoutMs + 10_000} ms; exiting\n`)
      process.exit(1)
    }, 2 * timeoutMs + 10_000)
    backstop.unref()
    hub.close().then(() => process.exit(0), (err: unknown) => {
      process.stderr.write(`lienthong: stopping failed: ${(err as Error).message}\n`)
      process.exit(1)
    })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  // SIGHUP: reload the trust store (new CRLs, anchors) and the agency registry without a restart.
  // A failed reload keeps the running configuration.
  process.on('SIGHUP', () => {
    hub.reload().then(
      () => process.stdout.write('lienthong: trust store and registry reloaded\n'),
      (err: unknown) => process.stderr.write(`lienthong: reload failed, keeping the current configuration: ${(err as Error).message}\n`)
    )
  })
  return () => stopping
}
