import { createHash, X509Certificate } from 'node:crypto'
import * as pkijs from 'pkijs'
import { subjectAttributeMap } from '../pki/leaf-policy.js'
import { subjectAttributeOid } from '../pki/subject-attributes.js'
import { readEnvKey } from '../config/env-schema.js'

/**
 * What binds a push endpoint to its agency (docs/agency-registry.md, "Push endpoints"): the TLS
 * server certificate the endpoint must present. The CA and host name checks alone only say "some
 * server the CA vouches for"; any other certificate of the same CA (the hub's own, another
 * agency's) passes them. The pin says "this agency's server".
 */
export interface PushPin {
  /** SHA-256 of the DER of the accepted server certificates, lower-case hex without colons. */
  fingerprints: string[]
  /** Subject attribute name (registry names: CN, O, UID, ... or a dotted OID) -> required value. */
  subject?: Record<string, string>
}

/**
 * Development-only relaxations of the push rules, from the environment. Both are off unless set
 * to `true`/`1`; any other value than true/1/false/0/empty is refused (a typo must not silently
 * leave production in the secure or the insecure state the operator did not mean).
 */
export interface PushSettings {
  /** LIENTHONG_DEV_ALLOW_HTTP_PUSH: accept and use http:// push URLs (clear text). */
  allowPlainHttp: boolean
  /** LIENTHONG_DEV_ALLOW_UNPINNED_PUSH: accept and use push endpoints without a server-certificate pin. */
  allowUnpinned: boolean
}

export const SECURE_PUSH: PushSettings = { allowPlainHttp: false, allowUnpinned: false }

export class PushSettingError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'PushSettingError'
  }
}

/** The two keys as the configuration schema reads them (src/config/env-schema.ts); a wrong value throws. */
export function pushSettingsFromEnv (env?: NodeJS.ProcessEnv): PushSettings {
  const http = readEnvKey('LIENTHONG_DEV_ALLOW_HTTP_PUSH', env)
  const unpinned = readEnvKey('LIENTHONG_DEV_ALLOW_UNPINNED_PUSH', env)
  const problem = [...http.problems, ...unpinned.problems][0]
  if (problem != null) throw new PushSettingError(problem)
  return { allowPlainHttp: http.value, allowUnpinned: unpinned.value }
}

/** The pin of a registry push entry (fingerprints normalised), or undefined when it has none. */
export function pinOf (delivery: { serverCertificates?: string[] | undefined, serverSubject?: Record<string, string> | undefined }): PushPin | undefined {
  const fingerprints = (delivery.serverCertificates ?? []).map((f) => f.replaceAll(':', '').toLowerCase())
  if (fingerprints.length === 0 && delivery.serverSubject == null) return undefined
  return { fingerprints, ...(delivery.serverSubject != null ? { subject: delivery.serverSubject } : {}) }
}

/**
 * Why the hub must not push to `url` with `pin` under `settings`, or undefined when it may. Used
 * by the registry at load and again by the push client before every connection (the agencies
 * table may hold an endpoint written by an older version).
 */
export function pushRefusal (url: string, pin: PushPin | undefined, settings: PushSettings): string | undefined {
  let protocol: string
  try {
    protocol = new URL(url).protocol
  } catch {
    return `the push URL ${JSON.stringify(url)} is not a URL`
  }
  if (protocol === 'http:') {
    if (!settings.allowPlainHttp) return `the push URL ${url} is plain http (documents would travel in clear text); only https is allowed (development only: LIENTHONG_DEV_ALLOW_HTTP_PUSH=true)`
    return undefined // No TLS, so nothing to pin.
  }
  if (protocol !== 'https:') return `the push URL ${url} is neither https nor http`
  if (pin == null && !settings.allowUnpinned) {
    return `the push endpoint ${url} has no server-certificate pin (delivery.serverCertificates or delivery.serverSubject): ` +
      'without one any server certificate of a trusted CA would receive the documents (development only: LIENTHONG_DEV_ALLOW_UNPINNED_PUSH=true)'
  }
  return undefined
}

/** The warning printed when a development setting lets an endpoint through. */
export function insecurePushWarning (code: string, url: string, pin: PushPin | undefined): string | undefined {
  if (url.startsWith('http:')) return `WARNING: agency ${code} is pushed to over PLAIN HTTP (${url}) because LIENTHONG_DEV_ALLOW_HTTP_PUSH is set: documents travel in clear text and the recipient is not authenticated. Development only.`
  if (pin == null) return `WARNING: agency ${code}'s push endpoint ${url} has NO server-certificate pin and is used because LIENTHONG_DEV_ALLOW_UNPINNED_PUSH is set: any server certificate of a trusted CA receives its documents. Development only.`
  return undefined
}

/** A subject rule key the registry knows (same names as subjectRule). */
export function knownSubjectAttribute (name: string): boolean {
  return subjectAttributeOid(name) != null
}

/**
 * Does the server certificate (DER) satisfy the pin? Every part of the pin that is present must
 * hold: one of the fingerprints, and every subject attribute. Returns a sentence for the delivery's
 * last error when it does not.
 */
export function checkServerPin (pin: PushPin, der: Buffer): { ok: true } | { ok: false, detail: string } {
  const fingerprint = createHash('sha256').update(der).digest('hex')
  let subjectText = '(unreadable subject)'
  try {
    subjectText = new X509Certificate(der).subject.split('\n').join(', ')
  } catch {
    // Only for the message: the fingerprint check below does not need the subject parsed.
  }
  const presented = `presented sha256 ${fingerprint} (${subjectText})`
  if (pin.fingerprints.length > 0 && !pin.fingerprints.includes(fingerprint)) {
    return { ok: false, detail: `${presented}; registered: ${pin.fingerprints.join(', ')}` }
  }
  if (pin.subject != null) {
    let attributes: Map<string, string[]>
    try {
      attributes = subjectAttributeMap(pkijs.Certificate.fromBER(Uint8Array.from(der)))
    } catch (err) {
      return { ok: false, detail: `${presented}; its subject cannot be read: ${(err as Error).message}` }
    }
    for (const [name, expected] of Object.entries(pin.subject)) {
      const values = attributes.get(subjectAttributeOid(name) ?? name) ?? []
      if (!values.includes(expected)) return { ok: false, detail: `${presented}; registered subject needs ${name}=${expected}` }
    }
  }
  return { ok: true }
}
