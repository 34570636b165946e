import { readFile } from 'node:fs/promises'
import { Value } from '@sinclair/typebox/value'
import { RegistryFile, type AgencyEntry } from './registry-format.js'
import { subjectAttributeOid } from '../pki/subject-attributes.js'

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

export class AgencyRegistry {
  private readonly byCode: Map<string, AgencyEntry>

  constructor (entries: readonly AgencyEntry[], source = 'registry') {
    this.byCode = new Map()
    entries.forEach((entry, i) => {
      const at = `${source}: /agencies/${i}`
      if (this.byCode.has(entry.code)) throw new RegistryError(`${at}/code agency ${entry.code} is listed twice`)
      for (const key of Object.keys(entry.subjectRule ?? {})) {
        if (subjectAttributeOid(key) == null) throw new RegistryError(`${at}/subjectRule/${key} unknown subject attribute "${key}" (agency ${entry.code})`)
      }
      if (entry.certificates.length === 0 && entry.subjectRule == null) {
        throw new RegistryError(`${at} agency ${entry.code} has neither certificates nor a subjectRule: nothing could ever sign for it`)
      }
      this.byCode.set(entry.code, { ...entry, certificates: entry.certificates.map(normaliseFingerprint) })
    })
  }

  static async load (file: string): Promise<AgencyRegistry> {
    let raw: unknown
    try {
      raw = JSON.parse(await readFile(file, 'utf8'))
    } catch (err) {
      throw new RegistryError(`cannot read agency registry ${file}: ${(err as Error).message}`)
    }
    return AgencyRegistry.fromJson(raw, file)
  }

  static fromJson (raw: unknown, source = 'registry'): AgencyRegistry {
    const withDefaults = Value.Default(RegistryFile, structuredClone(raw))
    const firstError = Value.Errors(RegistryFile, withDefaults).First()
    if (firstError != null) {
      throw new RegistryError(`${source}: ${firstError.path || '/'} ${firstError.message}`)
    }
    return new AgencyRegistry((withDefaults as RegistryFile).agencies, source)
  }

  get (code: string): AgencyEntry | undefined {
    return this.byCode.get(code)
  }

  all (): AgencyEntry[] {
    return [...this.byCode.values()]
  }

  /**
   * Sender binding (security.md step 5): may this certificate sign for this agency? A registered
   * fingerprint binds exactly; a subject rule binds when every attribute in the rule is present
   * with exactly that value. Only ever called with a certificate whose path already validated.
   */
  binds (agency: AgencyEntry, signer: SignerIdentity): boolean {
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
