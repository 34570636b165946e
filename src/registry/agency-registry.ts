import { readFile } from 'node:fs/promises'
import { Value } from '@sinclair/typebox/value'
import { RegistryFile, type AgencyEntry, type PeerAgencyEntry } from './registry-format.js'
import { checkRoutingSections, type RoutingSections } from './routing-sections.js'
import { subjectAttributeOid } from '../pki/subject-attributes.js'
import { insecurePushWarning, pinOf, pushRefusal, pushSettingsFromEnv, type PushSettings } from './push-endpoint.js'

export class RegistryError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'RegistryError'
  }
}

/** What sender binding needs to know about a (path-validated) signer certificate. */
export interface SignerIdentity {
  fingerprintSha256: string
  /** Attribute OID -> values, from the certificate subject. */
  subject: ReadonlyMap<string, readonly string[]>
}

export interface RegistryOptions {
  /** Development relaxations of the push rules; default from the environment (push-endpoint.ts). */
  push?: PushSettings
  /** Where the loud warning for an endpoint let through by a development setting goes (default: stderr). */
  warn?: (message: string) => void
  /**
   * Refuse an agency nothing can sign for (no fingerprint, no subject rule): a typo guard for the
   * file (default true). Rows of the database may legitimately have none (every certificate
   * revoked; an agency that only receives): they load, and nothing binds to them.
   */
  requireSigner?: boolean
}

const warned = new Set<string>()
/** Each warning once per process (the registry is loaded by the gateway, the worker, each verification thread). */
function warnOnce (message: string): void {
  if (warned.has(message)) return
  warned.add(message)
  process.stderr.write(`lienthong: ${message}\n`)
}

/** What sender binding and the signature profile read of an agency (local, or served by a peer hub). */
export type SigningAgency = Pick<AgencyEntry, 'code' | 'name' | 'certificates' | 'subjectRule' | 'allowWeakAlgorithms' | 'allowUnsignedEnvelopes'>

export class AgencyRegistry {
  private readonly byCode: Map<string, AgencyEntry>
  /** Agencies of peer hubs (`peerAgencies`): signers of forwarded documents, never local recipients. */
  private readonly elsewhere = new Map<string, SigningAgency>()
  /** Peers, upstreams and routes (empty when the file has none): seeded into the database (src/store/routes.ts). */
  routing: RoutingSections = { peers: [], upstreams: [], routes: { explicit: [], prefixes: [] } }

  constructor (entries: readonly AgencyEntry[], source = 'registry', options: RegistryOptions = {}) {
    this.byCode = new Map()
    const push = options.push ?? pushSettingsFromEnv()
    const warn = options.warn ?? warnOnce
    entries.forEach((entry, i) => {
      const at = `${source}: /agencies/${i}`
      if (this.byCode.has(entry.code)) throw new RegistryError(`${at}/code agency ${entry.code} is listed twice`)
      for (const key of Object.keys(entry.subjectRule ?? {})) {
        if (subjectAttributeOid(key) == null) throw new RegistryError(`${at}/subjectRule/${key} unknown subject attribute "${key}" (agency ${entry.code})`)
      }
      if (entry.certificates.length === 0 && entry.subjectRule == null && options.requireSigner !== false) {
        throw new RegistryError(`${at} agency ${entry.code} has neither certificates nor a subjectRule: nothing could ever sign for it`)
      }
      if (entry.delivery.mode === 'push') {
        for (const key of Object.keys(entry.delivery.serverSubject ?? {})) {
          if (subjectAttributeOid(key) == null) throw new RegistryError(`${at}/delivery/serverSubject/${key} unknown subject attribute "${key}" (agency ${entry.code})`)
        }
        const pin = pinOf(entry.delivery)
        const refusal = pushRefusal(entry.delivery.url, pin, push)
        if (refusal != null) throw new RegistryError(`${at}/delivery agency ${entry.code}: ${refusal}`)
        const warning = insecurePushWarning(entry.code, entry.delivery.url, pin)
        if (warning != null) warn(`${source}: ${warning}`)
      }
      this.byCode.set(entry.code, { ...entry, certificates: entry.certificates.map(normaliseFingerprint) })
    })
  }

  static async load (file: string, options: RegistryOptions = {}): Promise<AgencyRegistry> {
    let raw: unknown
    try {
      raw = JSON.parse(await readFile(file, 'utf8'))
    } catch (err) {
      throw new RegistryError(`cannot read agency registry ${file}: ${(err as Error).message}`)
    }
    return AgencyRegistry.fromJson(raw, file, options)
  }

  static fromJson (raw: unknown, source = 'registry', options: RegistryOptions = {}): AgencyRegistry {
    const withDefaults = Value.Default(RegistryFile, structuredClone(raw))
    const firstError = Value.Errors(RegistryFile, withDefaults).First()
    if (firstError != null) {
      throw new RegistryError(`${source}: ${firstError.path || '/'} ${firstError.message}`)
    }
    const file = withDefaults as RegistryFile
    const registry = new AgencyRegistry(file.agencies, source, options)
    registry.addPeerAgencies(file.peerAgencies ?? [], source)
    const routing = checkRoutingSections(file, registry.byCode, normaliseFingerprint)
    if ('error' in routing) throw new RegistryError(`${source}: ${routing.error}`)
    registry.routing = routing
    return registry
  }

  /**
   * This registry's peer agencies and routing with other local agencies: the rows of the database
   * (src/registry/registry-db.ts), which rule over the file's /agencies once seeded. Checked like
   * the file's (subject attribute names, push endpoint rules), except that an agency nothing can
   * sign for is allowed. A peer agency that is now local is dropped (local ones are looked up first).
   */
  withLocalAgencies (entries: readonly AgencyEntry[], source = 'database', options: RegistryOptions = {}): AgencyRegistry {
    const next = new AgencyRegistry(entries, source, { ...options, requireSigner: false })
    for (const [code, entry] of this.elsewhere) if (!next.byCode.has(code)) next.elsewhere.set(code, entry)
    next.routing = this.routing
    return next
  }

  get (code: string): AgencyEntry | undefined {
    return this.byCode.get(code)
  }

  /**
   * The agency whose signature a document from `code` must carry: one of this hub's, else one a
   * peer hub serves (forwarded documents). A local agency's credentials are the only way to
   * submit here, so a peer agency's entry only ever verifies what a peer forwarded.
   */
  signer (code: string): SigningAgency | undefined {
    return this.byCode.get(code) ?? this.elsewhere.get(code)
  }

  private addPeerAgencies (entries: readonly PeerAgencyEntry[], source: string): void {
    entries.forEach((entry, i) => {
      const at = `${source}: /peerAgencies/${i}`
      if (this.byCode.has(entry.code)) throw new RegistryError(`${at}/code ${entry.code} is an agency of this hub: list it once, in /agencies`)
      if (this.elsewhere.has(entry.code)) throw new RegistryError(`${at}/code agency ${entry.code} is listed twice`)
      for (const key of Object.keys(entry.subjectRule ?? {})) {
        if (subjectAttributeOid(key) == null) throw new RegistryError(`${at}/subjectRule/${key} unknown subject attribute "${key}" (agency ${entry.code})`)
      }
      if (entry.certificates.length === 0 && entry.subjectRule == null) {
        throw new RegistryError(`${at} agency ${entry.code} has neither certificates nor a subjectRule: nothing could ever sign for it`)
      }
      this.elsewhere.set(entry.code, { ...entry, certificates: entry.certificates.map(normaliseFingerprint) })
    })
  }

  all (): AgencyEntry[] {
    return [...this.byCode.values()]
  }

  /**
   * Sender binding (security.md step 5): may this certificate sign for this agency? A registered
   * fingerprint binds exactly; a subject rule binds when every attribute in the rule is present
   * with exactly that value. Only ever called with a certificate whose path already validated.
   */
  binds (agency: SigningAgency, signer: SignerIdentity): boolean {
    if (agency.certificates.includes(signer.fingerprintSha256)) return true
    const rule = agency.subjectRule
    if (rule == null) return false
    return Object.entries(rule).every(([name, expected]) => {
      const values = signer.subject.get(subjectAttributeOid(name) as string) ?? []
      return values.includes(expected)
    })
  }
}

export function normaliseFingerprint (fp: string): string {
  return fp.replaceAll(':', '').toLowerCase()
}
