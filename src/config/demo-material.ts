import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, realpathSync } from 'node:fs'
import { join, relative, sep, isAbsolute } from 'node:path'
import { PACKAGE_ROOT } from '../paths.js'
import type { HubConfig } from './config.js'

/**
 * The demo PKI and registry in certs-example/ are public, private keys included: a hub running on
 * them accepts documents anyone can sign and issues receipts anyone can forge. `serve`, `worker`
 * and `start` on PostgreSQL refuse to run on them unless LIENTHONG_DEMO=1 says this is a demo;
 * `start` on the embedded database (what `npm start` runs) is the demo and always may.
 *
 * Demo material is recognised by where it lives (a path inside the package's certs-example/) and,
 * for private keys, by content too (the demo keys copied elsewhere, e.g. mounted as secrets).
 */

export const DEMO_DIR = join(PACKAGE_ROOT, 'certs-example')

export class DemoMaterialError extends Error {
  constructor (readonly findings: string[], role: string) {
    super(`lienthong ${role} refuses to run on the public demo key material of certs-example/ ` +
      '(its private keys are published: anyone could sign documents this hub accepts and forge its receipts):\n' +
      findings.map((f) => `  - ${f}`).join('\n') +
      '\nConfigure your own LIENTHONG_HUB_KEY/LIENTHONG_HUB_CERT/LIENTHONG_HUB_CHAIN, LIENTHONG_TRUST_DIR, LIENTHONG_REGISTRY and ' +
      'LIENTHONG_PUSH_CLIENT_CERT/LIENTHONG_PUSH_CLIENT_KEY/LIENTHONG_PUSH_SERVER_CA (docs/deployment.md), ' +
      'or set LIENTHONG_DEMO=1 for a demo or test installation.')
    this.name = 'DemoMaterialError'
  }
}

const realOrSame = (path: string): string => {
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}

function insideDemoDir (path: string): boolean {
  const demo = realOrSame(DEMO_DIR)
  const rel = relative(demo, realOrSame(path))
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && rel.split(sep)[0] !== '..')
}

let demoKeyDigests: Set<string> | undefined
/** SHA-256 of every private key file under certs-example/ (whitespace-insensitive). */
function demoKeys (): Set<string> {
  if (demoKeyDigests != null) return demoKeyDigests
  const digests = new Set<string>()
  const walk = (dir: string): void => {
    let entries
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const entry of entries) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.pem')) {
        const text = readFileSync(path, 'latin1')
        if (text.includes('PRIVATE KEY-----')) digests.add(keyDigest(text))
      }
    }
  }
  walk(DEMO_DIR)
  demoKeyDigests = digests
  return digests
}

const keyDigest = (pem: string): string => createHash('sha256').update(pem.replace(/\s+/g, '')).digest('hex')

function isDemoKey (file: string): boolean {
  try {
    return demoKeys().has(keyDigest(readFileSync(file, 'latin1')))
  } catch {
    return false
  }
}

/** What of the configuration is demo material (empty: none). */
export function demoMaterialIn (config: HubConfig): string[] {
  const findings: string[] = []
  const paths: Array<[string, string | undefined]> = [
    ['LIENTHONG_HUB_KEY', config.hubKeyFile],
    ['LIENTHONG_HUB_CERT', config.hubCertFile],
    ['LIENTHONG_HUB_CHAIN', config.hubChainFile],
    ['LIENTHONG_TRUST_DIR', config.trustDir],
    ['LIENTHONG_REGISTRY', config.registryFile],
    ['LIENTHONG_PUSH_CLIENT_CERT', config.delivery.clientCertFile],
    ['LIENTHONG_PUSH_CLIENT_KEY', config.delivery.clientKeyFile],
    ['LIENTHONG_PUSH_SERVER_CA', config.delivery.serverCaFile],
    ['LIENTHONG_TLS_KEY', config.tls?.keyFile],
    ['LIENTHONG_TLS_CERT', config.tls?.certFile],
    ['LIENTHONG_TLS_CLIENT_CA', config.tls?.clientCaFile]
  ]
  for (const [key, path] of paths) {
    if (path == null) continue
    if (insideDemoDir(path)) findings.push(`${key}=${path} is in certs-example/`)
  }
  const keys: Array<[string, string | undefined]> = [
    ['LIENTHONG_HUB_KEY', config.hubKeyFile],
    ['LIENTHONG_PUSH_CLIENT_KEY', config.delivery.clientKeyFile],
    ['LIENTHONG_TLS_KEY', config.tls?.keyFile]
  ]
  for (const [key, path] of keys) {
    if (path != null && !insideDemoDir(path) && isDemoKey(path)) findings.push(`${key}=${path} is a copy of a demo private key from certs-example/`)
  }
  return findings
}

/**
 * Throws DemoMaterialError when `role` would run on demo material without LIENTHONG_DEMO=1.
 * `start` without DATABASE_URL (embedded database: the single-node demo) is never refused.
 */
export function refuseDemoMaterial (config: HubConfig, role: 'start' | 'serve' | 'worker'): void {
  if (config.demo) return
  if (role === 'start' && config.databaseUrl == null) return
  const findings = demoMaterialIn(config)
  if (findings.length > 0) throw new DemoMaterialError(findings, role)
}
