// The demo agency registry (registry.json), in the project's documented format.
import type { DemoAgency, DemoDelivery } from './agencies.js'

export type RegistryDelivery = { mode: 'pull' } | { mode: 'push', url: string, serverCertificates: string[] }

export interface RegistryAgencyEntry {
  code: string
  name: string
  certificates: string[]
  subjectRule?: Record<string, string>
  allowWeakAlgorithms: boolean
  delivery: RegistryDelivery
}

export interface RegistryFile {
  version: 1
  agencies: RegistryAgencyEntry[]
}

/**
 * @param fingerprints registered certificate fingerprints per agency code (lowercase hex SHA-256)
 * @param pushServerFingerprint the server certificate every demo push endpoint is pinned to: hub 1's
 *   TLS certificate (hub/tls-cert.pem, SAN localhost and 127.0.0.1), which every demo recipient
 *   serves. A real registry pins each recipient's own certificate.
 */
export function buildRegistry (agencies: readonly DemoAgency[], fingerprints: ReadonlyMap<string, string[]>, pushServerFingerprint: string): RegistryFile {
  return {
    version: 1,
    // Key order as in the documented format.
    agencies: agencies.map((a) => ({
      code: a.code,
      name: a.name,
      certificates: [...(fingerprints.get(a.code) ?? [])],
      ...(a.bindBySubjectRule ? { subjectRule: { UID: a.code } } : {}),
      allowWeakAlgorithms: a.allowWeakAlgorithms,
      delivery: pinned(a.delivery, pushServerFingerprint)
    }))
  }
}

function pinned (delivery: DemoDelivery, fingerprint: string): RegistryDelivery {
  return delivery.mode === 'push' ? { mode: 'push', url: delivery.url, serverCertificates: [fingerprint] } : { mode: 'pull' }
}
